"""The ``pinbase`` command: serve, provision, the demo used by ``make run``, backup and restore."""

from pinbase.cli.main import app


def main() -> None:
    """Entry point of the ``pinbase`` console script."""
    app()


__all__ = ["main"]
