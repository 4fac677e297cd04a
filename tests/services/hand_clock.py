"""A services clock the tests move by hand, so time-dependent rules run without sleeping."""

from dataclasses import dataclass

T0 = 1_760_000_000_000
"""Milliseconds since the epoch where every hand clock starts (2025-10-09)."""


@dataclass
class HandClock:
    """Answers ``now`` until a test changes it."""

    now: int = T0

    def __call__(self) -> int:
        return self.now
