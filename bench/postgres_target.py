"""A PostgreSQL server as a benchmark's database: a fresh database per run, its history count,
and the CPU its server processes use.

The benchmarks default to SQLite in a fresh data folder. Given ``--database-url`` naming a
PostgreSQL server (``postgresql+asyncpg://user@host:port/db``), a run creates a database of its
own beside ``db``, provisions and serves it, and drops it afterwards. Start the server with the
settings it runs with in production (``fsync``, ``synchronous_commit`` and ``full_page_writes``
on) on a disk, not tmpfs: the figures are about durable commits.

The server's CPU is read from ``/proc``: the postmaster (the parent of the backend that answers
``pg_backend_pid()``) and its children, so a local server is required for that figure; other
PostgreSQL servers on the machine (the test runs') are not counted.
"""

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
from sqlalchemy import make_url


def _dsn(url: str) -> str:
    """The libpq form of a SQLAlchemy URL, for asyncpg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _fetch_value(url: str, query: str) -> object:
    connection = await asyncpg.connect(_dsn(url))
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """The URL of a new, empty database on the server of ``server_url``, dropped on exit."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_fetch_value(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_fetch_value(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def count_history(url: str) -> int:
    """History points stored in the database of ``url``."""
    return int(str(asyncio.run(_fetch_value(url, "SELECT count(*) FROM history"))))


def postmaster_pid(url: str) -> int:
    """The process id of the local PostgreSQL server of ``url``: the parent of a backend, read
    while the backend still serves its connection."""

    async def parent_of_backend() -> int:
        connection = await asyncpg.connect(_dsn(url))
        try:
            return _stat(int(await connection.fetchval("SELECT pg_backend_pid()")))[0]
        finally:
            await connection.close()

    return asyncio.run(parent_of_backend())


def server_cpu_s(postmaster: int) -> dict[int, float]:
    """CPU seconds (user + system) of the postmaster and each of its children, by process id."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        with contextlib.suppress(OSError, ValueError):
            parent, cpu = _stat(pid)
            if pid == postmaster or parent == postmaster:
                found[pid] = cpu
    return found


def used_cpu_s(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two ``server_cpu_s`` readings; a process that started in
    between counts from zero (one that ended in between is lost: the pool's backends live on)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _stat(pid: int) -> tuple[int, float]:
    """The parent pid and the CPU seconds of ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
