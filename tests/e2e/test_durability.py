"""An acknowledged write survives ``kill -9`` of the server in the middle of a load.

Sixteen clients each own a device and write an increasing counter with batch/update. The server
is killed with SIGKILL while they run; after a restart every value that was answered 200 must be
in the history, and each current value must be the last acknowledged one or the one in flight.
On SQLite and on PostgreSQL, whose group commit is one statement outside ``BEGIN``
(``storage.postgres``): a value is answered only once that statement has committed.
"""

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import make_url

from pinbase.testing import ServerProcess, provision
from testspec import UNTHROTTLED, load_spec

CLIENTS = 16
GOING = 200
"""Acknowledged writes before the kill: the load has got going on every client by then."""
GOING_TIMEOUT_S = 60
"""A loaded machine (parallel test runs) took more than 1.5 s to acknowledge the first writes."""


class Acknowledged:
    """The values answered 200, per client; ``going`` is set once there are ``GOING`` in all."""

    def __init__(self, clients: int) -> None:
        self.values: list[list[int]] = [[] for _ in range(clients)]
        self.going = asyncio.Event()
        self._count = 0

    def add(self, client: int, value: int) -> None:
        """Record one acknowledged value of one client."""
        self.values[client].append(value)
        self._count += 1
        if self._count >= GOING:
            self.going.set()


async def write_counter(base_url: str, token: str, client: int, acked: Acknowledged) -> None:
    """Write 1, 2, 3… to v2 until the server goes away; record each value answered 200."""
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        value = 0
        while True:
            value += 1
            try:
                answer = await http.get(f"/external/api/batch/update?token={token}&v2={value}")
            except httpx.HTTPError:
                return
            if answer.status_code == 200:
                acked.add(client, value)


async def load_then_kill(server: ServerProcess, devices: list[dict[str, Any]]) -> list[list[int]]:
    acked = Acknowledged(len(devices))
    tasks = [
        asyncio.create_task(write_counter(server.base_url, d["token"], n, acked))
        for n, d in enumerate(devices)
    ]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(acked.going.wait(), timeout=GOING_TIMEOUT_S)
    await asyncio.to_thread(server.kill)
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)
    return acked.values


def stored_counters(data_dir: Path, database_url: str | None) -> dict[int, set[int]]:
    """The v2 values in history, by device id: from PostgreSQL, else the SQLite file."""
    query = "SELECT device_id, num FROM history WHERE datastream_id = 2"
    if database_url:
        rows = asyncio.run(_fetch_postgres(database_url, query))
    else:
        with contextlib.closing(sqlite3.connect(data_dir / "pinbase.db")) as db:
            rows = db.execute(query).fetchall()
    found: dict[int, set[int]] = {}
    for device_id, num in rows:
        found.setdefault(int(device_id), set()).add(int(num))
    return found


async def _fetch_postgres(database_url: str, query: str) -> list[tuple[int, float]]:
    dsn = make_url(database_url).set(drivername="postgresql")
    connection = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        return [(row[0], row[1]) for row in await connection.fetch(query)]
    finally:
        await connection.close()


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_no_acknowledged_value_is_lost_on_kill_9(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    """Every 200-acknowledged batch/update value is stored after SIGKILL and restart."""
    database_url: str | None = None
    extra: tuple[str, ...] = ()
    if engine == "postgres":
        database_url = request.getfixturevalue("database_url")
        extra = ("--database-url", database_url)
    created = provision(load_spec(CLIENTS), *extra, data_dir=tmp_path)
    devices = created["devices"]
    server = ServerProcess(tmp_path, *extra, env=UNTHROTTLED).start()
    acknowledged = asyncio.run(load_then_kill(server, devices))
    assert sum(len(acks) for acks in acknowledged) >= GOING, "the load did not get going"

    stored = stored_counters(tmp_path, database_url)
    for device, acks in zip(devices, acknowledged, strict=True):
        missing = set(acks) - stored.get(device["id"], set())
        assert not missing, f"device {device['id']} lost acknowledged values {missing}"

    with (
        ServerProcess(tmp_path, *extra) as restarted,
        httpx.Client(base_url=restarted.base_url) as http,
    ):
        for device, acks in zip(devices, acknowledged, strict=True):
            current = http.get(f"/external/api/get?token={device['token']}&v2").text
            last = acks[-1] if acks else 0
            assert int(current or 0) in (last, last + 1)
