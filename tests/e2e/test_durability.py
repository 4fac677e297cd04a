"""An acknowledged write survives ``kill -9`` of the server in the middle of a load.

Sixteen clients each own a device and write an increasing counter with batch/update. The server
is killed with SIGKILL while they run; after a restart every value that was answered 200 must be
in the history, and each current value must be the last acknowledged one or the one in flight.
"""

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from pinbase.testing import ServerProcess, provision
from testspec import UNTHROTTLED, load_spec

CLIENTS = 16
LOAD_SECONDS = 1.5


async def write_counter(base_url: str, token: str, acknowledged: list[int]) -> None:
    """Write 1, 2, 3… to v2 until the server goes away; record each value answered 200."""
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        value = 0
        while True:
            value += 1
            try:
                answer = await client.get(f"/external/api/batch/update?token={token}&v2={value}")
            except httpx.HTTPError:
                return
            if answer.status_code == 200:
                acknowledged.append(value)


async def load_then_kill(server: ServerProcess, devices: list[dict[str, Any]]) -> list[list[int]]:
    acknowledged: list[list[int]] = [[] for _ in devices]
    tasks = [
        asyncio.create_task(write_counter(server.base_url, d["token"], acks))
        for d, acks in zip(devices, acknowledged, strict=True)
    ]
    await asyncio.sleep(LOAD_SECONDS)
    await asyncio.to_thread(server.kill)
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)
    return acknowledged


@pytest.mark.slow
def test_no_acknowledged_value_is_lost_on_kill_9(tmp_path: Path) -> None:
    """Every 200-acknowledged batch/update value is stored after SIGKILL and restart."""
    created = provision(load_spec(CLIENTS), data_dir=tmp_path)
    devices = created["devices"]
    server = ServerProcess(tmp_path, env=UNTHROTTLED).start()
    acknowledged = asyncio.run(load_then_kill(server, devices))
    assert sum(len(acks) for acks in acknowledged) > 100, "the load did not get going"

    with sqlite3.connect(tmp_path / "pinbase.db") as db:
        for device, acks in zip(devices, acknowledged, strict=True):
            stored = {
                int(num)
                for (num,) in db.execute(
                    "SELECT num FROM history WHERE device_id = ? AND datastream_id = 2",
                    (device["id"],),
                )
            }
            missing = set(acks) - stored
            assert not missing, f"device {device['id']} lost acknowledged values {missing}"

    with ServerProcess(tmp_path) as restarted, httpx.Client(base_url=restarted.base_url) as http:
        for device, acks in zip(devices, acknowledged, strict=True):
            current = http.get(f"/external/api/get?token={device['token']}&v2").text
            last = acks[-1] if acks else 0
            assert int(current or 0) in (last, last + 1)
