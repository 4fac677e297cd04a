"""The in-process bus: typed topics, unsubscribe, isolation of failing subscribers."""

from dataclasses import dataclass

import pytest

from pinbase.services.bus import Bus


@dataclass
class Ping:
    n: int


@dataclass
class Pong:
    n: int


def test_subscribers_get_only_their_topic() -> None:
    """A subscriber of Ping never sees a Pong."""
    bus, seen = Bus(), []
    bus.subscribe(Ping, seen.append)
    bus.publish(Ping(1))
    bus.publish(Pong(2))
    assert seen == [Ping(1)]


def test_unsubscribe_stops_delivery() -> None:
    """After unsubscribe (called twice, harmlessly) nothing more arrives."""
    bus, seen = Bus(), []
    unsubscribe = bus.subscribe(Ping, seen.append)
    unsubscribe()
    unsubscribe()
    bus.publish(Ping(1))
    assert seen == []


def test_failing_subscriber_spoils_no_other(caplog: pytest.LogCaptureFixture) -> None:
    """One subscriber raising is logged; the others still receive the message."""
    bus, seen = Bus(), []

    def broken(_: Ping) -> None:
        raise RuntimeError("boom")

    bus.subscribe(Ping, broken)
    bus.subscribe(Ping, seen.append)
    bus.publish(Ping(3))
    assert seen == [Ping(3)]
    assert "bus.subscriber_failed" in caplog.text
