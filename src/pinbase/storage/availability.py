"""Whether storage can be used at all, checked once at start-up so a failure names its cause.

Without these checks a read-only data folder surfaces as SQLite's "unable to open database
file" deep in a migration, and a stopped PostgreSQL as a connection error of the first query.
"""

import os
import tempfile
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError
from sqlalchemy.ext.asyncio import AsyncEngine

from pinbase.storage.data_folder import make_private_folder


class DataFolderUnusable(OSError):
    """The data folder cannot be created or written to."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot write to the data folder {path} ({reason})")
        self.path = path
        self.reason = reason


class DatabaseUnavailable(Exception):
    """The database cannot be opened; ``url`` is shown without its password."""

    def __init__(self, url: str, reason: str, *, embedded: bool) -> None:
        verb = "open" if embedded else "connect to"
        super().__init__(f"cannot {verb} the database {url} ({reason})")
        self.url = url
        self.reason = reason
        self.embedded = embedded
        """SQLite in the data folder: no server to start, the file or folder is at fault."""


def prepare_data_folder(path: Path) -> None:
    """Create the data folder if needed and prove that a file can be written in it.

    Raises:
        DataFolderUnusable: it cannot be created, or it is read-only (a file system mounted
            read-only, or a folder the user may not write).
    """
    try:
        make_private_folder(path)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        reason = os.strerror(error.errno).lower() if error.errno else str(error)
        raise DataFolderUnusable(path, reason) from error


async def ensure_reachable(engine: AsyncEngine) -> None:
    """Open one connection to ``engine``'s database.

    Raises:
        DatabaseUnavailable: the server is down or unreachable, refuses the credentials, or has
            no such database; or the SQLite file is not a database.
    """
    try:
        async with engine.connect():
            pass
    except (OSError, DBAPIError, InterfaceError) as error:
        embedded = engine.dialect.name == "sqlite"
        raise DatabaseUnavailable(_shown(engine), _reason(error), embedded=embedded) from error


def _shown(engine: AsyncEngine) -> str:
    return make_url(engine.url).render_as_string(hide_password=True)


def _reason(error: BaseException) -> str:
    """The first line of the driver's own message, without SQLAlchemy's wrapping."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    text = (cause.strerror if isinstance(cause, OSError) else None) or str(cause)
    return text.strip().splitlines()[0] if text.strip() else type(cause).__name__
