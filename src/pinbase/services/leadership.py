"""Once-per-installation work: the jobs only the leader node runs (issue #11).

Several ``pinbase serve`` processes (``--workers N``, or nodes on several machines) form one
installation over one PostgreSQL database. Most background work may run on every node, but some
must run once per installation: sweeps that delete what expired (report files, history past its
retention, notification, webhook and automation logs) would only repeat each other's work, and
the automation scheduler would run each Schedule and Sunrise/Sunset automation once per node.

Theory of operation. Every node runs ``Leadership``: each round (``CHECK_INTERVAL_S``) a node
that does not hold the lease tries to take it (``Lease.acquire``, never waiting), and the node
that holds it checks that it still does (``Lease.holds``). Taking it starts the jobs; losing it
(the database connection broke) cancels them at once. A leader that stops or dies frees the
lease, and another node takes it on its next round: within ``CHECK_INTERVAL_S`` after the
database noticed (``storage.leases``). On SQLite the one process always leads.

A job must stand being cancelled at any await and started again on another node: the sweeps
delete what is due at each pass, and the scheduler claims each slot in the database before it
runs it (``AutomationEngine``), so even two leaders for a moment run no slot twice.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

logger = logging.getLogger(__name__)

CHECK_INTERVAL_S = 1.0
"""How often a node tries to take the lease, or checks that it still holds it: the longest a
freed lease waits for a new leader."""

Job = Callable[[], Coroutine[Any, Any, None]]
"""A job: a coroutine function that runs until cancelled."""


class Lease(Protocol):
    """Who leads the installation (``storage.leases``)."""

    async def acquire(self) -> bool:
        """Try once, without waiting; whether this node holds the lease now."""
        ...

    async def holds(self) -> bool:
        """Whether this node still holds the lease."""
        ...

    async def release(self) -> None:
        """Give the lease up."""
        ...


class Leadership:
    """Runs the installation's once-only jobs while this node holds the lease."""

    def __init__(self, lease: Lease, *, node_id: str = "") -> None:
        self._lease = lease
        self._node_id = node_id
        self._jobs: dict[str, Job] = {}
        self._running: list[asyncio.Task[None]] = []
        self._loop_task: asyncio.Task[None] | None = None
        self._leader = False
        self._unreachable = False

    @property
    def is_leader(self) -> bool:
        """Whether this node holds the lease (and runs the jobs) now."""
        return self._leader

    def add(self, name: str, job: Job) -> None:
        """Run ``job`` (as a task named ``name``) whenever this node leads; add before
        ``start``."""
        self._jobs[name] = job

    async def start(self) -> None:
        """Take part in the election: one ``step`` now (a lone node leads from its start), then
        a task that runs one every ``CHECK_INTERVAL_S``."""
        await self._step_logged()
        self._loop_task = asyncio.get_running_loop().create_task(
            self._elect_forever(), name="leadership"
        )

    async def step(self) -> None:
        """One round: take the lease if free, or check it is still held; start or stop the
        jobs accordingly (tests call it instead of waiting for the task)."""
        if self._leader:
            if not await self._lease.holds():
                logger.warning("leader.lost node=%s", self._node_id)
                await self._stop_jobs()
            return
        try:
            taken = await self._lease.acquire()
        except Exception as error:
            if not self._unreachable:  # once per outage, not once a second
                logger.warning("leader.acquire_failed node=%s error=%s", self._node_id, error)
            self._unreachable = True
            return
        if self._unreachable:
            logger.info("leader.database_back node=%s", self._node_id)
            self._unreachable = False
        if taken:
            logger.info("leader.elected node=%s jobs=%s", self._node_id, ",".join(self._jobs))
            self._leader = True
            loop = asyncio.get_running_loop()
            self._running = [loop.create_task(job(), name=name) for name, job in self._jobs.items()]
            for task in self._running:
                task.add_done_callback(_report_end)
            # Let each job run to its first await, so that what it does first (the scheduler
            # taking its lock) is done when this returns.
            await asyncio.sleep(0)

    async def stop(self) -> None:
        """Leave the election: stop the jobs and free the lease for another node."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        was_leader = self._leader
        await self._stop_jobs()
        await self._lease.release()
        if was_leader:
            logger.info("leader.released node=%s", self._node_id)

    async def _stop_jobs(self) -> None:
        self._leader = False
        running, self._running = self._running, []
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def _step_logged(self) -> None:
        try:
            await self.step()
        except Exception:
            logger.exception("leader.step_failed node=%s", self._node_id)

    async def _elect_forever(self) -> None:
        while True:
            await asyncio.sleep(CHECK_INTERVAL_S)
            await self._step_logged()


def _report_end(task: "asyncio.Task[None]") -> None:
    """A job ends only when cancelled: say so when one stopped on its own."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        logger.error("leader.job_failed job=%s", task.get_name(), exc_info=error)
    else:
        logger.error("leader.job_ended job=%s", task.get_name())
