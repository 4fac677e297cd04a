"""Cross-layer fixtures: one provisioned ``pinbase serve`` per test session, fresh devices per test.

Tests talk to the server over a real loopback socket. Each test takes its own devices from a
pool provisioned at start, so tests never see each other's values.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pinbase.testing import ServerProcess, provision
from postgres import session_url
from redis_server import session_redis_url
from testspec import UNTHROTTLED, Pool, load_spec

POOL_SIZE = 400


@pytest.fixture(scope="session")
def postgres_url(pytestconfig: pytest.Config) -> str:
    """The session's throwaway PostgreSQL server (tests/postgres.py), started on first use."""
    return session_url(pytestconfig)


@pytest.fixture(scope="session")
def redis_url(pytestconfig: pytest.Config) -> str:
    """The session's throwaway Redis server (tests/redis_server.py), started on first use."""
    return session_redis_url(pytestconfig)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session server's data folder."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def pool(data_dir: Path) -> Pool:
    """The session's provisioned organization, template and device pool."""
    return Pool(provision(load_spec(POOL_SIZE), data_dir=data_dir))


@pytest.fixture(scope="session")
def server(data_dir: Path, pool: Pool) -> Iterator[ServerProcess]:
    """A running ``pinbase serve`` on the pool's data folder, not throttling its devices."""
    with ServerProcess(data_dir, env=UNTHROTTLED) as process:
        yield process


@pytest.fixture
def device(pool: Pool) -> dict[str, Any]:
    """A fresh device of the "ESP32 QA" template."""
    return pool.take()


@pytest.fixture
def token(device: dict[str, Any]) -> str:
    """The fresh device's token."""
    return str(device["token"])


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    """An HTTP client bound to the session server."""
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client
