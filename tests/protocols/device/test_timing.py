"""Heartbeat and idle rules as pure functions of numbers (spec §1.9)."""

import math

import pytest

from pinbase.protocols.device.timing import (
    HEARTBEAT_FACTOR,
    MAX_HEARTBEAT_SECONDS,
    heartbeat_timeout,
    is_idle,
)


@pytest.mark.parametrize(("heartbeat", "timeout"), [(10, 23), (40, 92), (45, 104), (1, 3)])
def test_idle_timeout_is_ceil_of_2_3_heartbeats(heartbeat: int, timeout: int) -> None:
    """The spec's examples: H=10 gives 23 s, 40 gives 92 s, 45 gives 104 s (§1.9)."""
    assert heartbeat_timeout(heartbeat) == timeout


def test_factor_is_configurable() -> None:
    """A test can shorten the timeout with a smaller factor (§4.1 item 4)."""
    assert heartbeat_timeout(10, factor=0.25) == 3
    assert heartbeat_timeout(10, factor=HEARTBEAT_FACTOR) == 23


def test_heartbeat_is_clamped() -> None:
    """Heartbeats below 1 s count as 1, above an hour as an hour."""
    assert heartbeat_timeout(0) == 3
    assert heartbeat_timeout(10**9) == math.ceil(2.3 * MAX_HEARTBEAT_SECONDS)


@pytest.mark.parametrize("factor", [0.0, -1.0, math.inf, math.nan])
def test_factor_must_be_positive_and_finite(factor: float) -> None:
    """A factor that cannot give a timeout raises ValueError."""
    with pytest.raises(ValueError, match="factor"):
        heartbeat_timeout(10, factor=factor)


def test_idle_once_the_timeout_has_passed() -> None:
    """A connection is idle from exactly ``timeout`` seconds of silence."""
    assert not is_idle(last_inbound=100.0, now=122.9, timeout=23)
    assert is_idle(last_inbound=100.0, now=123.0, timeout=23)
