"""Requests per key in fixed windows: the rate limits and daily quotas of http-api.md §1.11.

One limiter serves each limit: Platform API requests per organization per minute, device API
requests per device per second, ``/external/api/update`` calls per device per UTC day.

Fixed windows on the services clock: one counter per key, all dropped when a new window
starts (windows are aligned to the Unix epoch, so a day window is a UTC day). A client can
thus send up to twice the limit across a window boundary; the limits protect the server from
runaway scripts, and exact sliding windows would cost a timestamp per request on the hot path,
where a fixed window costs one clock read and one dictionary update.

Several nodes (issue #11) count together with ``SharedRateLimiter``: each node counts its hits
locally, as one node does, and a task flushes the counts of the last ``FLUSH_INTERVAL_S`` to
shared counters (Redis) in one round trip, learning back the installation's totals of the keys
it flushed. A hit is judged against the last total learned plus this node's hits since, so the
hot path never waits for the network; other nodes' hits of the last interval are not seen yet
(docs/decisions.md, "Shared presence, sessions and limits (issue #11)").
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, Protocol, TypeVar

from pinbase.services.clock import Clock

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)

SECOND_MS = 1000
MINUTE_MS = 60_000

FLUSH_INTERVAL_S = 0.1
"""How often a shared limiter sends its counts: a node sees the others' hits at most this late,
and one round trip per limiter per interval costs Redis a few thousand commands a second at
most, whatever the request rate."""


FINAL_FLUSH_TIMEOUT_S = 1.0
"""How long a stopping node waits to hand over its last counts: an unreachable Redis must not
hold a shutdown, and the counts of one interval are all that can be lost."""


class SharedCounters(Protocol):
    """Counters every node of an installation adds to (Redis), expiring on their own."""

    async def add(
        self, group: str, deltas: Sequence[tuple[str, int]], *, ttl_ms: int, sliding: bool = False
    ) -> list[int]:
        """Add each ``(key, delta)`` to counter ``key`` of ``group``; the new totals, in order.
        The group's counters expire ``ttl_ms`` after the group's first add or, ``sliding``,
        each one ``ttl_ms`` after its own last add."""
        ...


class RateLimiter(Generic[K]):  # PEP 695 generics need Python 3.12; the floor is 3.11
    """Counts hits per key in the current window; a limit of 0 counts nothing and allows all."""

    def __init__(self, clock: Clock, *, limit: int, window_ms: int) -> None:
        self._clock = clock
        self.limit = limit
        self._window_ms = window_ms
        self._window = -1
        self._counts: dict[K, int] = {}

    def hit(self, key: K) -> int:
        """Count one hit; 0 when allowed, else whole seconds until the window resets."""
        if not self.limit:
            return 0
        now = self._clock()
        window = now // self._window_ms
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        if count <= self.limit:
            return 0
        return self._retry_after(window, now)

    def take(self, key: K, n: int) -> bool:
        """Count ``n`` hits at once if they stay within the limit; False, counting nothing,
        when they would pass it (an allowance spent in amounts, such as imported points)."""
        if not self.limit:
            return True
        self._roll(self._clock() // self._window_ms)
        count = self._counts.get(key, 0) + n
        if count + self._known(key) > self.limit:
            return False
        self._counts[key] = count
        return True

    def forget(self, key: K) -> None:
        """Drop what this process counted for ``key`` (its owner was erased or deleted)."""
        self._counts.pop(key, None)

    def _roll(self, window: int) -> None:
        if window != self._window:
            self._window, self._counts = window, {}

    def _known(self, key: K) -> int:
        """Hits of ``key`` counted elsewhere in this window, as far as this process knows."""
        return 0

    def _retry_after(self, window: int, now: int) -> int:
        remaining_ms = (window + 1) * self._window_ms - now
        return max(1, -(-remaining_ms // 1000))


def window_group(kind: str, name: str, window: int) -> str:
    """The shared counters' group of one limit's window: windows are numbered from the epoch,
    so every node names the same window alike, and each group expires two windows later."""
    return f"pinbase:{kind}:{name}:{window}"


class SharedRateLimiter(RateLimiter[K]):
    """A ``RateLimiter`` whose counts are the installation's: ``run`` flushes them to
    ``counters`` under ``name`` (one name per limit)."""

    def __init__(
        self,
        clock: Clock,
        *,
        limit: int,
        window_ms: int,
        name: str,
        counters: SharedCounters,
    ) -> None:
        super().__init__(clock, limit=limit, window_ms=window_ms)
        self._name = name
        self._shared = counters
        self._learned: dict[K, int] = {}
        """The installation's total per key, as of the last flush of that key in this window."""
        self._outage = False

    def hit(self, key: K) -> int:
        """Count one hit against the installation's count; 0 when allowed, else whole seconds
        until the window resets."""
        if not self.limit:
            return 0
        now = self._clock()
        window = now // self._window_ms
        if window != self._window:
            self._window, self._counts, self._learned = window, {}, {}
        pending = self._counts.get(key, 0) + 1
        self._counts[key] = pending
        if pending + self._learned.get(key, 0) <= self.limit:
            return 0
        return self._retry_after(window, now)

    def forget(self, key: K) -> None:
        """Keep counting ``key``: the installation's counter holds the window's hits whatever
        this node forgets, so forgetting here would only admit more until the next flush."""

    def _roll(self, window: int) -> None:
        if window != self._window:
            self._window, self._counts, self._learned = window, {}, {}

    def _known(self, key: K) -> int:
        return self._learned.get(key, 0)

    async def flush(self) -> None:
        """Add this node's hits since the last flush to the shared counters and learn the
        installation's totals of those keys. On failure the hits wait for the next flush."""
        window, pending = self._window, self._counts
        if not pending:
            return
        self._counts = {}
        group = window_group("rate", self._name, window)
        deltas = [(str(key), n) for key, n in pending.items()]
        try:
            totals = await self._shared.add(group, deltas, ttl_ms=2 * self._window_ms)
        except Exception as error:
            if window == self._window:
                for key, n in pending.items():
                    self._counts[key] = self._counts.get(key, 0) + n
            if not self._outage:
                self._outage = True
                logger.warning("rate_limit.shared_unreachable name=%s error=%s", self._name, error)
            return
        if self._outage:
            self._outage = False
            logger.info("rate_limit.shared_reachable name=%s", self._name)
        if window == self._window:
            learned = self._learned
            for key, total in zip(pending, totals, strict=True):
                learned[key] = max(learned.get(key, 0), total)

    async def run(self) -> None:
        """Flush every ``FLUSH_INTERVAL_S`` until cancelled, and once more then."""
        await flush_every(self.flush)


async def flush_every(flush: Callable[[], Awaitable[None]]) -> None:
    """Call ``flush`` every ``FLUSH_INTERVAL_S`` until cancelled, then once more (at most
    ``FINAL_FLUSH_TIMEOUT_S``): a node that stops hands the installation the hits of its last
    interval, which the next node's limit must see, instead of dropping them."""
    try:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            await flush()
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(flush(), FINAL_FLUSH_TIMEOUT_S)


class SharedGate:
    """At most one pass per key and window for the whole installation, asked of the shared
    counters at once: a round trip per call, so for rare calls (a device's events, not its
    requests), where the flushed counts of ``SharedRateLimiter`` would come a flush too late for
    a limit of one."""

    def __init__(
        self, clock: Clock, counters: SharedCounters, *, name: str, window_ms: int
    ) -> None:
        self._clock = clock
        self._counters = counters
        self._name = name
        self._window_ms = window_ms

    async def first(self, key: str) -> bool:
        """Whether this is the installation's first pass of ``key`` in the current window.
        True when the counters cannot be reached: the node's own rule still holds."""
        window = self._clock() // self._window_ms
        group = window_group("gate", self._name, window)
        try:
            (total,) = await self._counters.add(group, [(key, 1)], ttl_ms=2 * self._window_ms)
        except Exception as error:
            logger.warning("rate_limit.gate_unreachable name=%s error=%s", self._name, error)
            return True
        return total == 1
