"""History export (DEV-08): raw points or aggregates over a period, as rows or as a zipped CSV.

Theory of operation. The window is ``[now - period, now]``. History is read oldest first in
chunks, so memory holds one chunk plus the output rows, never the whole window. ``RAW_DATA``
keeps each point; ``MINUTE``, ``HOURLY`` and ``DAILY`` fold the points of each datastream into
buckets aligned on the minute, hour or day *of the requested time zone* (a ``+05:30`` zone has
hourly buckets at half past the UTC hour), reducing each bucket with the ``sourceType``. Because
points arrive in time order and bucket starts only grow, a bucket is complete as soon as a point
of a later bucket arrives, and it is emitted then.

Aggregated reports read whole UTC minutes from the per-minute aggregates that every group commit
maintains (``storage.point_writes``), and raw points only for the partial minutes at the window's
two ends, so a day of one point per second costs 1,440 rows instead of 86,400 points. A minute
lies in one bucket of any zone with whole-minute offsets; a Java offset with seconds
(``+01:00:30``) splits minutes, so such a report folds raw points only. Both ways give the same
buckets; a sum or an average of non-integral values may differ in its last bits, because the
additions happen in another order.

Non-numeric values (strings, locations) appear as text in raw rows and only count in ``COUNT``
aggregates (data-model.md §5.9). Device events (``sendEvents``) are added as rows named after the
event, with the description as value.

Limits (http-api.md §1.11): ``per_day`` exports per device per UTC day, counted by a
``RateLimiter`` (in memory, or across the nodes of an installation: a ``SharedRateLimiter``).
Zipped reports live ``ttl_ms`` (``report_files``); ``sweep_forever`` deletes the expired ones.
"""

import asyncio
import csv
import io
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from enum import Enum
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pinbase.domain.datastreams import Datastream
from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.templates import Template
from pinbase.services.clock import DAY_MS, Clock
from pinbase.services.rate_limit import RateLimiter
from pinbase.services.report_files import delete_expired, expires_at, open_file, write_zip
from pinbase.storage.base import HistoryRow, MinuteRow, Store, Transaction

logger = logging.getLogger(__name__)

MINUTE_MS = 60_000
HOUR_MS = 3_600_000

MAX_REPORT_ROWS = 100_000
"""Rows in one answer; ``rows_before_limit_at_least`` tells a client it got less than all."""

MAX_SCANNED_POINTS = 1_000_000
"""Points one aggregated report may cover, counted in the minute aggregates too. Set when reports
folded raw points (400,000 took 2.5 s on SQLite, mostly reading) and kept, so that reports
answered before minute aggregates and the ones refused stay so. A larger window is refused
rather than answered from a silently truncated one."""

READ_CHUNK = 10_000
"""Points fetched per query while scanning the window."""

REPORT_TTL_MS = 45 * DAY_MS
"""How long a zipped report can be downloaded: Blynk's 45 days (data-model.md §2.7)."""

SWEEP_INTERVAL_MS = 60_000
"""Time between sweeps of expired files. Until its sweep an expired file only takes disk space:
its download is refused by name from the moment it expires."""
MIN_SWEEP_INTERVAL_MS = 1_000
"""A TTL below a minute (tests) sweeps once per TTL, but never more often than once a second."""

CSV_HEADER = ("data_stream_name", "ts", "value")


class Period(Enum):
    """The ``period`` parameter: how far back the window reaches, in milliseconds."""

    HOUR = HOUR_MS
    DAY = DAY_MS
    WEEK = 7 * DAY_MS
    MONTH = 30 * DAY_MS
    THREE_MONTHS = 90 * DAY_MS


class Granularity(Enum):
    """The ``granularityType`` parameter."""

    RAW_DATA = "RAW_DATA"
    MINUTE = "MINUTE"
    HOURLY = "HOURLY"
    DAILY = "DAILY"


class Source(Enum):
    """The ``sourceType`` parameter: how a bucket is reduced to one value."""

    AVG = "AVG"
    MIN = "MIN"
    MAX = "MAX"
    SUM = "SUM"
    COUNT = "COUNT"


class TimeFormat(Enum):
    """The ``format`` parameter: how ``ts`` is written."""

    TS = "TS"
    ISO_US = "ISO_US"
    ISO_SIMPLE = "ISO_SIMPLE"


class ReportRefused(PinbaseError):
    """A report cannot be made; the subclass says why."""


class ReportQuotaReached(ReportRefused):
    """The device used its daily export quota."""


class ReportTooLarge(ReportRefused):
    """The window holds more points than one aggregated report may fold."""


class InvalidRequest(ReportRefused):
    """A parameter combination Blynk refuses (``RAW_DATA`` over ``THREE_MONTHS``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportRequest:
    """What to export; ``datastreams`` empty means every datastream of the template."""

    period: Period = Period.MONTH
    granularity: Granularity = Granularity.RAW_DATA
    source: Source = Source.AVG
    zone: tzinfo = UTC
    time_format: TimeFormat = TimeFormat.TS
    send_events: bool = False
    datastreams: tuple[Datastream, ...] = ()

    def __post_init__(self) -> None:
        if self.granularity is Granularity.RAW_DATA and self.period is Period.THREE_MONTHS:
            # blynk.cloud/get-device-report.md: "RAW_DATA not supported with THREE_MONTHS".
            raise InvalidRequest("RAW_DATA is not available over THREE_MONTHS")


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One output row: datastream (or event) name, timestamp in ms, value."""

    name: str
    ts: int
    value: float | str


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """The rows of a report, oldest first, and how many there were before the row limit."""

    rows: tuple[ReportRow, ...]
    rows_before_limit: int


# --- parameters -------------------------------------------------------------------------------

_OFFSET = re.compile(r"([+-])(?:([0-9]{1,2})|([0-9]{2})(:?)([0-9]{2})(?:\4([0-9]{2}))?)")
"""Java ``ZoneOffset`` spellings: ``+h``, ``+hh``, ``+hh:mm``, ``+hhmm``, ``+hh:mm:ss``,
``+hhmmss`` (one separator style throughout)."""
_REGION = re.compile(r"[A-Za-z][A-Za-z0-9~/._+-]{1,63}")
"""The shape of a Java region id (``java.time.ZoneRegion``); anything else is not a zone."""
_UTC_NAMES = frozenset({"Z", "UTC", "GMT", "UT"})
MAX_OFFSET = timedelta(hours=18)
"""Java ``ZoneOffset`` accepts -18:00..+18:00."""


def parse_zone(name: str) -> tzinfo:
    """A Java ``ZoneId`` name: ``UTC``, ``Z``, an offset (``+05:30``, ``UTC+2``) or a region.

    Raises:
        ValueError: ``name`` is not a zone Java would accept or the tz database lacks it.
    """
    if name in _UTC_NAMES:
        return UTC
    for prefix in ("UTC", "GMT", "UT"):
        if name.startswith(prefix) and name[len(prefix) : len(prefix) + 1] in ("+", "-"):
            return _offset_zone(name[len(prefix) :])
    if name[:1] in ("+", "-"):
        return _offset_zone(name)
    if not _REGION.fullmatch(name):
        raise ValueError(f"not a zone id: {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown zone: {name!r}") from None


def _offset_zone(text: str) -> tzinfo:
    match = _OFFSET.fullmatch(text)
    if match is None:
        raise ValueError(f"not an offset: {text!r}")
    sign, short_hours, hours, _, minutes, seconds = match.groups()
    parts = (int(short_hours or hours), int(minutes or 0), int(seconds or 0))
    offset = timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2])
    if parts[1] > 59 or parts[2] > 59 or offset > MAX_OFFSET:
        raise ValueError(f"offset out of range: {text!r}")
    return timezone(-offset if sign == "-" else offset)


# --- time -------------------------------------------------------------------------------------


def bucket_start(ts: int, granularity: Granularity, zone: tzinfo) -> int:
    """The start (ms) of the minute, hour or day holding ``ts``, aligned in ``zone``.

    Across a DST change the local clock repeats or skips an hour; each real hour still gets its
    own bucket, because the local time keeps its ``fold`` through the truncation.
    """
    local = datetime.fromtimestamp(ts // 1000, zone)
    if granularity is Granularity.MINUTE:
        start = local.replace(second=0)
    elif granularity is Granularity.HOURLY:
        start = local.replace(minute=0, second=0)
    else:
        start = local.replace(hour=0, minute=0, second=0)
    return int(start.timestamp()) * 1000


def format_ts(ts: int, time_format: TimeFormat, zone: tzinfo) -> int | str:
    """``ts`` as epoch ms (``TS``), ``04/10/19 11:45:41 AM`` (``ISO_US``) or
    ``2018-06-07 22:01:20`` (``ISO_SIMPLE``), the last two in ``zone``."""
    if time_format is TimeFormat.TS:
        return ts
    local = datetime.fromtimestamp(ts // 1000, zone)
    if time_format is TimeFormat.ISO_SIMPLE:
        return local.strftime("%Y-%m-%d %H:%M:%S")
    # Spelled out rather than %I/%p, whose output depends on the process locale.
    hour = local.hour % 12 or 12
    half = "AM" if local.hour < 12 else "PM"
    return f"{local:%m/%d/%y} {hour:02d}:{local:%M:%S} {half}"


# --- aggregation ------------------------------------------------------------------------------


class _Bucket:
    """Running aggregates of one datastream in one bucket."""

    __slots__ = ("count", "high", "low", "numbers", "total")

    def __init__(self) -> None:
        self.count = 0
        self.numbers = 0
        self.total = 0.0
        self.low = float("inf")
        self.high = float("-inf")

    def add(self, num: float | None) -> None:
        self.count += 1
        if num is not None:
            self.numbers += 1
            self.total += num
            self.low = min(self.low, num)
            self.high = max(self.high, num)

    def merge(self, minute: MinuteRow) -> None:
        self.count += minute.count
        if minute.total is not None and minute.low is not None and minute.high is not None:
            self.numbers += minute.num_count
            self.total += minute.total
            self.low = min(self.low, minute.low)
            self.high = max(self.high, minute.high)

    def value(self, source: Source) -> float | None:
        if source is Source.COUNT:
            return float(self.count)
        if not self.numbers:
            return None
        if source is Source.AVG:
            return self.total / self.numbers
        if source is Source.MIN:
            return self.low
        if source is Source.MAX:
            return self.high
        return self.total


class _Folder:
    """Folds time-ordered history rows into aggregated report rows."""

    def __init__(self, request: ReportRequest, datastreams: Sequence[Datastream]) -> None:
        self._request = request
        self._order = {ds.id: index for index, ds in enumerate(datastreams)}
        self._labels = {ds.id: ds.label for ds in datastreams}
        self._start: int | None = None
        offset = request.zone.utcoffset(None)
        # Every zone of the tz database has whole-minute offsets since 1972, so within any
        # report window one UTC minute lies in one bucket; only a Java offset with seconds
        # (``+01:00:30``) needs a bucket computed per second.
        self._step = 1_000 if offset is not None and offset.seconds % 60 else MINUTE_MS
        self._slot = -1
        self._slot_start = 0
        self._buckets: dict[DatastreamId, _Bucket] = {}
        self.rows: list[ReportRow] = []

    @property
    def takes_minutes(self) -> bool:
        """Whether every UTC minute lies in one bucket, so minute aggregates can be folded."""
        return self._step == MINUTE_MS

    def bucket(self, datastream_id: DatastreamId, ts: int) -> _Bucket:
        """The bucket of the datastream holding ``ts``; ``ts`` never goes back in time."""
        slot = ts // self._step
        if slot != self._slot:
            self._slot = slot
            self._slot_start = bucket_start(ts, self._request.granularity, self._request.zone)
        if self._slot_start != self._start:
            self.flush()
            self._start = self._slot_start
        return self._buckets.setdefault(datastream_id, _Bucket())

    def flush(self) -> None:
        if self._start is None:
            return
        for ds_id in sorted(self._buckets, key=self._order.__getitem__):
            value = self._buckets[ds_id].value(self._request.source)
            if value is not None:
                self.rows.append(ReportRow(self._labels[ds_id], self._start, value))
        self._buckets = {}


# --- the service ------------------------------------------------------------------------------


class Reports:
    """Builds history exports and keeps the zipped ones for download."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        folder: Path,
        per_day: int,
        max_rows: int = MAX_REPORT_ROWS,
        max_scanned: int = MAX_SCANNED_POINTS,
        ttl_ms: int = REPORT_TTL_MS,
        quota: RateLimiter[DeviceId] | None = None,
    ) -> None:
        """``quota`` counts the exports per device per UTC day (built by the runtime, shared
        between nodes); by default a limiter of this process with ``per_day``."""
        self._store = store
        self._clock = clock
        self._folder = folder
        self._per_day = per_day
        self._ttl_ms = ttl_ms
        self._max_rows = max_rows
        self._max_scanned = max_scanned
        self._quota = (
            quota if quota is not None else RateLimiter(clock, limit=per_day, window_ms=DAY_MS)
        )

    @property
    def quota(self) -> RateLimiter[DeviceId]:
        """The limiter counting the daily exports (the runtime flushes a shared one)."""
        return self._quota

    @property
    def per_day(self) -> int:
        """Exports allowed per device per day."""
        return self._per_day

    def charge(self, device_id: DeviceId) -> None:
        """Count one export against the device's daily quota.

        Raises:
            ReportQuotaReached: the device made ``per_day`` exports today.
        """
        if self._per_day <= 0 or self._quota.hit(device_id):
            raise ReportQuotaReached(f"{self._per_day} exports today")

    async def build(
        self, device_id: DeviceId, template: Template, request: ReportRequest
    ) -> Report:
        """The rows of a report over the window ending now; empty when nothing was recorded.

        Raises:
            ReportTooLarge: an aggregated report would fold more than ``max_scanned`` points.
        """
        now = self._clock()
        since, until = now - request.period.value, now + 1
        datastreams = request.datastreams or template.datastreams
        rows: list[ReportRow]
        async with self._store.transaction() as tx:
            ids = [ds.id for ds in datastreams]
            if request.granularity is Granularity.RAW_DATA:
                labels = {ds.id: ds.label for ds in datastreams}
                rows = []

                def keep(row: HistoryRow) -> bool:
                    value = row.num if row.num is not None else (row.text or "")
                    rows.append(ReportRow(labels[row.datastream_id], row.ts, value))
                    return len(rows) <= self._max_rows

                await _scan(tx, device_id, ids, (since, until), keep)
            else:
                rows = await self._aggregate(tx, device_id, request, datastreams, (since, until))
            if request.send_events:
                names = {event.code: event.name for event in template.events}
                rows.extend(
                    ReportRow(names.get(event.code, event.code), event.ts, event.description or "")
                    for event in await tx.list_device_events(device_id, since=since)
                    if event.ts < until
                )
                rows.sort(key=lambda row: row.ts)
        return Report(rows=tuple(rows[: self._max_rows]), rows_before_limit=len(rows))

    async def _aggregate(
        self,
        tx: Transaction,
        device_id: DeviceId,
        request: ReportRequest,
        datastreams: Sequence[Datastream],
        window: tuple[int, int],
    ) -> list[ReportRow]:
        """Fold the window into buckets: whole minutes from their aggregates, the rest raw."""
        folder = _Folder(request, datastreams)
        ids = [ds.id for ds in datastreams]
        scanned = 0

        def cover(points: int) -> None:
            nonlocal scanned
            scanned += points
            if scanned > self._max_scanned:
                raise ReportTooLarge(f"more than {self._max_scanned} points")

        def fold(row: HistoryRow) -> bool:
            cover(1)
            folder.bucket(row.datastream_id, row.ts).add(row.num)
            return True

        since, until = window
        first = last = since  # the whole minutes [first, last) come from the aggregates
        if folder.takes_minutes:
            first = min(-(-since // MINUTE_MS) * MINUTE_MS, until)
            last = max(first, until // MINUTE_MS * MINUTE_MS)
        await _scan(tx, device_id, ids, (since, first), fold)
        # Each (datastream, minute) is one row, so a slice of this many minutes is one chunk.
        step = max(1, READ_CHUNK // max(1, len(ids))) * MINUTE_MS
        for start in range(first, last, step):
            for minute in await tx.read_minutes(
                device_id, ids, since=start, until=min(start + step, last)
            ):
                cover(minute.count)
                folder.bucket(minute.datastream_id, minute.minute).merge(minute)
        await _scan(tx, device_id, ids, (last, until), fold)
        folder.flush()
        return folder.rows

    async def write_zip(self, device_id: DeviceId, report: Report, request: ReportRequest) -> str:
        """Write the report as a CSV inside a zip; return the file name (the link's last part)."""
        now = self._clock()

        def write() -> str:  # in a worker thread: 100,000 rows of CSV must not block the loop
            return write_zip(self._folder, device_id, now, _csv_text(report, request))

        return await asyncio.to_thread(write)

    async def open(self, name: str) -> BinaryIO | None:
        """A report file opened for reading, or None for a name that is not one or expired."""
        expiry = expires_at(name, self._ttl_ms)
        if expiry is None or expiry <= self._clock():
            return None
        return await asyncio.to_thread(open_file, self._folder / name)

    async def sweep(self) -> int:
        """Delete the expired report files; return how many."""
        now = self._clock()
        return await asyncio.to_thread(delete_expired, self._folder, now=now, ttl_ms=self._ttl_ms)

    async def sweep_forever(self) -> None:
        """Sweep now, then every ``SWEEP_INTERVAL_MS`` (or TTL, if shorter) until cancelled."""
        interval_s = max(MIN_SWEEP_INTERVAL_MS, min(SWEEP_INTERVAL_MS, self._ttl_ms)) / 1000
        while True:
            try:
                deleted = await self.sweep()
            except Exception:
                logger.exception("reports.sweep_failed")
            else:
                if deleted:
                    logger.info("reports.expired files=%d", deleted)
            await asyncio.sleep(interval_s)


async def _scan(
    tx: Transaction,
    device_id: DeviceId,
    ids: Sequence[DatastreamId],
    window: tuple[int, int],
    sink: Callable[[HistoryRow], bool],
) -> None:
    """Feed every point of the window to ``sink``, oldest first, until it returns False.

    Pages by timestamp. Points sharing the last timestamp of a page may continue on the next
    one, so the next page starts at that timestamp and skips the ones already fed.
    """
    cursor, until = window
    skip = 0
    while True:
        page = await tx.read_history(
            device_id, ids, since=cursor, until=until, limit=READ_CHUNK + skip
        )
        for row in page[skip:]:
            if not sink(row):
                return
        if len(page) < READ_CHUNK + skip:
            return
        cursor = page[-1].ts
        skip = sum(1 for row in page if row.ts == cursor)


def _csv_text(report: Report, request: ReportRequest) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in report.rows:
        writer.writerow((row.name, format_ts(row.ts, request.time_format, request.zone), row.value))
    return text.getvalue()
