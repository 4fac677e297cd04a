"""What only the Redis broker does: refuse to start without Redis, survive a Redis restart
(reconnect, resynchronise, carry on), skip what it cannot read, batch one tick into one
envelope."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from pinbase.services import wire
from pinbase.services.bus import Bus
from pinbase.testing import free_port
from pinbase.transports.redis_broker import BrokerUnavailable, RedisBroker, masked
from polling import eventually as poll
from redis_server import RedisServer, require_binary

pytestmark = pytest.mark.subprocess

WAIT_S = 20.0
"""How long a test waits for something to happen: generous, never a timing assert."""


@wire.message
@dataclass(frozen=True, slots=True)
class RedisPing:
    n: int


async def eventually(check: Callable[[], bool]) -> None:
    """Wait until ``check()`` holds (fails after ``WAIT_S``)."""
    await poll(check, within_s=WAIT_S)


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis server of this test alone, which it may restart."""
    server = RedisServer(require_binary()).start()
    yield server
    server.remove()


@pytest.fixture
def channel() -> str:
    """A channel of this test alone on the session's Redis."""
    return f"pinbase:test:{uuid.uuid4().hex}"


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A plain Redis client, to publish what no node would."""
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_start_refuses_an_unreachable_redis() -> None:
    """Without a Redis at the URL, ``start`` fails with one clear reason naming the URL."""
    broker = RedisBroker(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(
        BrokerUnavailable, match=r"cannot connect to the broker redis://127\.0\.0\.1"
    ):
        await broker.start(lambda message: None)


def test_passwords_are_masked_in_messages() -> None:
    """A password in the broker URL never reaches a log line or an error."""
    assert masked("redis://user:secret@db:6379/0") == "redis://user:***@db:6379/0"
    assert masked("redis://db:6379/0") == "redis://db:6379/0"


async def test_a_restart_of_redis_is_survived_with_a_resync(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis restarted: each node logs the outage once, reconnects, runs ``on_reconnect``
    before handing on anything new, and messages flow again."""
    channel = f"pinbase:test:{uuid.uuid4().hex}"
    resyncs: list[str] = []

    async def resync_a() -> None:
        resyncs.append("a")

    broker_a = RedisBroker(own_redis.url, channel=channel, on_reconnect=resync_a)
    a, b = Bus(broker_a), Bus(RedisBroker(own_redis.url, channel=channel))
    got: list[object] = []
    a.subscribe(RedisPing, got.append, remote=True)
    await a.start()
    await b.start()
    try:
        assert resyncs == ["a"]  # once at start, after subscribing
        b.publish(RedisPing(1))
        await eventually(lambda: got == [RedisPing(1)])
        with caplog.at_level(logging.WARNING, logger="pinbase.transports.redis_broker"):
            await asyncio.to_thread(own_redis.restart)
            await eventually(lambda: len(resyncs) == 2)
            # b may still be reconnecting: publish until one gets through.
            async with asyncio.timeout(WAIT_S):
                while RedisPing(2) not in got:
                    b.publish(RedisPing(2))
                    await asyncio.sleep(0.1)
        unreachable = [r for r in caplog.records if "broker.unreachable" in r.getMessage()]
        assert 1 <= len(unreachable) <= 2  # once per node at most
    finally:
        await a.stop()
        await b.stop()


async def test_unreadable_envelopes_are_skipped(
    redis_url: str, channel: str, raw: aioredis.Redis
) -> None:
    """Junk and messages of unknown types on the channel are logged and skipped; the messages
    around them still arrive."""
    bus = Bus(RedisBroker(redis_url, channel=channel))
    got: list[object] = []
    bus.subscribe(RedisPing, got.append, remote=True)
    await bus.start()
    try:
        await raw.publish(channel, b"not json")
        await raw.publish(channel, b'{"n":"other","m":[{"@":"Nope"},{"@":"RedisPing","n":1}]}')
        await raw.publish(channel, b'{"n":"other","m":[{"@":"RedisPing","n":"x","z":1}]}')
        await raw.publish(channel, b'{"n":"other","m":[{"@":"RedisPing","n":2}]}')
        await eventually(lambda: len(got) == 2)
        assert got == [RedisPing(1), RedisPing(2)]
    finally:
        await bus.stop()


async def test_one_tick_leaves_as_one_envelope(
    redis_url: str, channel: str, raw: aioredis.Redis
) -> None:
    """Messages published in one loop tick are sent as one envelope naming the node."""
    listener = raw.pubsub()
    await listener.subscribe(channel)
    bus = Bus(RedisBroker(redis_url, channel=channel, node_id="node-a"))
    await bus.start()
    try:
        for n in range(5):
            bus.publish(RedisPing(n))
        envelopes: list[bytes] = []
        async with asyncio.timeout(WAIT_S):
            while not envelopes:
                reply = await listener.get_message(ignore_subscribe_messages=True, timeout=1)
                if reply is not None:
                    envelopes.append(reply["data"])
        node, messages, problems = wire.decode_batch(envelopes[0])
        assert (node, messages, problems) == ("node-a", [RedisPing(n) for n in range(5)], [])
    finally:
        await bus.stop()
        await listener.aclose()
