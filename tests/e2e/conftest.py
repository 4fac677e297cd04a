"""End-to-end fixtures: the Platform API's two organizations and an empty PostgreSQL database.

Every Platform API module checks that organization B's token never reaches organization A's
(the pool's) devices, so both bearer headers live here once. They stay module-scoped, as they
were when each module issued its own; a module that needs other headers defines its own fixture.
"""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from platform_http import org_headers, second_org

from pinbase.testing import ServerProcess
from postgres import create_database, drop_database
from testspec import Pool


@pytest.fixture(scope="module")
def headers(server: ServerProcess, pool: Pool) -> dict[str, str]:
    """Organization A's bearer header."""
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        return org_headers(http, pool.created)


@pytest.fixture(scope="module")
def other(server: ServerProcess, data_dir: Path) -> dict[str, Any]:
    """Organization B (created by another process) with its bearer header."""
    created = second_org(data_dir)
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        return {**created, "headers": org_headers(http, created)}


@pytest.fixture
def database_url(postgres_url: str) -> Iterator[str]:
    """An empty database of its own on the session's PostgreSQL server, dropped afterwards."""
    url = asyncio.run(create_database(postgres_url))
    yield url
    asyncio.run(drop_database(url))
