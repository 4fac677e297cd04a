"""History retention (``services.retention``) on SQLite and PostgreSQL, with a hand-moved clock.

Points are stored the way the group-commit writer stores them, raw rows, minute aggregates and
current values together; the sweep then runs as the background job runs it, minus the sleeping.
"""

from collections.abc import Sequence

import pytest

from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.points import Point
from pinbase.services.clock import DAY_MS
from pinbase.services.retention import Retention
from pinbase.settings import Settings
from pinbase.storage.base import Store
from pinbase.storage.retention import Aged
from pinbase.storage.sql import SqlStore

MINUTE_MS = 60_000
NOW = 1_760_000_040_000
"""The hand clock's now: the start of a UTC minute in 2025."""
RAW_DAYS, AGGREGATE_DAYS = 30, 90
DEVICE, OTHER = DeviceId(1), DeviceId(2)
LEVEL, TEMPERATURE = DatastreamId(1), DatastreamId(2)
SERIES = [(DEVICE, LEVEL), (DEVICE, TEMPERATURE), (OTHER, LEVEL)]


def retention(store: Store, **limits: int) -> Retention:
    """Retention of 30 days for raw points and 90 days for aggregates, as of ``NOW``."""
    return Retention(
        store,
        lambda: NOW,
        points_ms=RAW_DAYS * DAY_MS,
        minutes_ms=AGGREGATE_DAYS * DAY_MS,
        **limits,
    )


async def store_points(store: Store, stamps: Sequence[int]) -> None:
    """One point per series at each of ``stamps``, stored as one group commit stores them."""
    points = [Point(d, ds, ts, float(n)) for n, ts in enumerate(stamps) for d, ds in SERIES]
    newest = [Point(d, ds, max(stamps), 99.0) for d, ds in SERIES]
    await store.append_points(points, current=newest)


def every_series(times: list[int]) -> dict[tuple[int, int], list[int]]:
    """The same row times for every series."""
    return {key: list(times) for key in SERIES}


async def stamps(store: Store, table: Aged) -> dict[tuple[int, int], list[int]]:
    """The times of the rows left in ``table``, per series, oldest first."""
    left: dict[tuple[int, int], list[int]] = {}
    async with store.transaction() as tx:
        for device_id, datastream_id in SERIES:
            if table is Aged.POINTS:
                rows = await tx.read_history(
                    device_id, [datastream_id], since=0, until=2**62, limit=10_000
                )
                left[device_id, datastream_id] = [row.ts for row in rows]
            else:
                minutes = await tx.read_minutes(device_id, [datastream_id], since=0, until=2**62)
                left[device_id, datastream_id] = [row.minute for row in minutes]
    return left


async def test_points_and_minutes_past_their_age_go_and_newer_ones_stay(store: SqlStore) -> None:
    """Raw points older than 30 days and minutes older than 90 go; everything newer stays."""
    raw_cutoff, minute_cutoff = NOW - RAW_DAYS * DAY_MS, NOW - AGGREGATE_DAYS * DAY_MS
    old = [minute_cutoff - DAY_MS, minute_cutoff - MINUTE_MS]  # past both ages
    middle = [raw_cutoff - DAY_MS, raw_cutoff - 1]  # past the raw age only
    young = [raw_cutoff, NOW - 1]  # past neither
    await store_points(store, old + middle + young)

    swept = await retention(store).sweep()

    assert swept.points == len(SERIES) * len(old + middle)
    assert swept.minutes == len(SERIES) * len(old)
    assert await stamps(store, Aged.POINTS) == every_series(young)
    assert await stamps(store, Aged.MINUTES) == every_series(
        [ts - ts % MINUTE_MS for ts in middle + young]
    )


async def test_current_values_stay_when_all_history_is_past_its_age(store: SqlStore) -> None:
    """A series whose every point is old keeps its current value: retention ages history only."""
    await store_points(store, [NOW - 400 * DAY_MS, NOW - 200 * DAY_MS])

    swept = await retention(store).sweep()

    assert (swept.points, swept.minutes) == (2 * len(SERIES), 2 * len(SERIES))
    async with store.transaction() as tx:
        current = await tx.load_current_values()
        assert await tx.count_points() == 0
    assert sorted((p.device_id, p.datastream_id, p.ts, p.value) for p in current) == [
        (d, ds, NOW - 200 * DAY_MS, 99.0) for d, ds in sorted(SERIES)
    ]


async def test_a_minute_goes_only_once_all_of_it_is_past_the_age(store: SqlStore) -> None:
    """The minute holding the aggregate cutoff keeps its row, though some of its points are old."""
    cutoff = NOW - AGGREGATE_DAYS * DAY_MS + 30_000  # half way through a minute
    await store_points(store, [cutoff - 20_000, cutoff + 20_000])
    sweeper = Retention(
        store,
        lambda: NOW + 30_000,
        points_ms=AGGREGATE_DAYS * DAY_MS,
        minutes_ms=AGGREGATE_DAYS * DAY_MS,
    )

    swept = await sweeper.sweep()

    assert (swept.points, swept.minutes) == (len(SERIES), 0)
    assert await stamps(store, Aged.MINUTES) == every_series([cutoff - 30_000])


async def test_a_sweep_deletes_in_batches_of_at_most_max_rows(store: SqlStore) -> None:
    """With room for 4 rows a batch, 3 series of 5 old points take at least 4 batches, all go."""
    await store_points(store, [NOW - 365 * DAY_MS + n for n in range(5)])

    swept = await retention(store, max_rows=4).sweep()

    assert swept.points == 15
    assert swept.batches >= 4 + 1  # 15 points need 4 batches, the 3 old minutes one more
    assert await stamps(store, Aged.POINTS) == every_series([])


async def test_one_delete_removes_at_most_its_limit_oldest_first(store: SqlStore) -> None:
    """``delete_older`` deletes only ``limit`` rows of one series, the oldest ones."""
    old = [NOW - 365 * DAY_MS + n for n in range(5)]
    await store_points(store, old)

    async with store.transaction() as tx:
        deleted = await tx.delete_older(Aged.POINTS, (DEVICE, LEVEL), before=NOW, limit=3)

    assert deleted == 3
    left = await stamps(store, Aged.POINTS)
    assert left == {(DEVICE, LEVEL): old[3:], (DEVICE, TEMPERATURE): old, (OTHER, LEVEL): old}


async def test_series_are_found_in_key_order_in_both_tables(store: SqlStore) -> None:
    """``next_series`` walks every series holding rows, in (device, datastream) order."""
    await store_points(store, [NOW])
    for table in Aged:
        found, after = [], None
        async with store.transaction() as tx:
            while (after := await tx.next_series(table, after=after)) is not None:
                found.append(after)
        assert found == sorted(SERIES)


async def test_an_age_of_zero_keeps_everything(store: SqlStore) -> None:
    """0 days is forever: nothing is deleted, however old."""
    await store_points(store, [1_000, NOW - 10_000 * DAY_MS])

    swept = await Retention(store, lambda: NOW, points_ms=0, minutes_ms=0).sweep()

    assert (swept.points, swept.minutes, swept.batches) == (0, 0, 0)
    async with store.transaction() as tx:
        assert await tx.count_points() == 2 * len(SERIES)


@pytest.mark.parametrize(("points", "minutes"), [(30, 10), (0, 400)])
def test_aggregates_kept_shorter_than_raw_points_are_refused(points: int, minutes: int) -> None:
    """A setting that would delete minutes whose raw points remain is an error."""
    with pytest.raises(ValueError, match="aggregate_retention_days must be at least"):
        Settings(history_retention_days=points, aggregate_retention_days=minutes)
