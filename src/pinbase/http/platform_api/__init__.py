"""The Platform API, ``/api/v1/organization/...`` with an OAuth2 bearer token (http-api.md §4).

A FastAPI application: request models, the OpenAPI document and Swagger UI come from one place.
Rule: handlers parse, call services and shape Blynk's JSON; every error leaves as
``{"error":{"message":…}}`` through ``errors.py``, and an object outside the caller's scope is
answered exactly like a missing one.
"""
