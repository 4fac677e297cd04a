"""The web console's HTTP adapter: pages, JSON endpoints and static files under ``/dashboard``."""
