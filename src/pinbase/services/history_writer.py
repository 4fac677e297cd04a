"""Group commit: many requests' points in one transaction, each answered once durable.

Theory of operation. ``write`` appends the caller's points and a future to the pending list, wakes
the writer task and waits. The writer takes everything pending, stores it in one transaction, then
resolves every future of that group. While one group commits, the next accumulates, so under load
a group grows to hundreds of requests and the cost of a commit (an fsync on SQLite) is shared by
all of them; with one request in flight a group is that one request and adds no waiting.

A request is answered only after its group committed, so an acknowledged value survives
``kill -9`` (tests/e2e/test_durability.py).
"""

import asyncio
import logging
from collections.abc import Sequence

from pinbase.domain.points import Point
from pinbase.storage.base import Store

logger = logging.getLogger(__name__)

MAX_GROUP_POINTS = 100_000
"""Upper bound of points in one transaction, so one huge group cannot stall the rest for long."""


class StorageUnavailable(Exception):
    """The database refused a group; its callers get an error and nothing was acknowledged."""


class HistoryWriter:
    """Writes history points and current values in group commits."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[tuple[Sequence[Point], asyncio.Future[None]]] = []
        self._pending_points = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        """Start the writer task on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="history-writer")

    async def stop(self) -> None:
        """Commit everything pending, then end the writer task."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def write(self, points: Sequence[Point]) -> None:
        """Store ``points`` and return once they are committed.

        Raises:
            StorageUnavailable: the group holding these points failed to commit.
        """
        if self._stopping:
            raise StorageUnavailable("the history writer is stopping")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((points, future))
        self._pending_points += len(points)
        self._wake.set()
        await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                await self._commit(self._take_group())
            if self._stopping:
                return

    def _take_group(self) -> list[tuple[Sequence[Point], asyncio.Future[None]]]:
        if self._pending_points <= MAX_GROUP_POINTS:
            group, self._pending, self._pending_points = self._pending, [], 0
            return group
        size = 0
        for cut, (points, _) in enumerate(self._pending):
            size += len(points)
            if size > MAX_GROUP_POINTS and cut:
                break
        else:
            cut = len(self._pending)
        group, self._pending = self._pending[:cut], self._pending[cut:]
        self._pending_points -= sum(len(points) for points, _ in group)
        return group

    async def _commit(self, group: list[tuple[Sequence[Point], asyncio.Future[None]]]) -> None:
        points = [point for batch, _ in group for point in batch]
        newest: dict[tuple[int, int], Point] = {}
        for point in points:
            key = (point.device_id, point.datastream_id)
            known = newest.get(key)
            if known is None or point.ts >= known.ts:
                newest[key] = point
        try:
            await self._store.append_points(points, current=list(newest.values()))
        except Exception as error:
            logger.exception("history.group_failed points=%d", len(points))
            for _, future in group:
                if not future.done():
                    future.set_exception(StorageUnavailable(str(error)))
            return
        for _, future in group:
            if not future.done():
                future.set_result(None)
