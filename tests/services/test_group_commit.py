"""The group-commit writer: many callers share one transaction, each answered once durable."""

import asyncio
from pathlib import Path

import pytest

from pinbase.domain.deliveries import Delivery
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.points import Point
from pinbase.runtime import open_store
from pinbase.services import history_writer
from pinbase.services.history_writer import HistoryWriter, StorageUnavailable
from pinbase.settings import Settings
from pinbase.storage.base import Store


class CountingStore:
    """A real SQLite store that also counts how many transactions ``append_points`` made."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.groups: list[int] = []

    async def append_points(
        self, points: list[Point], *, current: list[Point], deliveries: list[Delivery]
    ) -> None:
        self.groups.append(len(points))
        await self.store.append_points(points, current=current, deliveries=deliveries)


def point(device: int, ts: int, value: int) -> Point:
    return Point(DeviceId(device), DatastreamId(1), ts, value)


async def test_concurrent_writes_share_few_transactions(tmp_path: Path) -> None:
    """200 concurrent writers are committed in far fewer than 200 transactions, none lost."""
    store = await open_store(Settings(data_dir=tmp_path))
    counting = CountingStore(store)
    writer = HistoryWriter(counting)  # type: ignore[arg-type]
    writer.start()
    await asyncio.gather(*(writer.write([point(1, n, n)]) for n in range(200)))
    await writer.stop()
    async with store.transaction() as tx:
        assert await tx.count_points() == 200
        (current,) = await tx.load_current_values()
    await store.close()
    assert sum(counting.groups) == 200
    assert len(counting.groups) < 20
    assert current.value == 199


async def test_huge_backlog_is_split_into_bounded_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No transaction holds more than MAX_GROUP_POINTS points (one oversized write aside)."""
    monkeypatch.setattr(history_writer, "MAX_GROUP_POINTS", 10)
    store = await open_store(Settings(data_dir=tmp_path))
    counting = CountingStore(store)
    writer = HistoryWriter(counting)  # type: ignore[arg-type]
    writer.start()
    await asyncio.gather(*(writer.write([point(1, n, n)] * 3) for n in range(20)))
    await writer.write([point(2, 0, 0)] * 25)
    await writer.stop()
    await store.close()
    assert sum(counting.groups) == 85
    assert max(counting.groups[:-1]) <= 12


class FailingStore:
    async def append_points(
        self, points: list[Point], *, current: list[Point], deliveries: list[Delivery]
    ) -> None:
        raise OSError("disk full")


async def test_failed_group_fails_every_caller() -> None:
    """When a commit fails, every writer of that group gets StorageUnavailable."""
    writer = HistoryWriter(FailingStore())  # type: ignore[arg-type]
    writer.start()
    results = await asyncio.gather(
        *(writer.write([point(1, n, n)]) for n in range(5)), return_exceptions=True
    )
    await writer.stop()
    assert all(isinstance(result, StorageUnavailable) for result in results)


async def test_writes_after_stop_are_refused(tmp_path: Path) -> None:
    """A stopped writer refuses new points instead of dropping them silently."""
    store = await open_store(Settings(data_dir=tmp_path))
    writer = HistoryWriter(store)
    writer.start()
    await writer.stop()
    with pytest.raises(StorageUnavailable):
        await writer.write([point(1, 1, 1)])
    await store.close()
