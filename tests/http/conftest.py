"""In-process fixtures: the session's application without a socket (tests/inprocess.py).

They stand in for the root conftest's subprocess ones under the same names (``data_dir``,
``pool``, ``http``), so a test moves between ``tests/e2e/`` and here unchanged; the root's
``device`` and ``token`` take their devices from this pool.
"""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from inprocess import InProcessServer, in_process_server
from testspec import Pool, load_spec

POOL_SIZE = 400
"""Devices provisioned at start: one per test that takes a fresh device."""


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """The session's in-process application on a data folder of its own."""
    with in_process_server(tmp_path_factory.mktemp("inprocess")) as server:
        yield server


@pytest.fixture(scope="session")
def data_dir(app_server: InProcessServer) -> Path:
    """The in-process application's data folder."""
    return app_server.data_dir


@pytest.fixture(scope="session")
def pool(app_server: InProcessServer) -> Pool:
    """The session's provisioned organization, template and device pool, in process."""
    return Pool(app_server.provision(load_spec(POOL_SIZE)))


@pytest.fixture
def http(app_server: InProcessServer) -> Iterator[httpx.Client]:
    """An HTTP client bound to the in-process application."""
    with app_server.client() as client:
        yield client


@pytest.fixture(scope="session")
def server() -> None:
    """Refused: the root conftest's ``pinbase serve`` knows none of this folder's devices."""
    pytest.fail(
        "tests/http/ runs in process: use `app_server` (tests/inprocess.py), or move a test "
        "that needs a real `pinbase serve` to tests/e2e/",
        pytrace=False,
    )
