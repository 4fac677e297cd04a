"""Flood control as a token bucket fed with timestamps (device-protocols.md §1.12).

The meter decides; the transport acts. A dropped message has already been read whole, so the
stream stays in step, unlike the legacy decoder, which desynchronised on a flood.
"""

from enum import Enum

FLOOD_RATE = 20.0
"""Messages per second a device may sustain (§1.12 [R]); the C++ library limits itself to 15
per second and Blynk's docs warn at 10, so well-behaved firmware never reaches it."""

FLOOD_BURST = 100
"""Messages a device may send at once: the legacy server's per-user quota of 100 per second
(``user.message.quota.limit``), enough for a ``syncAll`` answer storm or a reconnect backlog."""

FLOOD_WARNING_INTERVAL = 1.0
"""At most one QUOTA_LIMIT answer per second while dropping (§1.12), so a flood cannot turn the
server into an amplifier."""

MAX_FLOOD_WARNINGS = 10
"""Warnings in consecutive intervals before the connection is closed: about 10 s of sustained
flooding, long enough to ride out a burst and short enough to stop a runaway loop."""


class Verdict(Enum):
    """What to do with one inbound message."""

    ACCEPT = "accept"
    DROP = "drop"
    """Ignore the message; send nothing."""
    WARN = "warn"
    """Ignore the message and answer ``Response(msg_id, QUOTA_LIMIT)``."""
    DISCONNECT = "disconnect"
    """The flood is sustained: close the connection."""


_ACCEPT = Verdict.ACCEPT


class FloodMeter:
    """A token bucket per device: ``rate`` tokens a second, at most ``burst`` saved up."""

    __slots__ = ("_burst", "_last_warning", "_rate", "_strikes", "_tokens", "_updated")

    def __init__(self, *, now: float, rate: float = FLOOD_RATE, burst: int = FLOOD_BURST) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._updated = now
        self._last_warning: float | None = None
        self._strikes = 0

    def check(self, now: float) -> Verdict:
        """Count one message arriving at ``now`` (monotonic seconds) and judge it."""
        # Asked for every message (issue 4): plain comparisons, not min() and max() calls.
        tokens = self._tokens
        elapsed = now - self._updated
        if elapsed > 0.0:  # a clock that steps back refills nothing
            tokens += elapsed * self._rate
            if tokens > self._burst:
                tokens = self._burst
        self._updated = now
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            return _ACCEPT
        self._tokens = tokens
        last = self._last_warning
        if last is not None and now - last < FLOOD_WARNING_INTERVAL:
            return Verdict.DROP
        consecutive = last is not None and now - last < 2 * FLOOD_WARNING_INTERVAL
        self._strikes = self._strikes + 1 if consecutive else 1
        self._last_warning = now
        return Verdict.DISCONNECT if self._strikes >= MAX_FLOOD_WARNINGS else Verdict.WARN
