"""Every acknowledged webhook-triggering write reaches the receiver across ``kill -9``
(issue #10: the outbox is committed with the write).

Eight clients each own a device and write an increasing counter to V2, which a template webhook
posts to a real receiver on 127.0.0.1. The server is killed with SIGKILL mid-burst and
restarted; every value answered 200 must then arrive (rows in flight at the kill go out again
when their lease ends, so this waits up to a lease and a little). At-least-once: a delivery may
arrive twice only if it was in flight at the kill; duplicates are counted by
``X-Pinbase-Delivery`` and bounded by the sends in flight.
"""

import asyncio
import contextlib
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pinbase.domain.deliveries import DeliveryKind
from pinbase.services.reactions.outbox import LEASE_MS, MAX_IN_FLIGHT
from pinbase.testing import ServerProcess, provision
from testspec import UNTHROTTLED, load_spec
from webhook_receiver import Receiver, threaded_receiver

CLIENTS = 8
BURST = 200
"""Acknowledged writes before the kill; the burst goes on while the server dies."""
MAX_LOAD_SECONDS = 30
ARRIVAL_TIMEOUT_S = LEASE_MS / 1000 + 60
"""Rows in flight at the kill wait for their lease to end after the restart."""


async def write_counter(
    base_url: str, token: str, acknowledged: list[int], count: list[int], burst: asyncio.Event
) -> None:
    """Write 1, 2, 3… to v2 until the server goes away; record each value answered 200, and
    set ``burst`` once all clients together have ``BURST`` of them."""
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        value = 0
        while True:
            value += 1
            try:
                answer = await client.get(f"/external/api/update?token={token}&v2={value}")
            except httpx.HTTPError:
                return
            if answer.status_code == 200:
                acknowledged.append(value)
                count[0] += 1
                if count[0] >= BURST:
                    burst.set()


async def load_then_kill(server: ServerProcess, devices: list[dict[str, Any]]) -> list[list[int]]:
    acknowledged: list[list[int]] = [[] for _ in devices]
    count, burst = [0], asyncio.Event()
    tasks = [
        asyncio.create_task(write_counter(server.base_url, d["token"], acks, count, burst))
        for d, acks in zip(devices, acknowledged, strict=True)
    ]
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(MAX_LOAD_SECONDS):
            await burst.wait()
    await asyncio.to_thread(server.kill)
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)
    return acknowledged


def arrived(receiver: Receiver) -> set[tuple[int, int]]:
    """The (device id, value) pairs the receiver got."""
    pairs = set()
    for request in list(receiver.received):
        query = parse_qs(urlsplit(request.target).query)
        pairs.add((int(query["d"][0]), int(query["v"][0])))
    return pairs


@pytest.mark.slow
def test_every_acknowledged_write_reaches_the_webhook_after_kill_9(tmp_path: Path) -> None:
    """SIGKILL mid-burst, restart: each acknowledged write arrived; duplicates only in flight."""
    with threaded_receiver() as receiver:
        spec = load_spec(CLIENTS)
        spec["webhooks"] = [
            {
                "name": "Counter",
                "trigger": {
                    "kind": "TEMPLATE_DATASTREAM",
                    "template": "ESP32 QA",
                    "dataStreamId": 2,
                },
                "method": "GET",
                "url": f"{receiver.url}/count?d={{device_id}}&v={{device_pinValue}}",
            }
        ]
        created = provision(spec, data_dir=tmp_path)
        devices = created["devices"]
        env = {
            **UNTHROTTLED,
            "PINBASE_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32",
            "PINBASE_WEBHOOKS_RATE_PER_MINUTE": "0",
        }
        server = ServerProcess(tmp_path, env=env).start()
        acknowledged = asyncio.run(load_then_kill(server, devices))
        expected = {
            (device["id"], value)
            for device, acks in zip(devices, acknowledged, strict=True)
            for value in acks
        }
        assert len(expected) >= BURST, "the load did not get going"
        before_restart = len(receiver.received)
        with ServerProcess(tmp_path, env=env):
            deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
            while not expected <= arrived(receiver) and time.monotonic() < deadline:
                time.sleep(0.2)
            missing = expected - arrived(receiver)
            assert not missing, f"{len(missing)} acknowledged writes never arrived"
        deliveries = Counter(r.header("X-Pinbase-Delivery") for r in receiver.received)
        duplicates = sum(count - 1 for count in deliveries.values())
        assert duplicates <= MAX_IN_FLIGHT[DeliveryKind.WEBHOOK], f"{duplicates} duplicates"
        print(
            f"acknowledged={len(expected)} before restart={before_restart} "
            f"received={len(receiver.received)} duplicates={duplicates}"
        )
