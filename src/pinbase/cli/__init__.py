"""The ``pinbase`` command: serve, provision and the demo used by ``make run``."""

from pinbase.cli.main import app


def main() -> None:
    """Entry point of the ``pinbase`` console script."""
    app()


__all__ = ["main"]
