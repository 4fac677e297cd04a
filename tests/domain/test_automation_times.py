"""Next-fire times of schedules, sun events and waits (automations.md §3.3, §3.5): pure
functions of (rule, now), checked against the spec's vectors and golden sunrise values."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from pinbase.domain.automation_times import (
    local_instant,
    next_schedule,
    next_sun,
    sun_time,
    wait_until,
)
from pinbase.domain.automations import Repeat, RepeatType, Schedule, Sun, SunEvent, Wait

BERLIN = ZoneInfo("Europe/Berlin")


def ms(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, zone: ZoneInfo = BERLIN
) -> int:
    """Epoch ms of a wall-clock time in ``zone``."""
    return int(datetime(year, month, day, hour, minute, tzinfo=zone).timestamp() * 1000)


def utc(year: int, month: int, day: int, hour: int, minute: int) -> int:
    """Epoch ms of a UTC time."""
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


def daily(time: str, tz: str = "Europe/Berlin", **repeat: object) -> Schedule:
    """A schedule at ``HH:MM``; DAILY unless ``repeat`` says otherwise."""
    hour, minute = (int(part) for part in time.split(":"))
    kind = repeat.pop("type", RepeatType.DAILY)
    return Schedule(hour=hour, minute=minute, tz=tz, repeat=Repeat(type=kind, **repeat))  # type: ignore[arg-type]


def test_a_time_in_the_dst_gap_fires_once_at_the_first_minute_after() -> None:
    """02:30 on 2026-03-29 in Europe/Berlin does not exist; it fires at 03:00 CEST, once."""
    rule = daily("02:30", type=RepeatType.ONCE, date=date(2026, 3, 29))
    first = next_schedule(rule, ms(2026, 3, 28, 12))
    assert first == utc(2026, 3, 29, 1, 0)
    assert next_schedule(rule, first) is None


def test_a_daily_time_in_the_gap_fires_once_that_day_and_normally_the_next() -> None:
    """A DAILY 02:30 rule yields 03:00 CEST on the change day, then 02:30 the day after."""
    rule = daily("02:30")
    first = next_schedule(rule, ms(2026, 3, 28, 12))
    assert first == utc(2026, 3, 29, 1, 0)
    second = next_schedule(rule, first)
    assert second == utc(2026, 3, 30, 0, 30)


def test_a_repeated_local_time_fires_at_its_first_instance() -> None:
    """02:30 on 2026-10-25 happens twice in Berlin; the rule fires at the CEST one only."""
    rule = daily("02:30")
    first = next_schedule(rule, ms(2026, 10, 24, 12))
    assert first == utc(2026, 10, 25, 0, 30)
    assert next_schedule(rule, first) == utc(2026, 10, 26, 1, 30)


def test_weekly_and_monthly_rules_pick_their_days() -> None:
    """WEEKLY fires on its weekdays; MONTHLY on its dates, skipping months without the 31st."""
    weekly = daily("08:01", type=RepeatType.WEEKLY, days=frozenset({0, 4}))  # MON, FRI
    thursday = ms(2026, 6, 4, 9)
    assert next_schedule(weekly, thursday) == ms(2026, 6, 5, 8, 1)
    assert next_schedule(weekly, ms(2026, 6, 5, 8, 1)) == ms(2026, 6, 8, 8, 1)
    monthly = daily("18:30", type=RepeatType.MONTHLY, dates=frozenset({31}))
    assert next_schedule(monthly, ms(2026, 4, 1)) == ms(2026, 5, 31, 18, 30)


def test_a_once_rule_in_the_past_never_fires() -> None:
    """A ONCE rule whose date passed, or one without a date, has no next time."""
    rule = daily("10:00", type=RepeatType.ONCE, date=date(2026, 1, 1))
    assert next_schedule(rule, ms(2026, 2, 1)) is None
    assert next_schedule(daily("10:00", type=RepeatType.ONCE), ms(2026, 2, 1)) is None


def test_a_schedule_uses_its_own_time_zone() -> None:
    """08:00 in Asia/Tokyo is 23:00 UTC the day before."""
    rule = daily("08:00", tz="Asia/Tokyo")
    assert next_schedule(rule, utc(2026, 6, 1, 0, 0)) == utc(2026, 6, 1, 23, 0)


def berlin_sun(event: SunEvent, offset: int = 0, days: frozenset[int] = frozenset()) -> Sun:
    """A sun rule for Berlin (52.52 N, 13.40 E)."""
    return Sun(event=event, offset_min=offset, days=days, lat=52.52, lon=13.40, tz="Europe/Berlin")


def test_golden_sunrise_and_sunset_in_berlin() -> None:
    """Berlin, 2026-06-21: sunrise 04:43 CEST, sunset 21:33 CEST (published almanac values)."""
    rise = sun_time(berlin_sun(SunEvent.SUNRISE), date(2026, 6, 21))
    assert rise is not None
    assert abs(rise - ms(2026, 6, 21, 4, 43)) < 60_000
    down = sun_time(berlin_sun(SunEvent.SUNSET), date(2026, 6, 21))
    assert down is not None
    assert abs(down - ms(2026, 6, 21, 21, 33)) < 60_000


def test_the_offset_moves_the_sun_event() -> None:
    """An offset of -15 minutes fires a quarter of an hour before sunrise."""
    plain = sun_time(berlin_sun(SunEvent.SUNRISE), date(2026, 6, 21))
    early = sun_time(berlin_sun(SunEvent.SUNRISE, -15), date(2026, 6, 21))
    assert plain is not None
    assert early == plain - 15 * 60_000


def test_next_sun_skips_to_the_rules_weekdays() -> None:
    """A sunset rule for Sundays only, asked on a Monday, fires the next Sunday."""
    rule = berlin_sun(SunEvent.SUNSET, days=frozenset({6}))
    slot = next_sun(rule, ms(2026, 6, 22, 12))  # a Monday
    assert slot.at is not None
    assert datetime.fromtimestamp(slot.at / 1000, BERLIN).date() == date(2026, 6, 28)
    again = next_sun(berlin_sun(SunEvent.SUNSET), slot.at)
    assert again.at is not None
    assert datetime.fromtimestamp(again.at / 1000, BERLIN).date() == date(2026, 6, 29)


def test_a_polar_day_has_no_sunset() -> None:
    """Longyearbyen at midsummer: no sunset; the slot marks the day's noon without an instant."""
    rule = Sun(
        event=SunEvent.SUNSET,
        offset_min=0,
        days=frozenset(),
        lat=78.22,
        lon=15.65,
        tz="Arctic/Longyearbyen",
    )
    zone = ZoneInfo("Arctic/Longyearbyen")
    assert sun_time(rule, date(2026, 6, 21)) is None
    slot = next_sun(rule, ms(2026, 6, 21, 0, 0, zone))
    assert slot.at is None
    assert slot.day_at == ms(2026, 6, 21, 12, 0, zone)


def test_wait_timer_and_time_of_day() -> None:
    """A timer waits its seconds; a time of day already past today (or now) waits for tomorrow."""
    now = ms(2026, 6, 1, 10)
    assert wait_until(Wait(seconds=120), now) == now + 120_000
    assert wait_until(Wait(hour=11, minute=0, tz="Europe/Berlin"), now) == ms(2026, 6, 1, 11)
    assert wait_until(Wait(hour=9, minute=0, tz="Europe/Berlin"), now) == ms(2026, 6, 2, 9)
    assert wait_until(Wait(hour=10, minute=0, tz="Europe/Berlin"), now) == ms(2026, 6, 2, 10)


def test_a_wait_without_timer_or_time_is_refused() -> None:
    """A WAIT value built with neither seconds nor a time of day cannot be scheduled."""
    with pytest.raises(ValueError, match="seconds or a time"):
        wait_until(Wait(), 0)


def test_local_instant_resolves_gaps() -> None:
    """``local_instant`` moves a nonexistent wall time to the end of the gap."""
    assert local_instant(date(2026, 3, 29), 2, 0, BERLIN) == utc(2026, 3, 29, 1, 0)
