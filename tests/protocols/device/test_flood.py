"""Flood control: a token bucket fed with timestamps, warning then disconnecting (spec §1.12)."""

import pytest

from pinbase.protocols.device.flood import (
    FLOOD_BURST,
    FLOOD_RATE,
    MAX_FLOOD_WARNINGS,
    FloodMeter,
    Verdict,
)


def test_a_burst_is_accepted() -> None:
    """Up to FLOOD_BURST messages at one instant pass."""
    meter = FloodMeter(now=0.0)
    assert all(meter.check(0.0) is Verdict.ACCEPT for _ in range(FLOOD_BURST))


def test_beyond_the_burst_one_warning_then_silent_drops() -> None:
    """Past the burst the first drop warns, the rest of that second drop silently."""
    meter = FloodMeter(now=0.0, rate=1.0, burst=1)
    assert meter.check(0.0) is Verdict.ACCEPT
    assert meter.check(0.0) is Verdict.WARN
    assert meter.check(0.5) is Verdict.DROP
    assert meter.check(0.6) is Verdict.DROP


def test_the_sustained_rate_is_accepted_forever() -> None:
    """Messages at FLOOD_RATE never drop, however long they go on."""
    meter = FloodMeter(now=0.0)
    step = 1 / FLOOD_RATE
    assert all(meter.check(n * step) is Verdict.ACCEPT for n in range(10_000))


def test_sustained_flood_disconnects() -> None:
    """Twice the rate for long enough warns once a second, then disconnects."""
    meter = FloodMeter(now=0.0)
    verdicts = [meter.check(n / (2 * FLOOD_RATE)) for n in range(2000)]
    assert verdicts.count(Verdict.WARN) == MAX_FLOOD_WARNINGS - 1
    assert Verdict.DISCONNECT in verdicts


def test_spaced_bursts_never_disconnect() -> None:
    """Bursts separated by quiet periods reset the warning count."""
    meter = FloodMeter(now=0.0, rate=1.0, burst=1)
    for second in range(0, 100, 3):
        assert meter.check(float(second)) is Verdict.ACCEPT
        assert meter.check(float(second)) is Verdict.WARN


def test_a_clock_stepping_back_refills_nothing() -> None:
    """A timestamp earlier than the last one adds no tokens."""
    meter = FloodMeter(now=10.0, rate=1.0, burst=1)
    assert meter.check(10.0) is Verdict.ACCEPT
    assert meter.check(5.0) is Verdict.WARN


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_meter_needs_a_positive_rate_and_burst(rate: float, burst: int) -> None:
    """A bucket that can never pass a message is refused."""
    with pytest.raises(ValueError, match="rate"):
        FloodMeter(now=0.0, rate=rate, burst=burst)
