"""Time as a collaborator: services take a ``Clock`` so tests can pass a fixed one."""

import time
from collections.abc import Callable

Clock = Callable[[], int]
"""Returns the current Unix time in milliseconds (every timestamp in Blynk's APIs is ms UTC)."""

DAY_MS = 86_400_000
FAR_FUTURE_MS = 2**62
"""Upper bound of an open-ended history read: imported points may be dated after now."""


def system_clock() -> int:
    """The wall clock in milliseconds."""
    return time.time_ns() // 1_000_000


def start_of_day(ms: int) -> int:
    """Midnight UTC of the day holding ``ms``: the start of daily quotas."""
    return ms - ms % DAY_MS
