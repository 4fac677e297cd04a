"""Failed device logins, counted per address and per token: how long each failure's answer waits.

Issue #8 item 5. The rule never refuses to check a login: a valid token logs in at once whatever
failed before it from the same address, so the devices behind one home NAT are not locked out
because one of them has a typo. Failures instead slow down: past ``free_failures`` failures of
one key within the window, each further failure's answer waits, 1 s for the first and twice as
long for each next, up to ``max_delay_s``. A failure counts under its address and under the
token it presented; the longer of the two delays applies, so a device retrying a wrong token is
slowed whatever address it comes from, and an address guessing many tokens is slowed whatever
token it tries.

Sans-IO: the services clock is passed in and nothing here waits; the device listeners hold the
answer (``transports.tarpit``). IPv6 addresses count per /64, the prefix one host usually
holds, so rotating addresses inside it does not start new counts.

Several nodes behind one balancer (issue #11) count together with ``SharedLoginThrottle``, or
an address would get as many attempts as there are nodes: failures count locally as on one
node, and every ``FLUSH_INTERVAL_S`` they are added to shared counters (Redis) that expire a
window after the installation's last failure of their key, the same rule as here.
"""

import hashlib
import ipaddress
import logging
from collections import OrderedDict

from pinbase.services.clock import Clock
from pinbase.services.rate_limit import SharedCounters, flush_every

logger = logging.getLogger(__name__)

MAX_TRACKED_KEYS = 16_384
"""Addresses, and separately tokens, remembered at once, least recently failed forgotten first:
both tables full take about 8 MB (tracemalloc; 27 MB at 65,536), and a forgotten key only starts its
count over. A spray from more addresses than this is not slowed per address anyway."""

FIRST_DELAY_S = 1.0
"""The delay of the first failure past the free ones; each next one doubles it."""

IPV6_PREFIX = 64
"""IPv6 addresses are counted per /64: a host (or a home) usually holds a whole /64."""

TOKEN_KEY_BYTES = 16
"""Tokens are remembered as a digest this long, so a key costs the same whatever was sent."""


def address_key(address: str) -> str:
    """The key an address counts under: itself for IPv4 (IPv4-mapped IPv6 included), its /64
    for IPv6, the text as given for anything that is not an IP address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)


def token_key(token: str) -> bytes:
    """The digest a presented token counts under; the token itself is never kept."""
    return hashlib.blake2b(token.encode(), digest_size=TOKEN_KEY_BYTES).digest()


class _Counts:
    """Failures per key within a window, least recently failed first."""

    __slots__ = ("_entries", "_window_ms")

    def __init__(self, window_ms: int) -> None:
        self._window_ms = window_ms
        self._entries: OrderedDict[str | bytes, tuple[int, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, key: str | bytes, now: int) -> int:
        """Count one failure of ``key`` at ``now``; the key's failures within the window."""
        self._expire(now)
        count, last = self._entries.pop(key, (0, now))
        if now - last >= self._window_ms:
            count = 0
        count += 1
        self._entries[key] = (count, now)
        if len(self._entries) > MAX_TRACKED_KEYS:
            self._entries.popitem(last=False)
        return count

    def _expire(self, now: int) -> None:
        """Drop keys whose last failure left the window; the oldest come first."""
        entries = self._entries
        while entries:
            key, (_, last) = next(iter(entries.items()))
            if now - last < self._window_ms:
                return
            del entries[key]


class LoginThrottle:
    """One count of failed logins for every device listener of a process."""

    __slots__ = ("_addresses", "_clock", "_free", "_max_delay_s", "_tokens", "_window_ms")

    def __init__(
        self, clock: Clock, *, free_failures: int, window_s: float, max_delay_s: float
    ) -> None:
        """``free_failures`` 0 turns the rule off: nothing is counted, no answer waits."""
        self._clock = clock
        self._free = free_failures
        self._max_delay_s = max_delay_s
        self._window_ms = window_ms = round(window_s * 1000)
        self._addresses = _Counts(window_ms)
        self._tokens = _Counts(window_ms)

    @property
    def tracked(self) -> tuple[int, int]:
        """How many addresses and tokens are remembered now."""
        return len(self._addresses), len(self._tokens)

    def failed(self, address: str, token: str | None = None) -> float:
        """Count one failed login from ``address`` (with ``token``, when one was checked); the
        seconds its answer must wait."""
        if self._free <= 0:
            return 0.0
        now = self._clock()
        count = self._count(self._addresses, address_key(address), now)
        if token is not None:
            count = max(count, self._count(self._tokens, token_key(token), now))
        return self.delay(count)

    def _count(self, counts: _Counts, key: str | bytes, now: int) -> int:
        """Count one failure of ``key``; the failures of the key that the delay follows."""
        return counts.add(key, now)

    def delay(self, failures: int) -> float:
        """The wait of the ``failures``-th failure of one key within the window."""
        extra = failures - self._free
        if self._free <= 0 or extra <= 0:
            return 0.0
        # Past 2**32 s the cap has long applied; the bound keeps the power from growing.
        return min(self._max_delay_s, FIRST_DELAY_S * 2.0 ** min(extra - 1, 32))


class SharedLoginThrottle(LoginThrottle):
    """A ``LoginThrottle`` whose counts are the installation's: ``run`` flushes them to
    ``counters`` under ``name`` (devices and the console count apart)."""

    __slots__ = ("_learned", "_name", "_outage", "_pending", "_shared")

    def __init__(
        self,
        clock: Clock,
        *,
        free_failures: int,
        window_s: float,
        max_delay_s: float,
        name: str,
        counters: SharedCounters,
    ) -> None:
        super().__init__(
            clock, free_failures=free_failures, window_s=window_s, max_delay_s=max_delay_s
        )
        self._name = name
        self._shared = counters
        self._pending: dict[str | bytes, int] = {}
        self._learned: OrderedDict[str | bytes, tuple[int, int]] = OrderedDict()
        """The installation's count per key and when it was learned, least recent first."""
        self._outage = False

    def _count(self, counts: _Counts, key: str | bytes, now: int) -> int:
        """The larger of this node's count and the installation's as last learned plus this
        node's failures since."""
        local = counts.add(key, now)
        pending = self._pending.get(key, 0) + 1
        self._pending[key] = pending
        learned = self._learned.get(key)
        if learned is not None and now - learned[1] < self._window_ms:
            pending += learned[0]
        return max(local, pending)

    async def flush(self) -> None:
        """Add this node's failures since the last flush to the shared counters and learn the
        installation's counts of those keys. On failure the failures wait for the next flush."""
        pending = self._pending
        if not pending:
            return
        self._pending = {}
        deltas = [(_shared_key(key), n) for key, n in pending.items()]
        group = f"pinbase:login:{self._name}:"
        try:
            totals = await self._shared.add(group, deltas, ttl_ms=self._window_ms, sliding=True)
        except Exception as error:
            for key, n in pending.items():
                self._pending[key] = self._pending.get(key, 0) + n
            if not self._outage:
                self._outage = True
                logger.warning(
                    "login_throttle.shared_unreachable name=%s error=%s", self._name, error
                )
            return
        self._outage = False
        now = self._clock()
        learned = self._learned
        for key, total in zip(pending, totals, strict=True):
            learned.pop(key, None)
            learned[key] = (total, now)
        while len(learned) > 2 * MAX_TRACKED_KEYS:
            learned.popitem(last=False)

    async def run(self) -> None:
        """Flush every ``FLUSH_INTERVAL_S`` until cancelled, and once more then."""
        await flush_every(self.flush)


def _shared_key(key: str | bytes) -> str:
    """A token digest as ``t:<hex>``, an address as ``a:<address>``."""
    return f"t:{key.hex()}" if isinstance(key, bytes) else f"a:{key}"
