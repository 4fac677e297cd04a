"""PostgreSQL restarted under a running node (issue #11 point 4): writes answer 503 while it is
down, nothing is acknowledged that is not stored, and the node recovers by itself once the
database is back. The node's database is a PostgreSQL server of this test's own, so stopping it
leaves the session's server to the other tests."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import create_async_engine

from pinbase.testing import ServerProcess, provision
from postgres import PostgresServer, find_binaries
from testspec import UNTHROTTLED, load_spec

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SETTLE_S = 30.0
"""How long the node may take to see the database gone, and back: a pooled connection is found
dead on its next use, a new one is refused at once."""


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this test alone."""
    binaries = find_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed")
    server = PostgresServer(binaries).start()
    try:
        yield server
    finally:
        server.stop()


def stored(url: str, device_id: int) -> list[float]:
    """The device's stored v2 points, read from PostgreSQL."""

    async def read() -> list[float]:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text(
                        "SELECT num FROM history WHERE device_id = :id AND datastream_id = 2"
                        " ORDER BY id"
                    ),
                    {"id": device_id},
                )
                return [row.num for row in rows]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def write(http: httpx.Client, token: str, n: int) -> int:
    """One batch update of v2; its status, or 0 when the node did not answer."""
    try:
        return http.get(f"/external/api/batch/update?token={token}&v2={n}").status_code
    except httpx.HTTPError:
        return 0


def first_status(
    http: httpx.Client, token: str, wanted: int, *, start: int
) -> tuple[int, dict[int, int]]:
    """Write n = start, start + 1, … until one answers ``wanted`` (at most ``SETTLE_S``); the
    n that did, and every n's status."""
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + SETTLE_S
    n = start
    while time.monotonic() < deadline:
        statuses[n] = write(http, token, n)
        if statuses[n] == wanted:
            return n, statuses
        n += 1
        time.sleep(0.05)
    raise AssertionError(f"no {wanted} in {SETTLE_S} s: {statuses}")


def test_postgres_restart_answers_503_then_recovers(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    """Writes answer 200, then 503 once PostgreSQL is stopped, then 200 again once it is back,
    without restarting the node; every write answered 200 is stored, none answered 503 is."""
    url = own_postgres.url
    device = provision(load_spec(1), "--database-url", url, data_dir=tmp_path)["devices"][0]
    token = device["token"]
    with (
        ServerProcess(tmp_path, "--database-url", url, env=UNTHROTTLED) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as http,
    ):
        assert write(http, token, 1) == 200
        own_postgres.halt()
        down, while_down = first_status(http, token, 503, start=2)
        assert write(http, token, down + 1) == 503
        own_postgres.resume()
        up, while_coming_back = first_status(http, token, 200, start=down + 2)
        assert write(http, token, up + 1) == 200
        answered = {1: 200, **while_down, down + 1: 503, **while_coming_back, up + 1: 200}
    assert set(answered.values()) <= {200, 503}, answered
    acknowledged = [float(n) for n, status in sorted(answered.items()) if status == 200]
    assert stored(url, device["id"]) == acknowledged
