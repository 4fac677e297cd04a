"""Per-minute history aggregates (``storage.point_writes``), on every backend and append path.

Same rules as ``test_contract.py``: each test gets an empty, migrated database.
"""

from collections.abc import Sequence

import pytest
from alembic import command
from sqlalchemy import Connection, select, text
from test_contract import (
    COUNTER,
    MESSAGE,
    T0,
    TEMPERATURE,
    Append,
    add_devices,
    append_in_transaction,
    append_with_store,
)

from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.points import Point
from pinbase.settings import Settings
from pinbase.storage import schema
from pinbase.storage.base import MinuteRow, Store
from pinbase.storage.engines import create_engine, database_url
from pinbase.storage.migrate import alembic_config
from pinbase.storage.sql import SqlStore

MINUTE = 60_000
M0 = T0 - T0 % MINUTE
"""The start of a minute in 2025."""


@pytest.fixture(params=[append_with_store, append_in_transaction], ids=["store", "transaction"])
def append(request: pytest.FixtureRequest) -> Append:
    """Each of the two ways to append points: both fold the minutes."""
    chosen: Append = request.param
    return chosen


def minute(
    datastream_id: DatastreamId, start: int, values: Sequence[float], *, count: int | None = None
) -> MinuteRow:
    """The expected row of a minute holding ``values`` (and ``count`` points in all)."""
    return MinuteRow(
        datastream_id=datastream_id,
        minute=start,
        count=len(values) if count is None else count,
        num_count=len(values),
        low=min(values) if values else None,
        high=max(values) if values else None,
        total=sum(values) if values else None,
    )


async def minutes(store: Store, device_id: DeviceId, since: int = 0) -> list[MinuteRow]:
    """Every minute row of the device's counter, temperature and message series."""
    async with store.transaction() as tx:
        return await tx.read_minutes(
            device_id, [COUNTER, TEMPERATURE, MESSAGE], since=since, until=2**62
        )


async def last_texts(store: SqlStore, device_id: DeviceId) -> list[tuple[int, int, str | None]]:
    """``(minute, last_ts, last_text)`` of the device's message series."""
    table = schema.history_minutes
    async with store.transaction() as tx:
        rows = await tx._db.execute(
            select(table.c.minute, table.c.last_ts, table.c.last_text)
            .where(table.c.device_id == device_id, table.c.datastream_id == MESSAGE)
            .order_by(table.c.minute)
        )
        return [(r.minute, r.last_ts, r.last_text) for r in rows]


async def test_a_group_folds_into_one_row_per_series_and_minute(
    store: SqlStore, append: Append
) -> None:
    """Points are grouped by UTC minute: counts, numeric min/max/sum, and text counted only."""
    (device,) = await add_devices(store, 1)
    await append(
        store,
        [
            Point(device.id, COUNTER, M0 + 1_000, 10),
            Point(device.id, COUNTER, M0 + 59_999, 30),
            Point(device.id, TEMPERATURE, M0 + 2_000, 1.5),
            Point(device.id, COUNTER, M0 + 2_000, 20),
            Point(device.id, COUNTER, M0 + MINUTE, 5),
            Point(device.id, MESSAGE, M0 + 1_000, "a"),
            Point(device.id, MESSAGE, M0 + 3_000, "b"),
            Point(device.id, MESSAGE, M0 + 2_000, "c"),
        ],
        [],
    )
    assert await minutes(store, device.id) == [
        minute(COUNTER, M0, [10, 30, 20]),
        minute(TEMPERATURE, M0, [1.5]),
        minute(MESSAGE, M0, [], count=3),
        minute(COUNTER, M0 + MINUTE, [5]),
    ]
    assert await last_texts(store, device.id) == [(M0, M0 + 3_000, "b")]


async def test_later_groups_and_back_dated_points_merge_into_stored_minutes(
    store: SqlStore, append: Append
) -> None:
    """A later group, even one dated back, merges into its minute's row instead of adding one."""
    (device,) = await add_devices(store, 1)
    await append(
        store,
        [Point(device.id, COUNTER, M0 + 30_000, 10), Point(device.id, MESSAGE, M0 + 30_000, "x")],
        [],
    )
    await append(
        store,
        [
            Point(device.id, COUNTER, M0 + 1_000, -4),
            Point(device.id, COUNTER, M0 + 50_000, 12.5),
            Point(device.id, MESSAGE, M0 + 1_000, "older"),
        ],
        [],
    )
    assert await minutes(store, device.id) == [
        minute(COUNTER, M0, [10, -4, 12.5]),
        minute(MESSAGE, M0, [], count=2),
    ]
    assert await last_texts(store, device.id) == [(M0, M0 + 30_000, "x")]
    await append(store, [Point(device.id, MESSAGE, M0 + 30_000, "same time, later")], [])
    assert await last_texts(store, device.id) == [(M0, M0 + 30_000, "same time, later")]


async def test_a_text_minute_then_numbers_keeps_min_and_max(store: Store, append: Append) -> None:
    """A minute that held text only gets its numeric aggregates from the first numbers."""
    (device,) = await add_devices(store, 1)
    await append(store, [Point(device.id, COUNTER, M0, "not a number")], [])
    await append(
        store, [Point(device.id, COUNTER, M0 + 1, 7), Point(device.id, COUNTER, M0, 3)], []
    )
    await append(store, [Point(device.id, COUNTER, M0 + 2, "again")], [])
    assert await minutes(store, device.id) == [minute(COUNTER, M0, [7, 3], count=4)]


async def test_minutes_are_read_by_device_series_and_window(store: Store, append: Append) -> None:
    """``since`` is inclusive, ``until`` exclusive; other devices and series stay out."""
    first, second = await add_devices(store, 2)
    await append(
        store,
        [Point(first.id, COUNTER, M0 + n * MINUTE, n) for n in range(4)]
        + [Point(first.id, TEMPERATURE, M0 + MINUTE, 0.5), Point(second.id, COUNTER, M0, 9)],
        [],
    )
    async with store.transaction() as tx:
        rows = await tx.read_minutes(first.id, [COUNTER], since=M0 + MINUTE, until=M0 + 3 * MINUTE)
        both = await tx.read_minutes(
            first.id, [TEMPERATURE, COUNTER], since=M0 + MINUTE, until=M0 + 2 * MINUTE
        )
        none = await tx.read_minutes(first.id, [], since=0, until=2**62)
    assert rows == [minute(COUNTER, M0 + MINUTE, [1]), minute(COUNTER, M0 + 2 * MINUTE, [2])]
    assert both == [minute(COUNTER, M0 + MINUTE, [1]), minute(TEMPERATURE, M0 + MINUTE, [0.5])]
    assert none == []


async def test_points_before_1970_land_in_the_minute_that_holds_them(
    store: Store, append: Append
) -> None:
    """Minutes round down, not toward zero, for negative timestamps."""
    (device,) = await add_devices(store, 1)
    await append(store, [Point(device.id, COUNTER, -1, 1), Point(device.id, COUNTER, 0, 2)], [])
    assert await minutes(store, device.id, since=-MINUTE) == [
        minute(COUNTER, -MINUTE, [1]),
        minute(COUNTER, 0, [2]),
    ]


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


async def test_migration_folds_the_history_stored_before_it(settings: Settings) -> None:
    """Upgrading a database with history builds the minute rows its points make up."""
    engine = create_engine(database_url(settings.data_dir, settings.database_url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, "0002")
            rows = [
                (1, 1, M0 + 1_000, 2.0, None),
                (1, 1, M0 + 2_000, 6.0, None),
                (1, 1, M0 + MINUTE, 1.0, None),
                (1, 3, M0 + 5_000, None, "late"),
                (1, 3, M0 + 4_000, None, "early"),
                (2, 1, M0, 8.0, None),
            ]
            await connection.execute(
                text(
                    "INSERT INTO history (device_id, datastream_id, ts, num, text) "
                    "VALUES (:d, :s, :ts, :num, :text)"
                ),
                [dict(zip(("d", "s", "ts", "num", "text"), row, strict=True)) for row in rows],
            )
            await connection.run_sync(_upgrade, "head")
            table = schema.history_minutes
            stored = await connection.execute(
                select(table).order_by(table.c.device_id, table.c.datastream_id, table.c.minute)
            )
            found = [tuple(row) for row in stored]
    finally:
        await engine.dispose()
    assert found == [
        (1, 1, M0, 2, 2, 2.0, 6.0, 8.0, M0 + 2_000, None),
        (1, 1, M0 + MINUTE, 1, 1, 1.0, 1.0, 1.0, M0 + MINUTE, None),
        (1, 3, M0, 2, 0, None, None, None, M0 + 5_000, "late"),
        (2, 1, M0, 1, 1, 8.0, 8.0, 8.0, M0, None),
    ]
