"""Where a failed login's answer waits: in that connection's own task, a bounded number at once.

The wait is a future the connection's worker awaits, settled by a loop timer or by the
connection ending, whichever comes first: it holds no slot another connection needs, never
blocks the loop, and a peer that leaves releases its place at once. At most
``MAX_HELD_LOGINS`` connections wait at a time; past that a failure is answered at once, so the
tarpit cannot be used to make the server hold sockets and memory without bound.
"""

import asyncio

MAX_HELD_LOGINS = 256
"""Connections held at once, across every device listener: each costs a socket (one file
descriptor of the process's limit, often 1,024) and a session (a few KB), and devices need the
rest."""


def _settle(waiter: "asyncio.Future[None]") -> None:
    if not waiter.done():
        waiter.set_result(None)


class Tarpit:
    """Holds failed logins' answers; counts what it held so the delay can be checked."""

    __slots__ = ("_capacity", "held", "held_seconds", "held_total", "overflowed")

    def __init__(self, *, capacity: int = MAX_HELD_LOGINS) -> None:
        self._capacity = capacity
        self.held = 0
        """Connections waiting now."""
        self.held_total = 0
        """Answers held since start."""
        self.held_seconds = 0.0
        """The delays granted since start, added up (a peer that leaves early waits less)."""
        self.overflowed = 0
        """Answers given at once because the tarpit was full."""

    async def hold(self, waiter: "asyncio.Future[None]", delay: float) -> None:
        """Wait ``delay`` s or until ``waiter`` is settled (the connection ended), whichever is
        first; return at once when ``delay`` is 0 or the tarpit is full."""
        if delay <= 0:
            return
        if self.held >= self._capacity:
            self.overflowed += 1
            return
        self.held += 1
        self.held_total += 1
        self.held_seconds += delay
        timer = asyncio.get_running_loop().call_later(delay, _settle, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self.held -= 1


def release(waiter: "asyncio.Future[None] | None") -> None:
    """End a hold early: the connection is going."""
    if waiter is not None:
        _settle(waiter)
