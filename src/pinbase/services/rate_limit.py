"""Requests per key in fixed windows: the rate limits and daily quotas of http-api.md §1.11.

One limiter serves each limit: Platform API requests per organization per minute, device API
requests per device per second, ``/external/api/update`` calls per device per UTC day.

Fixed windows on the services clock: one counter per key, all dropped when a new window
starts (windows are aligned to the Unix epoch, so a day window is a UTC day). A client can
thus send up to twice the limit across a window boundary; the limits protect the server from
runaway scripts, and exact sliding windows would cost a timestamp per request on the hot path,
where a fixed window costs one clock read and one dictionary update.
"""

from collections.abc import Hashable
from typing import Generic, TypeVar

from pinbase.services.clock import Clock

K = TypeVar("K", bound=Hashable)

SECOND_MS = 1000
MINUTE_MS = 60_000


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
        remaining_ms = (window + 1) * self._window_ms - now
        return max(1, -(-remaining_ms // 1000))
