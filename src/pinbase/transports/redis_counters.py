"""Shared counters in Redis: what ``SharedRateLimiter`` flushes its counts to (issue #11).

One ``EVALSHA`` per flush adds every delta (``INCRBY``) and gives a counter it creates its time
to live (``PEXPIRE``; every counter it touches, for counts that expire a window after their
last change), so a limiter costs Redis one round trip per flush interval whatever the
number of keys, and no counter outlives its window for long.
"""

from collections.abc import Sequence

import redis.asyncio as aioredis

ADD_SCRIPT = """
local totals = {}
local refresh = ARGV[2] == '1'
for i, key in ipairs(KEYS) do
    local delta = tonumber(ARGV[i + 2])
    local total = redis.call('INCRBY', key, delta)
    if refresh or total == delta then
        redis.call('PEXPIRE', key, ARGV[1])
    end
    totals[i] = total
end
return totals
"""


class RedisCounters:
    """``services.rate_limit.SharedCounters`` over one Redis."""

    def __init__(self, client: "aioredis.Redis") -> None:
        self._add = client.register_script(ADD_SCRIPT)

    async def add(
        self, deltas: Sequence[tuple[str, int]], *, ttl_ms: int, refresh: bool = False
    ) -> list[int]:
        """Add each delta to its counter; the new totals, in order."""
        keys = [key for key, _ in deltas]
        args = [ttl_ms, int(refresh), *(delta for _, delta in deltas)]
        totals = await self._add(keys=keys, args=args)
        return [int(total) for total in totals]
