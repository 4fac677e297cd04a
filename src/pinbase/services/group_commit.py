"""Group commit: many requests' records in one transaction, each answered once durable.

Theory of operation. ``submit`` appends the caller's items and a future to the pending list, wakes
the writer task and waits. The writer takes everything pending, stores it with one ``commit``
call (one transaction), then resolves every future of that group. While one group commits, the
next accumulates, so under load a group grows to hundreds of requests and the cost of a commit
(an fsync on SQLite) is shared by all of them; with one request in flight a group is that one
request and adds no waiting. ``stop`` commits whatever is pending before the task ends, so a
clean shutdown loses nothing that was submitted.

With ``max_in_flight`` above one (the history writer on PostgreSQL, issue #11), the writer
starts the next group while earlier ones still commit, up to that many at once: a database that
commits concurrent transactions side by side then no longer waits for each round trip and fsync
in turn. Each group's callers are answered when their own group commits, whatever the order.

Two writers use it: ``HistoryWriter`` (points and current values, plus the outbox deliveries the
points caused, which travel as the group's extras) and ``ActionsLog`` (PLT-DEV-20 entries, which
used to cost one transaction per Platform API write: ~500 writes/s, bench/platform_api.py).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

Item = TypeVar("Item")
Extra = TypeVar("Extra")


_Pending = tuple[Sequence[Item], Sequence[Extra], asyncio.Future[None]]
"""One caller's submission: its items, its extras and the future it waits on."""


class StorageUnavailable(Exception):
    """The database refused a group; its callers get an error and nothing was acknowledged."""


class GroupCommit(Generic[Item, Extra]):
    """Commits the items of concurrent callers together, at most ``max_items`` per transaction.

    One caller's items always travel in one group, so a single call larger than ``max_items``
    makes a group of its own. A caller's extras travel in the same group as its items and do
    not count toward ``max_items``.
    """

    def __init__(
        self,
        commit: Callable[[list[Item], list[Extra]], Awaitable[None]],
        *,
        name: str,
        max_items: int,
        max_in_flight: int = 1,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._commit_items = commit
        self._name = name
        self.max_items = max_items
        self._max_in_flight = max_in_flight
        self._pending: list[_Pending[Item, Extra]] = []
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

    async def submit(self, items: Sequence[Item], extras: Sequence[Extra] = ()) -> None:
        """Store ``items`` (and ``extras``, in the same transaction) and return once they are
        committed.

        Raises:
            StorageUnavailable: the group holding these items failed to commit, or the writer is
                stopping.
        """
        if self._stopping:
            raise StorageUnavailable(f"the {self._name} is stopping")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((items, extras, future))
        self._pending_items += len(items)
        self._wake.set()
        await future

    async def _run(self) -> None:
        in_flight: set[asyncio.Task[None]] = set()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                if self._max_in_flight == 1:
                    await self._commit(self._take_group())
                elif len(in_flight) < self._max_in_flight:
                    task = asyncio.create_task(self._commit(self._take_group()))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                else:
                    # Wait for a free slot; what arrives meanwhile joins the next group.
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            if self._stopping:
                if in_flight:
                    await asyncio.wait(in_flight)
                return

    def _take_group(self) -> list[_Pending[Item, Extra]]:
        if self._pending_items <= self.max_items:
            group, self._pending, self._pending_items = self._pending, [], 0
            return group
        size = 0
        for cut, (items, _, _) in enumerate(self._pending):
            size += len(items)
            if size > self.max_items and cut:
                break
        else:
            cut = len(self._pending)
        group, self._pending = self._pending[:cut], self._pending[cut:]
        self._pending_items -= sum(len(items) for items, _, _ in group)
        return group

    async def _commit(self, group: list[_Pending[Item, Extra]]) -> None:
        items = [item for batch, _, _ in group for item in batch]
        extras = [extra for _, batch, _ in group for extra in batch]
        try:
            await self._commit_items(items, extras)
        except Exception as error:
            logger.exception("group_commit.failed writer=%s items=%d", self._name, len(items))
            for _, _, future in group:
                if not future.done():
                    future.set_exception(StorageUnavailable(str(error)))
            return
        for _, _, future in group:
            if not future.done():
                future.set_result(None)
