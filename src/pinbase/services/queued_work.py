"""Work handed off the bus's synchronous delivery to one task, in arrival order.

Bus subscribers must return at once (delivery is synchronous, on the publisher's call stack), so
a reactor whose work takes a transaction queues the message here and one task does the work.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

M = TypeVar("M")


class QueuedWork(Generic[M]):
    """Runs ``handle`` for each queued item on one task, oldest first.

    Bounded: past ``limit`` waiting items a new one is dropped and logged, so a stalled database
    cannot grow memory without end. A failing item is logged and the next one runs.
    """

    def __init__(
        self,
        handle: Callable[[M], Awaitable[None]],
        *,
        name: str,
        limit: int,
        describe: Callable[[M], str],
    ) -> None:
        self._handle = handle
        self._name = name
        self._describe = describe
        self._queue: asyncio.Queue[M] = asyncio.Queue(limit)
        self._task: asyncio.Task[None] | None = None

    def put(self, item: M) -> None:
        """Queue ``item``; never blocks."""
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            logger.warning("%s.queue_full %s", self._name, self._describe(item))

    def start(self) -> None:
        """Start the task (on the running loop)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    async def drain(self) -> None:
        """Wait until every queued item is handled."""
        await self._queue.join()

    async def stop(self) -> None:
        """Handle what is queued, then end the task."""
        if self._task is not None:
            await self._queue.join()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._handle(item)
            except Exception:
                logger.exception("%s.failed %s", self._name, self._describe(item))
            finally:
                self._queue.task_done()
