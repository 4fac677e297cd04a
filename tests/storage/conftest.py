"""Storage fixtures: a fresh database per test on each backend, opened as ``open_store`` does."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pinbase.runtime import open_store
from pinbase.settings import Settings
from pinbase.storage.sql import SqlStore
from postgres import create_database, drop_database

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings naming an empty database: a SQLite file in ``tmp_path``, or a new PostgreSQL one."""
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path, database_url=None)  # not even from PINBASE_*
        return
    database_url = await create_database(request.getfixturevalue("postgres_url"))
    try:
        yield Settings(data_dir=tmp_path, database_url=database_url)
    finally:
        await drop_database(database_url)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[SqlStore]:
    """A migrated store on the fresh database, closed after the test."""
    opened = await open_store(settings)
    try:
        yield opened
    finally:
        await opened.close()
