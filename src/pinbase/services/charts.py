"""Chart series from stored history, for the console's Chart widget (console.md §3.2).

Theory of operation. Each range has a window and a bucket width chosen so that no series sends
more than ``MAX_POINTS_PER_SERIES`` points. Ranges of an hour and more fold the per-minute
aggregates (``history_minutes``, docs/storage.md) into their buckets inside the database: their
buckets are whole minutes aligned to UTC, so each minute row falls into exactly one bucket and
Avg/Min/Max are exact (Avg from count and sum). The last bucket is the one holding "now", so the
newest point shows at once. Live reads the raw points of the last 15 minutes; a series holding
more than the limit there is folded into one-second buckets of raw points instead. Buckets
without a number (no point, or text only) give no point; the browser breaks the line there.

The caller resolves the device within its scope first: this service trusts the device it gets.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from pinbase.domain.errors import PinbaseError, UnknownDatastream
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.services.clock import FAR_FUTURE_MS, Clock
from pinbase.services.directory import BoundDevice
from pinbase.storage.base import BucketRow, HistoryRow, Store

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

MAX_POINTS_PER_SERIES = 1_000
"""Issue #9 item 6: about 1,000 points per series at most, whatever the range or the rate."""

MAX_SERIES = 10
"""Datastreams on one chart: a Chart widget shows a few; ten bound the work of one request."""

LIVE_BUCKET_MS = 1_000
"""Live falls back to one-second buckets when a series has more raw points than the limit:
15 minutes are 900 of them."""


class ChartRange(Enum):
    """The time ranges of the Chart widget; the value is the ``range`` query parameter."""

    LIVE = "live"
    HOUR = "1h"
    SIX_HOURS = "6h"
    DAY = "1d"
    WEEK = "1w"
    MONTH = "1mo"
    QUARTER = "3mo"


@dataclass(frozen=True, slots=True, kw_only=True)
class RangeRule:
    """How far back a range reaches and how wide its buckets are (None: raw points)."""

    window_ms: int
    bucket_ms: int | None


RANGE_RULES = {
    ChartRange.LIVE: RangeRule(window_ms=15 * MINUTE_MS, bucket_ms=None),
    ChartRange.HOUR: RangeRule(window_ms=HOUR_MS, bucket_ms=MINUTE_MS),
    ChartRange.SIX_HOURS: RangeRule(window_ms=6 * HOUR_MS, bucket_ms=MINUTE_MS),
    ChartRange.DAY: RangeRule(window_ms=DAY_MS, bucket_ms=5 * MINUTE_MS),
    ChartRange.WEEK: RangeRule(window_ms=7 * DAY_MS, bucket_ms=HOUR_MS),
    ChartRange.MONTH: RangeRule(window_ms=30 * DAY_MS, bucket_ms=HOUR_MS),
    ChartRange.QUARTER: RangeRule(window_ms=90 * DAY_MS, bucket_ms=DAY_MS),
}
"""console.md §3.2. Day buckets are UTC days (the spec's viewer time zone is not applied yet)."""

ChartPoint = tuple[int, float, float, float]
"""``(ts, avg, min, max)``: a bucket's start, or a raw point's time with its value thrice."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartSeries:
    """The points of one datastream, oldest first."""

    datastream_id: DatastreamId
    points: tuple[ChartPoint, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    """What a chart shows: the window ``[since, until)``, its bucket width and the series.

    ``bucket_ms`` is None for raw points (Live); the browser breaks a line where two buckets in
    a row are missing.
    """

    range: ChartRange
    since: int
    until: int
    bucket_ms: int | None
    series: tuple[ChartSeries, ...]


class TooManySeries(PinbaseError):
    """More datastreams than ``MAX_SERIES`` were asked for on one chart."""


class Charts:
    """Reads chart series from stored history."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def chart(
        self,
        bound: BoundDevice,
        datastream_ids: Sequence[DatastreamId],
        *,
        chart_range: ChartRange,
    ) -> Chart:
        """The series of ``datastream_ids`` of the device over ``chart_range``, ending now.

        Raises:
            UnknownDatastream: an id is not a datastream of the device's template.
            TooManySeries: more than ``MAX_SERIES`` distinct ids.
        """
        ids = list(dict.fromkeys(datastream_ids))
        if len(ids) > MAX_SERIES:
            raise TooManySeries(f"at most {MAX_SERIES} datastreams per chart")
        known = {ds.id for ds in bound.template.datastreams}
        for datastream_id in ids:
            if datastream_id not in known:
                raise UnknownDatastream(f"no datastream {datastream_id}")
        rule = RANGE_RULES[chart_range]
        now = self._clock()
        if rule.bucket_ms is None:
            since, until = now - rule.window_ms, now + 1
            series = await self._live(bound, ids, since=since, until=until)
        else:
            until = now - now % rule.bucket_ms + rule.bucket_ms  # the end of the current bucket
            since = until - rule.window_ms
            async with self._store.transaction() as tx:
                rows = await tx.read_minute_buckets(
                    bound.device.id, ids, since=since, until=until, bucket_ms=rule.bucket_ms
                )
            series = _series(ids, rows)
        return Chart(
            range=chart_range, since=since, until=until, bucket_ms=rule.bucket_ms, series=series
        )

    async def recent_points(
        self, device_id: DeviceId, datastream_id: DatastreamId, *, window_ms: int, limit: int
    ) -> Sequence[HistoryRow]:
        """Raw points of one datastream from ``window_ms`` ago on, oldest first, at most
        ``limit`` of them; points imported with future timestamps included (LEG-10 export)."""
        async with self._store.transaction() as tx:
            return await tx.read_history(
                device_id,
                [datastream_id],
                since=self._clock() - window_ms,
                until=FAR_FUTURE_MS,
                limit=limit,
            )

    async def _live(
        self, bound: BoundDevice, ids: Sequence[DatastreamId], *, since: int, until: int
    ) -> tuple[ChartSeries, ...]:
        """Raw points of each series, or its one-second buckets when it has too many."""
        series: list[ChartSeries] = []
        device_id = bound.device.id
        async with self._store.transaction() as tx:
            for datastream_id in ids:
                rows = await tx.read_history(
                    device_id,
                    [datastream_id],
                    since=since,
                    until=until,
                    limit=MAX_POINTS_PER_SERIES + 1,
                )
                if len(rows) <= MAX_POINTS_PER_SERIES:
                    points = tuple(
                        (row.ts, row.num, row.num, row.num) for row in rows if row.num is not None
                    )
                    series.append(ChartSeries(datastream_id=datastream_id, points=points))
                    continue
                buckets = await tx.read_point_buckets(
                    device_id,
                    [datastream_id],
                    since=since - since % LIVE_BUCKET_MS,  # whole UTC seconds
                    until=until,
                    bucket_ms=LIVE_BUCKET_MS,
                )
                series.extend(_series([datastream_id], buckets))
        return tuple(series)


def _series(ids: Sequence[DatastreamId], rows: Sequence[BucketRow]) -> tuple[ChartSeries, ...]:
    """One series per id, in the order asked, from bucket rows ordered by datastream and time."""
    points: dict[DatastreamId, list[ChartPoint]] = {datastream_id: [] for datastream_id in ids}
    for row in rows:
        points[row.datastream_id].append((row.start, row.total / row.count, row.low, row.high))
    return tuple(
        ChartSeries(datastream_id=datastream_id, points=tuple(points[datastream_id]))
        for datastream_id in ids
    )
