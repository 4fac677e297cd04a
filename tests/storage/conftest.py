"""Storage fixtures: a fresh database per test on each backend, opened as ``open_store`` does."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pinbase.runtime import open_store
from pinbase.settings import Settings
from pinbase.storage.sql import SqlStore
from postgres import BACKENDS, empty_database


@pytest.fixture(params=BACKENDS)
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings naming an empty database: a SQLite file in ``tmp_path``, or a new PostgreSQL one."""
    async with empty_database(request, tmp_path) as settings:
        yield settings


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[SqlStore]:
    """A migrated store on the fresh database, closed after the test."""
    opened = await open_store(settings)
    try:
        yield opened
    finally:
        await opened.close()
