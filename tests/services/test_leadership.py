"""Once-per-installation jobs (services.leadership, issue #11): they run on the one node holding
the lease, stop when it is lost and move to another node when it is freed."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import create_async_engine

from pinbase.runtime import open_store
from pinbase.services.leadership import Leadership
from pinbase.settings import Settings
from pinbase.storage.leases import AdvisoryLease
from pinbase.storage.sql import SqlStore
from pinbase.testing import free_port
from postgres import create_database, drop_database


class Recorder:
    """A job that marks itself running until cancelled."""

    def __init__(self) -> None:
        self._running = False
        self.starts = 0

    def is_running(self) -> bool:
        """Whether the job runs now (a call, so that type checkers do not narrow it)."""
        return self._running

    async def job(self) -> None:
        self._running = True
        self.starts += 1
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            self._running = False


async def settle() -> None:
    """Let freshly created job tasks reach their first await."""
    for _ in range(3):
        await asyncio.sleep(0)


@pytest.fixture
async def database_url(postgres_url: str) -> AsyncIterator[str]:
    """A new PostgreSQL database, dropped afterwards."""
    url = await create_database(postgres_url)
    try:
        yield url
    finally:
        await drop_database(url)


@pytest.fixture
async def nodes(database_url: str, tmp_path: Path) -> AsyncIterator[list[SqlStore]]:
    """Two stores (two nodes) on one new PostgreSQL database."""
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    opened = [await open_store(settings), await open_store(settings)]
    try:
        yield opened
    finally:
        for store in opened:
            await store.close()


@pytest.mark.postgres
async def test_the_jobs_run_on_one_node_and_move_when_it_stops(nodes: list[SqlStore]) -> None:
    """Of two nodes the first to start runs the jobs; when it stops, the other's next round
    takes the lease and starts them."""
    recorders = [Recorder(), Recorder()]
    leaders = [Leadership(store.leader_lease(), node_id=str(n)) for n, store in enumerate(nodes)]
    for leader, recorder in zip(leaders, recorders, strict=True):
        leader.add("job", recorder.job)
    await leaders[0].start()
    await leaders[1].start()
    await settle()
    assert [leader.is_leader for leader in leaders] == [True, False]
    assert [recorder.is_running() for recorder in recorders] == [True, False]
    await leaders[1].step()
    assert not recorders[1].is_running()
    await leaders[0].stop()
    assert not recorders[0].is_running()
    await leaders[1].step()
    await settle()
    assert leaders[1].is_leader
    assert (recorders[1].is_running(), recorders[1].starts) == (True, 1)
    await leaders[1].stop()
    assert not recorders[1].is_running()


@pytest.mark.postgres
async def test_a_leader_that_loses_its_connection_stops_its_jobs(
    nodes: list[SqlStore], database_url: str
) -> None:
    """When the leader's database session ends, its next round stops the jobs, and the other
    node takes over."""
    recorders = [Recorder(), Recorder()]
    leaders = [Leadership(store.leader_lease()) for store in nodes]
    for leader, recorder in zip(leaders, recorders, strict=True):
        leader.add("job", recorder.job)
        await leader.start()
    await settle()
    assert recorders[0].is_running()
    admin = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with admin.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND granted"
                    # This test's database only: other servers may share the cluster.
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                )
            )
    finally:
        await admin.dispose()
    await leaders[0].step()
    assert not leaders[0].is_leader
    assert not recorders[0].is_running()
    await leaders[1].step()
    await settle()
    assert recorders[1].is_running()
    for leader in leaders:
        await leader.stop()


async def test_a_sqlite_node_leads_from_its_start(tmp_path: Path) -> None:
    """On SQLite, the one process runs the jobs as soon as it starts, until it stops."""
    store = await open_store(Settings(data_dir=tmp_path, database_url=None))
    recorder = Recorder()
    leader = Leadership(store.leader_lease())
    leader.add("job", recorder.job)
    try:
        await leader.start()
        await settle()
        assert leader.is_leader
        assert recorder.is_running()
        await leader.step()
        assert recorder.is_running()
        await leader.stop()
        assert not recorder.is_running()
    finally:
        await store.close()


async def test_a_job_that_ends_on_its_own_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A job is meant to run until cancelled: one that fails is logged with its name."""

    async def failing() -> None:
        raise RuntimeError("boom")

    store = await open_store(Settings(data_dir=tmp_path, database_url=None))
    leader = Leadership(store.leader_lease())
    leader.add("sweeper", failing)
    try:
        await leader.start()
        await settle()
        await leader.stop()
    finally:
        await store.close()
    assert "leader.job_failed job=sweeper" in caplog.text


async def test_an_unreachable_database_is_logged_once_per_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """While the lease cannot be asked for (nothing listens), the node stays a follower and
    says so once, not every round."""
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none")
    leader = Leadership(AdvisoryLease(engine))
    try:
        for _ in range(3):
            await leader.step()
        assert not leader.is_leader
    finally:
        await leader.stop()
        await engine.dispose()
    assert caplog.text.count("leader.acquire_failed") == 1
