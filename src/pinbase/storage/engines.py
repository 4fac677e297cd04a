"""Engines for the two supported databases: embedded SQLite (default) and PostgreSQL."""

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_FILE = "pinbase.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a second writer waits for SQLite's single write lock before failing."""


def database_url(data_dir: Path, explicit: str | None) -> str:
    """The URL to use: the explicit one, else a SQLite file inside the data folder."""
    if explicit:
        return explicit
    return f"sqlite+aiosqlite:///{(data_dir / SQLITE_FILE).resolve()}"


def sqlite_file(data_dir: Path, explicit: str | None) -> Path | None:
    """The SQLite file the configuration uses, or None for another database (PostgreSQL)."""
    url = make_url(database_url(data_dir, explicit))
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def create_engine(url: str, *, synchronous: str = "FULL") -> AsyncEngine:
    """Create an async engine; SQLite gets WAL mode and the given ``synchronous`` level.

    ``synchronous=FULL`` makes every commit durable against power loss, not only against a
    killed process; group commit keeps its cost to one fsync per group.
    """
    engine = create_async_engine(url, pool_pre_ping=False)
    if engine.dialect.name == "sqlite":
        sqlite_pragmas(engine.sync_engine, synchronous)
    return engine


def sqlite_pragmas(engine: Engine, synchronous: str, *, autocheckpoint: bool = True) -> None:
    """Set WAL mode, the ``synchronous`` level and a busy timeout on every new connection.

    ``autocheckpoint=False`` is for the group-commit connection: its commits must stay short,
    so checkpoints are left to ``SqliteStore.checkpoint``.
    """
    if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"unknown SQLite synchronous level {synchronous!r}")

    def on_connect(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        if not autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    event.listen(engine, "connect", on_connect)
