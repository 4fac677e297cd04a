"""Group commit: many requests' records in one transaction, each answered once durable.

Theory of operation. ``submit`` appends the caller's items and a future to the pending list, wakes
the writer task and waits. The writer takes everything pending, stores it with one ``commit``
call (one transaction), then resolves every future of that group. While one group commits, the
next accumulates, so under load a group grows to hundreds of requests and the cost of a commit
(an fsync on SQLite) is shared by all of them; with one request in flight a group is that one
request and adds no waiting. ``stop`` commits whatever is pending before the task ends, so a
clean shutdown loses nothing that was submitted.

Two writers use it: ``HistoryWriter`` (points and current values) and ``ActionsLog`` (PLT-DEV-20
entries, which used to cost one transaction per Platform API write: ~500 writes/s,
bench/platform_api.py).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

Item = TypeVar("Item")


class StorageUnavailable(Exception):
    """The database refused a group; its callers get an error and nothing was acknowledged."""


class GroupCommit(Generic[Item]):
    """Commits the items of concurrent callers together, at most ``max_items`` per transaction.

    One caller's items always travel in one group, so a single call larger than ``max_items``
    makes a group of its own.
    """

    def __init__(
        self, commit: Callable[[list[Item]], Awaitable[None]], *, name: str, max_items: int
    ) -> None:
        self._commit_items = commit
        self._name = name
        self.max_items = max_items
        self._pending: list[tuple[Sequence[Item], asyncio.Future[None]]] = []
        self._pending_items = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        """Start the writer task on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Commit everything pending, then end the writer task."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def submit(self, items: Sequence[Item]) -> None:
        """Store ``items`` and return once they are committed.

        Raises:
            StorageUnavailable: the group holding these items failed to commit, or the writer is
                stopping.
        """
        if self._stopping:
            raise StorageUnavailable(f"the {self._name} is stopping")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((items, future))
        self._pending_items += len(items)
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

    def _take_group(self) -> list[tuple[Sequence[Item], asyncio.Future[None]]]:
        if self._pending_items <= self.max_items:
            group, self._pending, self._pending_items = self._pending, [], 0
            return group
        size = 0
        for cut, (items, _) in enumerate(self._pending):
            size += len(items)
            if size > self.max_items and cut:
                break
        else:
            cut = len(self._pending)
        group, self._pending = self._pending[:cut], self._pending[cut:]
        self._pending_items -= sum(len(items) for items, _ in group)
        return group

    async def _commit(self, group: list[tuple[Sequence[Item], asyncio.Future[None]]]) -> None:
        items = [item for batch, _ in group for item in batch]
        try:
            await self._commit_items(items)
        except Exception as error:
            logger.exception("group_commit.failed writer=%s items=%d", self._name, len(items))
            for _, future in group:
                if not future.done():
                    future.set_exception(StorageUnavailable(str(error)))
            return
        for _, future in group:
            if not future.done():
                future.set_result(None)
