"""Repeated log events: the first of an interval in full, then one summary line with counts."""

import logging

import pytest

from pinbase.transports.log_summary import LogSummary

LOGGER = logging.getLogger("test.log_summary")


class Seconds:
    """A clock in seconds that the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def summaries(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The summary lines logged so far."""
    return [r.getMessage() for r in caplog.records if r.name == LOGGER.name]


def test_first_event_is_logged_in_full_the_rest_summed_up_after_the_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Of 1,000 events from 5 addresses in a minute only the first is logged; the next event
    after the minute writes ``count=1000 addresses=5`` and is itself logged in full."""
    caplog.set_level(logging.INFO)
    clock = Seconds()
    summary = LogSummary(LOGGER, interval_s=60, clock=clock)
    firsts = [summary.note("device.logins_refused", f"10.0.0.{n % 5}") for n in range(1000)]
    assert firsts.count(True) == 1
    assert firsts[0]
    assert summaries(caplog) == []
    clock.now = 60
    assert summary.note("device.logins_refused", "10.0.0.9")
    assert summaries(caplog) == ["device.logins_refused count=1000 addresses=5 interval_s=60"]


def test_kinds_are_summed_up_apart_and_flush_writes_what_is_open(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each kind has its own count; ``flush`` writes every open summary, and a lone event,
    already logged in full, writes none."""
    caplog.set_level(logging.INFO)
    summary = LogSummary(LOGGER, interval_s=60, clock=Seconds())
    for _ in range(3):
        summary.note("device.logins_refused", "a")
    summary.note("device.protocol_errors", "b")
    summary.flush()
    assert summaries(caplog) == ["device.logins_refused count=3 addresses=1 interval_s=60"]
    summary.flush()
    assert len(summaries(caplog)) == 1


def test_the_summary_is_scheduled_for_the_end_of_the_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The second event of an interval schedules the summary for the interval's end, so a burst
    that stops is still summed up; it is scheduled once."""
    caplog.set_level(logging.INFO)
    clock = Seconds()
    scheduled: list[tuple[float, object]] = []
    summary = LogSummary(
        LOGGER, interval_s=60, clock=clock, schedule=lambda s, f: scheduled.append((s, f))
    )
    summary.note("device.logins_refused", "a")
    clock.now = 15
    summary.note("device.logins_refused", "a")
    summary.note("device.logins_refused", "b")
    assert [delay for delay, _ in scheduled] == [45]
    (_, callback), *_ = scheduled
    assert callable(callback)
    callback()
    assert summaries(caplog) == ["device.logins_refused count=3 addresses=2 interval_s=60"]
