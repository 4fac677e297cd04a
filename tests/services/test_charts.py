"""Chart series (services/charts.py) over a real SQLite store and a fixed clock."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pinbase.domain.errors import UnknownDatastream
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.points import Point
from pinbase.domain.value_types import Value
from pinbase.runtime import open_store
from pinbase.services.charts import (
    DAY_MS,
    MAX_POINTS_PER_SERIES,
    MAX_SERIES,
    MINUTE_MS,
    RANGE_RULES,
    ChartRange,
    Charts,
    TooManySeries,
)
from pinbase.services.directory import BoundDevice, Directory
from pinbase.services.provisioning import parse_spec, provision
from pinbase.settings import Settings
from pinbase.storage.base import Store

NOW = 1_760_000_123_456
"""A moment in 2025, inside a five-minute bucket and a minute."""
LEVEL, TEMPERATURE, NOTE = DatastreamId(1), DatastreamId(2), DatastreamId(3)

SPEC = {
    "organization": {"name": "Charts"},
    "templates": [
        {
            "name": "Sensor",
            "datastreams": [
                {"id": 1, "label": "Level", "pin": 1, "type": "DOUBLE"},
                {"id": 2, "label": "Temperature", "pin": 2, "type": "DOUBLE"},
                {"id": 3, "label": "Note", "pin": 3, "type": "STRING"},
            ],
        }
    ],
    "devices": [{"name": "Tank", "template": "Sensor"}],
}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A migrated SQLite store in ``tmp_path``."""
    opened = await open_store(Settings(data_dir=tmp_path, database_url=None))
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def tank(store: Store) -> BoundDevice:
    """The provisioned device with its template."""
    created = await provision(store, parse_spec(SPEC), clock=lambda: NOW)
    bound = await Directory(store).find_by_id(DeviceId(created["devices"][0]["id"]))
    assert bound is not None
    return bound


def charts(store: Store) -> Charts:
    """The service at ``NOW``."""
    return Charts(store, lambda: NOW)


async def store_points(
    store: Store, tank: BoundDevice, *points: tuple[DatastreamId, int, Value]
) -> None:
    """Store ``(datastream, ts, value)`` points of the tank, as one group commit."""
    device_id = tank.device.id
    await store.append_points(
        [Point(device_id, ds, ts, value) for ds, ts, value in points],
        current=[],
    )


def test_no_range_sends_more_than_the_limit_per_series() -> None:
    """Every range's window holds at most MAX_POINTS_PER_SERIES buckets (Live: 900 seconds)."""
    for rule in RANGE_RULES.values():
        assert rule.window_ms // (rule.bucket_ms or 1_000) <= MAX_POINTS_PER_SERIES


async def test_a_day_folds_minutes_into_exact_five_minute_buckets(
    store: Store, tank: BoundDevice
) -> None:
    """1d: Avg/Min/Max per 5-minute bucket are exact, empty buckets give no point, text none."""
    bucket = NOW - NOW % (5 * MINUTE_MS)
    await store_points(
        store,
        tank,
        (LEVEL, bucket + 1_000, 1.0),
        (LEVEL, bucket + MINUTE_MS + 2_000, 2.0),
        (LEVEL, bucket + 3 * MINUTE_MS, 6.0),  # a later minute of the current bucket
        (LEVEL, bucket - 20 * MINUTE_MS, 10.0),
        (LEVEL, bucket - DAY_MS - MINUTE_MS, 99.0),  # before the window
        (TEMPERATURE, bucket - 10 * MINUTE_MS + 5, -4.5),
        (NOTE, bucket + 1_000, "no number"),
    )
    chart = await charts(store).chart(tank, [LEVEL, TEMPERATURE, NOTE], chart_range=ChartRange.DAY)
    assert (chart.until, chart.until - chart.since) == (bucket + 5 * MINUTE_MS, DAY_MS)
    assert chart.bucket_ms == 5 * MINUTE_MS
    level, temperature, note = chart.series
    assert level.datastream_id == LEVEL
    assert level.points == ((bucket - 20 * MINUTE_MS, 10.0, 10.0, 10.0), (bucket, 3.0, 1.0, 6.0))
    assert temperature.points == ((bucket - 10 * MINUTE_MS, -4.5, -4.5, -4.5),)
    assert note.points == ()


async def test_three_months_fold_into_utc_days(store: Store, tank: BoundDevice) -> None:
    """3mo: one point per UTC day, averaging every point of the day."""
    today = NOW - NOW % DAY_MS
    await store_points(
        store,
        tank,
        (LEVEL, today - 30 * DAY_MS + 1, 4.0),
        (LEVEL, today - 30 * DAY_MS + DAY_MS - 1, 8.0),
        (LEVEL, today - 80 * DAY_MS, 1.0),
    )
    chart = await charts(store).chart(tank, [LEVEL], chart_range=ChartRange.QUARTER)
    assert chart.series[0].points == (
        (today - 80 * DAY_MS, 1.0, 1.0, 1.0),
        (today - 30 * DAY_MS, 6.0, 4.0, 8.0),
    )


async def test_live_sends_raw_points_of_the_last_15_minutes(
    store: Store, tank: BoundDevice
) -> None:
    """Live: the raw points themselves, at their own times, oldest first."""
    await store_points(
        store,
        tank,
        (LEVEL, NOW - 16 * MINUTE_MS, 1.0),
        (LEVEL, NOW - 14 * MINUTE_MS + 7, 2.0),
        (LEVEL, NOW, 3.0),
    )
    chart = await charts(store).chart(tank, [LEVEL], chart_range=ChartRange.LIVE)
    assert chart.bucket_ms is None
    assert chart.series[0].points == (
        (NOW - 14 * MINUTE_MS + 7, 2.0, 2.0, 2.0),
        (NOW, 3.0, 3.0, 3.0),
    )


async def test_live_folds_a_busy_series_into_seconds(store: Store, tank: BoundDevice) -> None:
    """Live: a series with more than the limit in 15 minutes comes in one-second buckets."""
    start = NOW - 10_000
    busy = [(LEVEL, start + n * 5, float(n % 200)) for n in range(2_000)]  # 200 points a second
    await store_points(store, tank, *busy, (TEMPERATURE, NOW - 1, 7.0))
    chart = await charts(store).chart(tank, [LEVEL, TEMPERATURE], chart_range=ChartRange.LIVE)
    level, temperature = chart.series
    assert len(level.points) == 11  # ten whole seconds and a part
    assert all(low == 0.0 and high == 199.0 for _, _, low, high in level.points[1:-1])
    assert sum(avg for _, avg, _, _ in level.points[1:-1]) == pytest.approx(9 * 99.5)
    assert temperature.points == ((NOW - 1, 7.0, 7.0, 7.0),)


async def test_datastreams_outside_the_template_are_refused(
    store: Store, tank: BoundDevice
) -> None:
    """An id the template lacks is refused, as are more than MAX_SERIES ids; repeats count once."""
    with pytest.raises(UnknownDatastream):
        await charts(store).chart(tank, [LEVEL, DatastreamId(9)], chart_range=ChartRange.HOUR)
    with pytest.raises(TooManySeries):
        await charts(store).chart(
            tank, [DatastreamId(n) for n in range(MAX_SERIES + 1)], chart_range=ChartRange.HOUR
        )
    chart = await charts(store).chart(tank, [LEVEL] * (MAX_SERIES + 1), chart_range=ChartRange.HOUR)
    assert [s.datastream_id for s in chart.series] == [LEVEL]
