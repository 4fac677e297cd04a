"""Groups of points as the group-commit writer stores them, on every backend and append path.

PostgreSQL stores a group with one statement (``point_writes.POSTGRES_APPEND``: unnest arrays,
data-modifying ``WITH`` clauses), SQLite with three; these tests hold both to the same results:
the same rows in the same order, the same minute aggregates and the same current values.
"""

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Sequence

import asyncpg
import pytest
from sqlalchemy import NullPool, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from test_contract import (
    COUNTER,
    MESSAGE,
    POSITION,
    SWITCH,
    T0,
    TEMPERATURE,
    Append,
    add_devices,
    append_in_transaction,
    append_with_store,
)
from test_minutes import M0, MINUTE, minute

from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.points import Point
from pinbase.runtime import open_store
from pinbase.settings import Settings
from pinbase.storage.base import HistoryRow, MinuteRow, Store

HUGE_TEXT = "x" * 1_000_000 + "\\ and \0"
"""A megabyte of text, with the characters history escapes (``codec.escape_text``) at its end."""


@pytest.fixture(params=[append_with_store, append_in_transaction], ids=["store", "transaction"])
def append(request: pytest.FixtureRequest) -> Append:
    """Each of the two ways to append points."""
    chosen: Append = request.param
    return chosen


def expected_minutes(points: Sequence[Point]) -> list[MinuteRow]:
    """The minute rows of numeric ``points``, ordered as ``read_minutes`` answers."""
    values: dict[tuple[int, int], list[float]] = defaultdict(list)
    for point in points:
        assert isinstance(point.value, int | float)
        values[(point.ts - point.ts % MINUTE, point.datastream_id)].append(float(point.value))
    return [
        minute(DatastreamId(datastream_id), start, found)
        for (start, datastream_id), found in sorted(values.items())
    ]


async def history_of(store: Store, device_id: DeviceId, datastream_id: DatastreamId) -> list[float]:
    """The numbers of one series, oldest first (ties in the order they were stored)."""
    async with store.transaction() as tx:
        rows = await tx.read_history(
            device_id, [datastream_id], since=0, until=2**62, limit=1_000_000
        )
    return [row.num for row in rows if row.num is not None]


async def test_a_large_group_stores_every_point_minute_and_current_value(
    store: Store, append: Append
) -> None:
    """6,000 points of 20 devices over five minutes: history, minutes and newest values match."""
    devices = await add_devices(store, 20)
    points = [
        Point(device.id, stream, M0 + n * 3_001 + offset, n * 0.5 - offset if offset else n)
        for n in range(100)
        for offset, stream in enumerate((COUNTER, TEMPERATURE, MESSAGE))
        for device in devices
    ]
    newest = {(p.device_id, p.datastream_id): p for p in points}
    await append(store, points, list(newest.values()))
    async with store.transaction() as tx:
        assert await tx.count_points() == 6_000
        assert set(await tx.load_current_values()) == set(newest.values())
    for device in devices[::7]:
        own = [p for p in points if p.device_id == device.id]
        for stream in (COUNTER, TEMPERATURE):
            series = [p.value for p in own if p.datastream_id == stream]
            assert await history_of(store, device.id, stream) == series
        async with store.transaction() as tx:
            stored = await tx.read_minutes(
                device.id, [COUNTER, TEMPERATURE, MESSAGE], since=0, until=2**62
            )
        assert stored == expected_minutes(own)
        assert len({row.minute for row in stored}) == 5


async def test_points_of_one_timestamp_keep_the_order_of_their_group(
    store: Store, append: Append
) -> None:
    """Equal timestamps in one group read back in the group's order, and the later one counts
    as the minute's last text and as the current value."""
    (device,) = await add_devices(store, 1)
    points = [
        Point(device.id, MESSAGE, T0, "first"),
        Point(device.id, MESSAGE, T0, "second"),
        Point(device.id, MESSAGE, T0, "third"),
        Point(device.id, COUNTER, T0, 3),
        Point(device.id, COUNTER, T0, 1),
        Point(device.id, COUNTER, T0, 2),
    ]
    await append(store, points, points)
    async with store.transaction() as tx:
        rows = await tx.read_history(device.id, [MESSAGE], since=T0, until=T0 + 1, limit=9)
        page = await tx.read_history_page(
            device.id, MESSAGE, since=T0, until=T0 + 1, offset=0, limit=9
        )
        current = await tx.load_current_values()
        stored = await tx.read_minutes(device.id, [COUNTER, MESSAGE], since=0, until=2**62)
    assert [row.text for row in rows] == ["first", "second", "third"]
    assert [row.text for row in page] == ["third", "second", "first"]
    assert await history_of(store, device.id, COUNTER) == [3.0, 1.0, 2.0]
    assert sorted(current, key=lambda p: p.datastream_id) == [
        Point(device.id, COUNTER, T0, 2),
        Point(device.id, MESSAGE, T0, "third"),
    ]
    start = T0 - T0 % MINUTE
    assert stored == [minute(COUNTER, start, [3, 1, 2]), minute(MESSAGE, start, [], count=3)]


async def test_several_current_values_of_one_series_in_a_call_keep_the_newest(
    store: Store, append: Append
) -> None:
    """Given one series several times, the newest becomes current; of a tie, the later one."""
    (device,) = await add_devices(store, 1)
    current = [
        Point(device.id, COUNTER, T0 + 5, 1),
        Point(device.id, COUNTER, T0 + 9, 2),
        Point(device.id, COUNTER, T0 + 1, 3),
        Point(device.id, COUNTER, T0 + 9, 4),
        Point(device.id, TEMPERATURE, T0, 0.5),
    ]
    await append(store, [], current)
    await append(store, [], [Point(device.id, TEMPERATURE, T0 - 1, 9.5)])
    async with store.transaction() as tx:
        stored = sorted(await tx.load_current_values(), key=lambda p: p.datastream_id)
    assert stored == [Point(device.id, COUNTER, T0 + 9, 4), Point(device.id, TEMPERATURE, T0, 0.5)]


async def test_huge_text_extreme_numbers_and_empty_columns_round_trip(
    store: Store, append: Append
) -> None:
    """A megabyte of text, the largest doubles and exact 2**53 round-trip in history and as
    current values; numbers leave ``text`` NULL and text leaves ``num`` NULL."""
    (device,) = await add_devices(store, 1)
    points = [
        Point(device.id, MESSAGE, T0, HUGE_TEXT),
        Point(device.id, MESSAGE, T0 + 1, ""),
        Point(device.id, TEMPERATURE, T0, 1.7976931348623157e308),
        Point(device.id, TEMPERATURE, T0 + 1, -1.7976931348623157e308),
        Point(device.id, COUNTER, T0, 2**53),
        Point(device.id, POSITION, T0, (-180.0, 90.0)),
        Point(device.id, SWITCH, T0, False),
    ]
    await append(store, points, [points[0], *points[3:]])
    async with store.transaction() as tx:
        rows = await tx.read_history(
            device.id,
            [MESSAGE, TEMPERATURE, COUNTER, POSITION, SWITCH],
            since=0,
            until=2**62,
            limit=99,
        )
        current = {p.datastream_id: p.value for p in await tx.load_current_values()}
        stored = await tx.read_minutes(device.id, [TEMPERATURE], since=0, until=2**62)
    assert sorted(rows, key=lambda row: (row.ts, row.datastream_id)) == [
        HistoryRow(datastream_id=COUNTER, ts=T0, num=float(2**53), text=None),
        HistoryRow(datastream_id=TEMPERATURE, ts=T0, num=1.7976931348623157e308, text=None),
        HistoryRow(datastream_id=MESSAGE, ts=T0, num=None, text=HUGE_TEXT),
        HistoryRow(datastream_id=POSITION, ts=T0, num=None, text="[-180.0,90.0]"),
        HistoryRow(datastream_id=SWITCH, ts=T0, num=0.0, text=None),
        HistoryRow(datastream_id=TEMPERATURE, ts=T0 + 1, num=-1.7976931348623157e308, text=None),
        HistoryRow(datastream_id=MESSAGE, ts=T0 + 1, num=None, text=""),
    ]
    assert current == {
        MESSAGE: HUGE_TEXT,
        TEMPERATURE: -1.7976931348623157e308,
        COUNTER: 2**53,
        POSITION: (-180.0, 90.0),
        SWITCH: False,
    }
    (row,) = stored
    assert (row.low, row.high, row.count) == (-1.7976931348623157e308, 1.7976931348623157e308, 2)


@pytest.mark.parametrize(
    "settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_groups_after_the_server_closed_the_pooled_connections_commit(
    settings: Settings, store: Store
) -> None:
    """Connections the server closed while they idled in the pool (a restart) are skipped: the
    next groups commit on new ones."""
    (device,) = await add_devices(store, 1)
    await store.append_points([Point(device.id, COUNTER, T0, 1)], current=[])
    assert settings.database_url is not None
    admin = create_async_engine(settings.database_url, poolclass=NullPool)
    try:
        async with admin.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        await admin.dispose()
    acknowledged = [1]
    for value in (2, 3):
        # The first may meet its connection's end before the driver has seen it: that group
        # fails (nothing acknowledged) and the connection leaves the pool.
        with contextlib.suppress(asyncpg.InterfaceError, asyncpg.PostgresConnectionError):
            await store.append_points([Point(device.id, COUNTER, T0 + value, value)], current=[])
            acknowledged.append(value)
    assert acknowledged[-1] == 3
    assert await history_of(store, device.id, COUNTER) == acknowledged


class EndHoldingProxy:
    """A TCP relay to PostgreSQL that keeps the client's socket open after the server closed
    its side: the client gets the server's last words (a terminated backend's FATAL) but not
    the end of the connection, the order a loaded machine may deliver them in."""

    def __init__(self, host: str, port: int) -> None:
        self._upstream = (host, port)
        self.server_ends = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self._held: list[asyncio.StreamWriter] = []
        self._holding = True

    async def start(self) -> int:
        """Listen on loopback; the port."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def release(self) -> None:
        """Stop holding: close the client sockets whose server side ended, and any later one."""
        self._holding = False
        for writer in self._held:
            writer.close()

    async def close(self) -> None:
        self._server.close()
        for writer in self._writers:
            writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._writers += [writer, up_writer]
        for task in (
            asyncio.create_task(self._copy(reader, up_writer, hold_end=False)),
            asyncio.create_task(self._copy(up_reader, writer, hold_end=True)),
        ):
            self._tasks.add(task)

    async def _copy(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, hold_end: bool
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        if hold_end and self._holding:
            self._held.append(writer)
            self.server_ends.set()
        else:
            writer.close()


@pytest.mark.parametrize(
    "settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_group_skips_a_connection_whose_server_said_goodbye_before_its_socket_closed(
    settings: Settings,
) -> None:
    """A pooled connection that got a terminated backend's FATAL but not yet the socket's end is
    refused by the driver before it sends anything: the group commits on a new connection."""
    assert settings.database_url is not None
    url = make_url(settings.database_url)
    assert url.host is not None
    assert url.port is not None
    proxy = EndHoldingProxy(url.host, url.port)
    relayed = settings.model_copy(
        update={
            "database_url": url.set(host="127.0.0.1", port=await proxy.start()).render_as_string(
                hide_password=False
            )
        }
    )
    store = await open_store(relayed)
    try:
        (device,) = await add_devices(store, 1)
        await store.append_points([Point(device.id, COUNTER, T0, 1)], current=[])
        admin = create_async_engine(settings.database_url, poolclass=NullPool)
        try:
            async with admin.connect() as connection:
                await connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
        finally:
            await admin.dispose()
        await asyncio.wait_for(proxy.server_ends.wait(), 10)
        # The FATAL is on the loopback socket; a few turns of the loop hand it to the driver.
        await asyncio.sleep(0.1)
        await asyncio.wait_for(
            store.append_points([Point(device.id, COUNTER, T0 + 1, 2)], current=[]), 10
        )
        proxy.release()
        assert await history_of(store, device.id, COUNTER) == [1, 2]
    finally:
        await store.close()
        await proxy.close()
