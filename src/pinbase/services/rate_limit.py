"""Requests per organization per minute for the Platform API (http-api.md §1.11).

Fixed one-minute windows on the services clock: one counter per organization, all reset when a
new minute starts. A client can thus send up to twice the limit across a window boundary; the
limit protects the server from runaway scripts, and exact sliding windows would cost a
timestamp per request.
"""

from pinbase.domain.ids import OrgId
from pinbase.services.clock import Clock

WINDOW_MS = 60_000


class RateLimiter:
    """Counts requests per organization in the current minute."""

    def __init__(self, clock: Clock, *, per_minute: int) -> None:
        self._clock = clock
        self.per_minute = per_minute
        self._window = -1
        self._counts: dict[OrgId, int] = {}

    def hit(self, org_id: OrgId) -> int:
        """Count one request; 0 when allowed, else whole seconds until the window resets."""
        now = self._clock()
        window = now // WINDOW_MS
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts.get(org_id, 0) + 1
        self._counts[org_id] = count
        if count <= self.per_minute:
            return 0
        remaining_ms = (window + 1) * WINDOW_MS - now
        return max(1, -(-remaining_ms // 1000))
