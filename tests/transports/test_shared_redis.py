"""Rate limits and node heartbeats shared through a real Redis (issue #11)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from pinbase.services.login_throttle import SharedLoginThrottle
from pinbase.services.rate_limit import FINAL_FLUSH_TIMEOUT_S, MINUTE_MS, SharedRateLimiter
from pinbase.testing import free_port
from pinbase.transports.heartbeat import NODE_KEY, NODES_KEY, NodeHeartbeat
from pinbase.transports.redis_counters import RedisCounters

pytestmark = pytest.mark.subprocess  # starts redis-server

LIMIT = 5
T0 = 1_760_000_040_000
"""A minute's start, so a test's hits all fall in one window."""


class HandClock:
    """The services clock, moved by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[tuple[aioredis.Redis, aioredis.Redis]]:
    """Two nodes' clients of one Redis, emptied first."""
    a, b = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    await a.flushdb()
    yield a, b
    await a.aclose()
    await b.aclose()


def limiter(client: aioredis.Redis, clock: HandClock) -> SharedRateLimiter[int]:
    return SharedRateLimiter(
        clock, limit=LIMIT, window_ms=MINUTE_MS, name="platform", counters=RedisCounters(client)
    )


async def test_hits_on_two_nodes_count_together(
    clients: tuple[aioredis.Redis, aioredis.Redis],
) -> None:
    """Three hits on each of two nodes, once flushed, exceed a limit of five on both."""
    clock = HandClock()
    a, b = limiter(clients[0], clock), limiter(clients[1], clock)
    assert [a.hit(1) for _ in range(3)] == [0, 0, 0]
    await a.flush()
    assert [b.hit(1) for _ in range(3)] == [0, 0, 0]
    await b.flush()
    assert b.hit(1) > 0
    assert a.hit(1) == 0  # A has not learned B's hits yet: the approximation of one interval
    await a.flush()
    assert a.hit(1) > 0
    assert a.hit(2) == 0  # another key counts apart


async def test_a_hit_waits_for_no_round_trip(
    clients: tuple[aioredis.Redis, aioredis.Redis],
) -> None:
    """Hits are counted in memory (the limit holds on the node alone) and reach Redis only at
    the flush, in a counter that expires after two windows."""
    clock = HandClock()
    a = limiter(clients[0], clock)
    assert [a.hit(1) for _ in range(LIMIT + 1)][-1] > 0
    assert await clients[0].keys("pinbase:rate:*") == []
    await a.flush()
    (key,) = await clients[0].keys("pinbase:rate:*")
    assert key == f"pinbase:rate:platform:{T0 // MINUTE_MS}".encode()
    assert await clients[0].hget(key, "1") == str(LIMIT + 1).encode()
    assert 0 < await clients[0].pttl(key) <= 2 * MINUTE_MS


async def test_a_new_window_starts_the_count_over(
    clients: tuple[aioredis.Redis, aioredis.Redis],
) -> None:
    """The installation's count is per window: the next minute allows the limit again."""
    clock = HandClock()
    a, b = limiter(clients[0], clock), limiter(clients[1], clock)
    for _ in range(LIMIT):
        a.hit(1)
    await a.flush()
    b.hit(1)
    await b.flush()
    assert b.hit(1) > 0
    clock.now += MINUTE_MS
    assert b.hit(1) == 0


async def test_a_stopping_node_hands_over_its_last_hits(
    clients: tuple[aioredis.Redis, aioredis.Redis],
) -> None:
    """Hits counted since the last flush reach Redis when the flush task is cancelled (a node
    stopping), so the other node's limit sees them instead of losing one interval's worth."""
    clock = HandClock()
    a = limiter(clients[0], clock)
    flushing = asyncio.create_task(a.run())
    await asyncio.sleep(0)  # the task waits for its first interval
    for _ in range(LIMIT):
        a.hit(1)
    flushing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await flushing
    key = f"pinbase:rate:platform:{T0 // MINUTE_MS}"
    assert await clients[1].hget(key, "1") == str(LIMIT).encode()


async def test_a_stopping_node_does_not_wait_for_an_unreachable_redis() -> None:
    """With Redis away the last flush gives up within ``FINAL_FLUSH_TIMEOUT_S`` (connecting to a
    closed port fails at once; a vanished host would time out)."""
    client = aioredis.from_url(f"redis://127.0.0.1:{free_port()}")
    a = limiter(client, HandClock())
    a.hit(1)
    flushing = asyncio.create_task(a.run())
    await asyncio.sleep(0)
    flushing.cancel()
    try:
        await asyncio.wait_for(asyncio.wait([flushing]), FINAL_FLUSH_TIMEOUT_S + 1)
        assert flushing.cancelled()
    finally:
        await client.aclose()


async def test_redis_away_keeps_the_local_count() -> None:
    """With Redis unreachable the flush fails quietly and the node still limits on its own."""
    clock = HandClock()
    client = aioredis.from_url(f"redis://127.0.0.1:{free_port()}")
    a = limiter(client, clock)
    try:
        for _ in range(LIMIT):
            assert a.hit(1) == 0
        await a.flush()
        assert a.hit(1) > 0
    finally:
        await client.aclose()


async def test_a_dead_node_is_reaped_by_one_survivor_only(
    clients: tuple[aioredis.Redis, aioredis.Redis],
) -> None:
    """A node whose heartbeat key expired is reported dead once, by the first node that
    notices; the others find it gone already."""
    dead: list[tuple[str, str]] = []
    victim = NodeHeartbeat(clients[0], node_id="victim", ttl_s=10, on_dead=lambda n: None)
    b = NodeHeartbeat(clients[1], node_id="b", ttl_s=10, on_dead=lambda n: dead.append(("b", n)))
    c = NodeHeartbeat(clients[1], node_id="c", ttl_s=10, on_dead=lambda n: dead.append(("c", n)))
    for node in (victim, b, c):
        await node.beat()
    await b.beat()
    assert dead == []
    await clients[0].delete(NODE_KEY.format("victim"))  # its TTL ran out: kill -9
    await c.beat()
    await b.beat()
    assert dead == [("c", "victim")]
    assert await clients[0].smembers(NODES_KEY) == {b"b", b"c"}


async def test_a_reaped_node_that_beats_again_rejoins_as_reaped(
    clients: tuple[aioredis.Redis, aioredis.Redis],
) -> None:
    """A live node that another node reaped (its key lapsed: a long pause, or a Redis cut past
    the TTL) finds itself unlisted at its next beat and rejoins saying it was reaped; a node
    that was never reaped does not."""
    rejoined: list[bool] = []
    a = NodeHeartbeat(
        clients[0], node_id="a", ttl_s=0.3, on_dead=lambda n: None, on_rejoined=rejoined.append
    )
    b = NodeHeartbeat(clients[1], node_id="b", ttl_s=10, on_dead=lambda n: None)
    await a.start()
    await b.beat()
    await asyncio.sleep(0.25)  # a few beats of A: listed all along
    assert rejoined == []
    await clients[1].delete(NODE_KEY.format("a"))
    await b.beat()  # reaps A
    assert await clients[1].smembers(NODES_KEY) == {b"b"}
    await asyncio.sleep(0.25)
    await a.stop()
    assert rejoined == [True]


async def test_a_stopped_node_leaves_the_list(
    clients: tuple[aioredis.Redis, aioredis.Redis],
) -> None:
    """A node stopping cleanly removes its heartbeat and itself from the list of nodes."""
    node = NodeHeartbeat(clients[0], node_id="gone", ttl_s=10, on_dead=lambda n: None)
    await node.start()
    assert await clients[0].exists(NODE_KEY.format("gone"))
    await node.stop()
    assert not await clients[0].exists(NODE_KEY.format("gone"))
    assert await clients[0].smembers(NODES_KEY) == set()


def throttle(client: aioredis.Redis, clock: HandClock) -> SharedLoginThrottle:
    return SharedLoginThrottle(
        clock,
        free_failures=2,
        window_s=600,
        max_delay_s=30,
        name="device",
        counters=RedisCounters(client),
    )


async def test_failed_logins_on_two_nodes_count_together(
    clients: tuple[aioredis.Redis, aioredis.Redis],
) -> None:
    """An address failing on two nodes in turn is slowed by its failures on both: a balancer
    spreading its attempts gains it nothing once they are flushed."""
    clock = HandClock()
    a, b = throttle(clients[0], clock), throttle(clients[1], clock)
    assert a.failed("203.0.113.9") == 0
    await a.flush()
    assert b.failed("203.0.113.9") == 0
    await b.flush()
    assert b.failed("203.0.113.9") == 1.0  # the third failure: the first delay
    await b.flush()
    assert a.failed("203.0.113.9") == 0  # A learns B's failures at its next flush
    await a.flush()
    assert a.failed("203.0.113.9") == 4.0  # the fifth
    assert b.failed("198.51.100.1") == 0  # another address counts apart


async def test_shared_login_counts_end_a_window_after_the_last_failure(
    clients: tuple[aioredis.Redis, aioredis.Redis],
) -> None:
    """The shared count of a key lives a window after its last flushed failure, and is not
    used by a node past that window."""
    clock = HandClock()
    a, b = throttle(clients[0], clock), throttle(clients[1], clock)
    for _ in range(3):
        a.failed("203.0.113.9", "wrong-token")
    await a.flush()
    keys = await clients[0].keys("pinbase:login:device:*")
    assert len(keys) == 2  # the address and the token's digest; never the token itself
    assert b"pinbase:login:device:a:203.0.113.9" in keys
    assert not any(b"wrong-token" in key for key in keys)
    for key in keys:
        assert 0 < await clients[0].pttl(key) <= 600_000
    b.failed("192.0.2.1")
    await b.flush()
    clock.now += 600_000
    assert a.failed("203.0.113.9") == 0


async def test_odd_keys_cannot_break_the_packing(
    clients: tuple[aioredis.Redis, aioredis.Redis],
) -> None:
    """A key holding a space or a newline is counted under its quoted form, apart from the
    others, in both kinds of counters."""
    counters = RedisCounters(clients[0])
    odd = [("a b", 1), ("c\nd 9", 2), ("e", 3)]
    assert await counters.add("g:", odd, ttl_ms=60_000, sliding=True) == [1, 2, 3]
    assert await clients[0].get("g:a%20b") == b"1"
    assert await counters.add("h", odd, ttl_ms=60_000) == [1, 2, 3]
    assert await clients[0].hget("h", "c%0Ad%209") == b"2"
