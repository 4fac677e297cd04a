"""When time-based automations fire: pure functions of (rule, now) (automations.md §3.3, §3.5).

All instants are epoch milliseconds. Local times are read in the rule's IANA time zone:
* a local time that does not exist (inside a spring-forward gap) fires at the first minute after
  the gap (02:30 on 2026-03-29 in Europe/Berlin fires at 03:00 CEST);
* a local time that exists twice (fall-back) fires once, at its first instance (``fold=0``).

Sun events come from ``astral``; a day on which the sun neither rises nor sets (polar day or
night) yields a ``SunSlot`` without an instant, which the engine logs as ``NO_SUN_EVENT``.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from astral import Observer
from astral.sun import sunrise, sunset

from pinbase.domain.automations import RepeatType, Schedule, Sun, SunEvent, Wait

SEARCH_DAYS = 400
"""How far ahead a rule is searched: every repeat fires within a year and a day (a monthly
rule on the 31st within two months; a weekly one within a week)."""

MAX_GAP_MINUTES = 24 * 60
"""A DST gap is an hour almost everywhere; a whole day was skipped once (Samoa, 2011)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SunSlot:
    """One day's sun occurrence: ``at`` is the instant (offset applied), or None on a day
    without the event, then ``day_at`` marks that day (local noon) for the log."""

    at: int | None
    day_at: int


def local_instant(day: date, hour: int, minute: int, zone: ZoneInfo) -> int:
    """The instant ``day`` ``hour``:``minute`` in ``zone``; gaps and folds as the module says."""
    naive = datetime.combine(day, time(hour, minute))
    for step in range(MAX_GAP_MINUTES + 1):
        candidate = (naive + timedelta(minutes=step)).replace(tzinfo=zone, fold=0)
        back = candidate.astimezone(UTC).astimezone(zone)
        if back.replace(tzinfo=None) == candidate.replace(tzinfo=None):
            return _ms(candidate)
    raise ValueError("no valid local time within a day")  # pragma: no cover - no such zone


def next_schedule(rule: Schedule, after: int) -> int | None:
    """The first occurrence of ``rule`` strictly after ``after``; None when a ONCE rule passed."""
    zone = ZoneInfo(rule.tz)
    # The day before, too: an instant early in the local day may lie after ``after``'s date in
    # UTC terms only, never before it; starting a day early is cheap and safe.
    start = _local_date(after, zone) - timedelta(days=1)
    repeat = rule.repeat
    if repeat.type is RepeatType.ONCE:
        if repeat.date is None:
            return None
        at = local_instant(repeat.date, rule.hour, rule.minute, zone)
        return at if at > after else None
    for offset in range(SEARCH_DAYS):
        day = start + timedelta(days=offset)
        if repeat.type is RepeatType.WEEKLY and day.weekday() not in repeat.days:
            continue
        if repeat.type is RepeatType.MONTHLY and day.day not in repeat.dates:
            continue
        at = local_instant(day, rule.hour, rule.minute, zone)
        if at > after:
            return at
    return None  # pragma: no cover - every DAILY/WEEKLY/MONTHLY rule fires within SEARCH_DAYS


def sun_time(rule: Sun, day: date) -> int | None:
    """The instant of the rule's sun event on local ``day`` with its offset, or None when the
    sun does not rise (or set) that day."""
    zone = ZoneInfo(rule.tz)
    observer = Observer(latitude=rule.lat, longitude=rule.lon)
    compute = sunrise if rule.event is SunEvent.SUNRISE else sunset
    try:
        moment = compute(observer, day, tzinfo=zone)
    except ValueError:
        return None
    return _ms(moment) + rule.offset_min * 60_000


def next_sun(rule: Sun, after: int) -> SunSlot:
    """The first of the rule's days whose slot lies strictly after ``after``."""
    zone = ZoneInfo(rule.tz)
    start = _local_date(after, zone) - timedelta(days=1)
    for offset in range(SEARCH_DAYS):
        day = start + timedelta(days=offset)
        if rule.days and day.weekday() not in rule.days:
            continue
        at = sun_time(rule, day)
        noon = local_instant(day, 12, 0, zone)
        if at is not None and at > after:
            return SunSlot(at=at, day_at=noon)
        if at is None and noon > after:
            return SunSlot(at=None, day_at=noon)
    raise ValueError("no sun day within a year")  # pragma: no cover - days is never all-excluded


def wait_until(rule: Wait, now: int) -> int:
    """When a WAIT that starts at ``now`` ends: after its seconds, or at its next time of day
    (a time already past today, or now exactly, waits for tomorrow, spec §3.5)."""
    if rule.seconds is not None:
        return now + rule.seconds * 1000
    if rule.tz is None or rule.hour is None or rule.minute is None:
        raise ValueError("a WAIT needs seconds or a time of day")
    zone = ZoneInfo(rule.tz)
    today = _local_date(now, zone)
    at = local_instant(today, rule.hour, rule.minute, zone)
    if at > now:
        return at
    return local_instant(today + timedelta(days=1), rule.hour, rule.minute, zone)


def _local_date(ms: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=zone).date()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
