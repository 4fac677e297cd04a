"""Whether storage can be used at all, checked once at start-up so a failure names its cause.

Without these checks a read-only data folder surfaces as SQLite's "unable to open database
file" deep in a migration, and a stopped PostgreSQL as a connection error of the first query.
"""

import os
import tempfile
from pathlib import Path

from asyncpg.exceptions import (
    AdminShutdownError,
    CannotConnectNowError,
    CrashShutdownError,
    InternalClientError,
    PostgresConnectionError,
)
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


REFUSED_BEFORE_SENDING = "cannot switch to state"
"""How asyncpg's ``InternalClientError`` begins when its protocol refused to start a statement
(nothing was sent); its other internal errors may come after the statement ran."""

OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable, timed out
    PostgresConnectionError,  # SQLSTATE class 08: the connection does not exist, failed
    AdminShutdownError,  # 57P01: the server is stopping, or the session was terminated
    CrashShutdownError,  # 57P02
    CannotConnectNowError,  # 57P03: the server is starting up or shutting down
)
"""What a driver raises when the database cannot be reached, not when it refuses a statement."""

CHAIN_DEPTH = 8
"""How many causes ``is_outage`` follows: SQLAlchemy wraps the adapter's error, which wraps the
driver's; a longer chain is no outage."""


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached now (stopped, restarting, the
    connection lost), rather than that a statement was wrong: a request that meets it is
    answered 503, to be tried again, not 500 (a bug).

    SQLAlchemy raises the driver's error wrapped (``DBAPIError.orig``, whose ``__cause__`` is
    asyncpg's own), or a connection refused as it is; a pooled connection the server closed
    (``connection_invalidated``) is an outage too, as is asyncpg refusing to use a connection
    whose server said goodbye (``REFUSED_BEFORE_SENDING``).
    """
    cause: BaseException | None = error
    for _ in range(CHAIN_DEPTH):
        if cause is None:
            return False
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, OUTAGE_ERRORS):
            return True
        if isinstance(cause, InternalClientError) and str(cause).startswith(REFUSED_BEFORE_SENDING):
            return True
        cause = cause.orig if isinstance(cause, DBAPIError) else cause.__cause__
    return False


def _shown(engine: AsyncEngine) -> str:
    return make_url(engine.url).render_as_string(hide_password=True)


def _reason(error: BaseException) -> str:
    """The first line of the driver's own message, without SQLAlchemy's wrapping."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    text = (cause.strerror if isinstance(cause, OSError) else None) or str(cause)
    return text.strip().splitlines()[0] if text.strip() else type(cause).__name__
