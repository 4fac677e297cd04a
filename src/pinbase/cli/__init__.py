"""The ``pinbase`` command: serve, provision, the demo used by ``make run``, backup and restore."""

import os

from pinbase.cli.main import app
from pinbase.cli.startup import failures_reported

PRIVATE_UMASK = 0o077
"""Files and folders the process creates are its owner's only: the data folder holds device
tokens, and a backup or export written elsewhere holds the same (THREAT_MODEL.md)."""


def main() -> None:
    """Entry point of the ``pinbase`` console script; a known start-up failure of any command
    (settings, data folder, database) is one line on stderr, not a traceback."""
    os.umask(PRIVATE_UMASK)
    with failures_reported(unexpected=False):
        app()


__all__ = ["main"]
