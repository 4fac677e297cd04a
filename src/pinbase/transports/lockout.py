"""Login flood protection: an address that fails to log in too often is refused for a while.

Pure bookkeeping on monotonic timestamps the listener passes in. Failures are counted per
address over a window as long as the block itself; reaching the limit blocks the address for
the block time (issue #4: after 5 failed logins from one address, refuse it for 10 minutes).
"""

import logging
from collections import OrderedDict
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_TRACKED_ADDRESSES = 65_536
"""Addresses remembered at once (failing or blocked), oldest forgotten first: a spray of failed
logins from many addresses costs at most a few MB, and a forgotten address only regains the
attempts it had left."""


class LoginLockout:
    """Counts failed logins per address and refuses an address that failed ``limit`` times."""

    __slots__ = ("_block_seconds", "_blocked", "_failures", "_limit")

    def __init__(self, *, limit: int, block_seconds: float) -> None:
        """``limit`` 0 turns the protection off."""
        self._limit = limit
        self._block_seconds = block_seconds
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._blocked: OrderedDict[str, float] = OrderedDict()

    def is_blocked(self, address: str, now: float) -> bool:
        """True while ``address`` serves a block."""
        until = self._blocked.get(address)
        if until is None:
            return False
        if now < until:
            return True
        del self._blocked[address]
        return False

    def record_failure(self, address: str, now: float) -> bool:
        """Count one failed login from ``address``; True when it starts a block."""
        if self._limit <= 0:
            return False
        count, since = self._failures.pop(address, (0, now))
        if now - since >= self._block_seconds:
            count, since = 0, now
        count += 1
        if count < self._limit:
            self._remember(self._failures, address, (count, since))
            return False
        self._remember(self._blocked, address, now + self._block_seconds)
        logger.warning(
            "tcp.address_blocked address=%s failures=%d seconds=%s",
            address,
            count,
            self._block_seconds,
        )
        return True

    @staticmethod
    def _remember(table: OrderedDict[str, T], address: str, value: T) -> None:
        table[address] = value
        table.move_to_end(address)
        while len(table) > MAX_TRACKED_ADDRESSES:
            table.popitem(last=False)
