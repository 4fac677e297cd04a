"""The group-commit writer: many callers share one transaction, each answered once durable."""

import asyncio
from pathlib import Path

import pytest

from pinbase.domain.deliveries import Delivery
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.points import Point
from pinbase.runtime import open_store
from pinbase.services import history_writer
from pinbase.services.group_commit import GroupCommit
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


class GatedCommits:
    """A commit function whose groups each wait for their own gate, recording what they hold."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.gates: list[asyncio.Event] = []
        self.started = asyncio.Event()

    async def commit(self, items: list[int], extras: list[None]) -> None:
        gate = asyncio.Event()
        self.groups.append(items)
        self.gates.append(gate)
        self.started.set()
        await gate.wait()

    async def next_group(self) -> list[int]:
        """Wait until one more group has started, and return its items."""
        self.started.clear()
        await self.started.wait()
        return self.groups[-1]


async def settled() -> None:
    """Let every ready task run until none has more to do without outside events."""
    for _ in range(20):
        await asyncio.sleep(0)


async def test_groups_in_flight_commit_side_by_side_each_answering_its_own_callers() -> None:
    """With two groups in flight a second group commits while the first waits; each caller is
    answered when its own group commits, and a third group waits for a free slot."""
    commits = GatedCommits()
    groups: GroupCommit[int, None] = GroupCommit(
        commits.commit, name="test", max_items=100, max_in_flight=2
    )
    groups.start()
    first = asyncio.create_task(groups.submit([1]))
    assert await commits.next_group() == [1]
    second = [asyncio.create_task(groups.submit([n])) for n in (2, 3)]
    assert await commits.next_group() == [2, 3]
    third = asyncio.create_task(groups.submit([4]))
    await settled()
    assert len(commits.groups) == 2, "a third group started with two in flight"
    commits.gates[1].set()
    await asyncio.gather(*second)
    assert not first.done()
    assert await commits.next_group() == [4]
    commits.gates[0].set()
    commits.gates[2].set()
    await asyncio.gather(first, third)
    await groups.stop()


async def test_stop_waits_for_every_group_in_flight() -> None:
    """``stop`` returns only after the groups in flight and the pending items are committed."""
    commits = GatedCommits()
    groups: GroupCommit[int, None] = GroupCommit(
        commits.commit, name="test", max_items=100, max_in_flight=2
    )
    groups.start()
    callers = [asyncio.create_task(groups.submit([1]))]
    await commits.next_group()
    callers.append(asyncio.create_task(groups.submit([2])))
    await commits.next_group()
    callers.append(asyncio.create_task(groups.submit([3])))
    await settled()
    stopping = asyncio.create_task(groups.stop())
    await settled()
    assert not stopping.done()
    commits.gates[0].set()
    assert await commits.next_group() == [3]
    commits.gates[1].set()
    await settled()
    assert not stopping.done()
    commits.gates[2].set()
    await stopping
    await asyncio.gather(*callers)
    assert commits.groups == [[1], [2], [3]]


def test_no_groups_in_flight_is_refused() -> None:
    """A group commit with fewer than one group in flight is a programming error."""
    with pytest.raises(ValueError, match="at least 1"):
        GroupCommit(GatedCommits().commit, name="test", max_items=1, max_in_flight=0)
