"""Repeated log events summed up: at most one summary line per event kind per interval.

Issue #8: every refused or garbage connection wrote an INFO line, so 7,700 junk connections
wrote 2,636 lines. Here the first event of a kind in an interval is still logged in full by the
caller (``note`` says when), so a single typo shows at once with its details; the rest of the
interval is counted, and one line says how many there were and from how many addresses, e.g.
``device.logins_refused count=123 addresses=5 interval_s=60``. A kind therefore writes at most
two lines per interval however many events arrive. The summary is written when the interval
ends (a loop timer), or by ``flush`` at stop.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_COUNTED_ADDRESSES = 10_000
"""Distinct addresses remembered per kind and interval; past it ``addresses`` stops growing,
so a spray from many addresses costs at most this many entries."""

Schedule = Callable[[float, Callable[[], None]], object]
"""Run a callback after so many seconds (``loop.call_later``)."""


@dataclass(slots=True)
class _Window:
    start: float
    count: int = 0
    addresses: set[str] = field(default_factory=set)


class LogSummary:
    """Counts events per kind; tells the caller to log the first of each interval in full."""

    __slots__ = ("_clock", "_interval_s", "_logger", "_schedule", "_windows")

    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval_s: float,
        clock: Callable[[], float],
        schedule: Schedule | None = None,
    ) -> None:
        """``clock`` in seconds; without ``schedule`` a summary waits for the next event of
        its kind after the interval, or for ``flush``."""
        self._logger = logger
        self._interval_s = interval_s
        self._clock = clock
        self._schedule = schedule
        self._windows: dict[str, _Window] = {}

    def note(self, kind: str, address: str) -> bool:
        """Count one ``kind`` event from ``address``; True when the caller should log it in
        full, as the first of its interval."""
        now = self._clock()
        window = self._windows.get(kind)
        if window is not None and now - window.start >= self._interval_s:
            self._close(kind, window)
            window = None
        first = window is None
        if window is None:
            window = self._windows[kind] = _Window(start=now)
        window.count += 1
        if len(window.addresses) < MAX_COUNTED_ADDRESSES:
            window.addresses.add(address)
        if window.count == 2 and self._schedule is not None:
            remaining = window.start + self._interval_s - now
            self._schedule(remaining, lambda: self._close(kind, window))
        return first

    def flush(self) -> None:
        """Write the summary of every open interval now (at stop)."""
        for kind, window in list(self._windows.items()):
            self._close(kind, window)

    def _close(self, kind: str, window: _Window) -> None:
        """End ``window``; summarize it when more happened than its first, logged event."""
        if self._windows.get(kind) is not window:
            return
        del self._windows[kind]
        if window.count > 1:
            self._logger.info(
                "%s count=%d addresses=%d interval_s=%g",
                kind,
                window.count,
                len(window.addresses),
                self._interval_s,
            )
