"""The ``pinbase`` command: serve, provision and the demo used by ``make run``."""

from pinbase.cli.main import app
from pinbase.cli.startup import failures_reported


def main() -> None:
    """Entry point of the ``pinbase`` console script; a known start-up failure of any command
    (settings, data folder, database) is one line on stderr, not a traceback."""
    with failures_reported(unexpected=False):
        app()


__all__ = ["main"]
