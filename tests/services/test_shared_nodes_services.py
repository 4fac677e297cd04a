"""Two nodes' whole services in one process, on one PostgreSQL database and one real Redis
(issue #11): presence, the one session of a device and the daily quota are the installation's."""

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from fake_link import FakeLink
from hand_clock import HandClock
from nodes import two_nodes

from pinbase.domain.ids import DeviceId
from pinbase.services.container import Services
from pinbase.services.demo import DEMO_SPEC
from pinbase.services.device_sessions import DeviceSessions
from pinbase.services.provisioning import parse_spec, provision
from pinbase.services.rate_limit import SharedRateLimiter

pytestmark = [pytest.mark.postgres, pytest.mark.subprocess]

DEVICE = DeviceId(41)
"""Presence and limits key on ids alone: no device needs to exist for them."""
QUOTA = 5


@pytest.fixture(name="two_nodes")
async def two_nodes_fixture(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> AsyncIterator[tuple[Services, Services]]:
    """Nodes A and B of one installation, on a fresh database, on one hand clock."""
    async with two_nodes(
        tmp_path, postgres_url, clock=HandClock(), broker_url=redis_url, updates_per_day=QUOTA
    ) as nodes:
        yield nodes


async def arrives(check: Callable[[], bool]) -> bool:
    """Whether ``check`` holds within 5 s, polled while Redis carries the messages."""
    for _ in range(500):
        if check():
            return True
        await asyncio.sleep(0.01)
    return check()


async def test_presence_and_the_one_session_across_nodes(
    two_nodes: tuple[Services, Services],
) -> None:
    """A device attached on A is online on B; attached again on B, A's link is replaced and
    the device stays online on both; B's link ending makes it offline on both."""
    a, b = two_nodes
    sessions_a = DeviceSessions(a.bus, a.presence)
    sessions_b = DeviceSessions(b.bus, b.presence)
    first, second = FakeLink(), FakeLink()
    sessions_a.attach(DEVICE, first)
    assert await arrives(lambda: b.presence.is_online(DEVICE))
    assert b.presence.node_of(DEVICE) == a.bus.broker.node_id
    assert isinstance(a.clock, HandClock)
    a.clock.now += 1  # a later login (in the same millisecond, the node ids would decide)
    sessions_b.attach(DEVICE, second)
    assert await arrives(lambda: first.replaced == 1)
    sessions_a.detach(DEVICE, first)
    assert a.presence.is_online(DEVICE)
    assert a.presence.node_of(DEVICE) == b.bus.broker.node_id
    sessions_b.detach(DEVICE, second)
    assert await arrives(lambda: not a.presence.is_online(DEVICE))
    assert not b.presence.is_online(DEVICE)
    assert a.presence.changed_at(DEVICE) == b.presence.changed_at(DEVICE)
    sessions_a.close()
    sessions_b.close()


async def test_the_daily_quota_counts_on_both_nodes(two_nodes: tuple[Services, Services]) -> None:
    """Three updates through A and three through B exceed a quota of five, once flushed."""
    a, b = two_nodes
    assert isinstance(a.update_quota, SharedRateLimiter)
    assert isinstance(b.update_quota, SharedRateLimiter)
    assert [a.update_quota.hit(DEVICE) for _ in range(3)] == [0, 0, 0]
    await a.update_quota.flush()
    assert [b.update_quota.hit(DEVICE) for _ in range(2)] == [0, 0]
    await b.update_quota.flush()
    assert b.update_quota.hit(DEVICE) > 0


async def test_uploads_of_one_device_on_two_nodes_keep_the_daily_quota(
    tmp_path: Path, postgres_url: str
) -> None:
    """With one upload a day left, the same device uploading through A and B at once stores
    one file: the other is refused with the quota's error and leaves no file behind."""
    async with two_nodes(tmp_path, postgres_url, uploads_per_day=1) as (a, b):
        created: dict[str, Any] = await provision(
            a.store, parse_spec(DEMO_SPEC), clock=a.clock, bus=a.bus
        )
        bound = await a.directory.by_token(created["devices"][0]["token"])
        assert bound is not None
        device_id = bound.device.id
        outcomes = await asyncio.gather(
            a.uploads.save(device_id, "a.txt", io.BytesIO(b"from A"), size=6),
            b.uploads.save(device_id, "b.txt", io.BytesIO(b"from B"), size=6),
            return_exceptions=True,
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["UploadLimitReached", "str"]
        [stored] = [o for o in outcomes if isinstance(o, str)]
        kept = await asyncio.to_thread(lambda: list(tmp_path.glob(f"*/uploads/{device_id}/*")))
        assert [path.name for path in kept] == [stored]
