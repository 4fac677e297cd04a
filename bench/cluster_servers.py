"""The shared servers of bench/cluster.py: a PostgreSQL cluster and a Redis server of its own,
started for one run and removed afterwards, and the CPU their processes use.

PostgreSQL runs as it would in production, durable (``fsync``, ``synchronous_commit`` and
``full_page_writes`` on) on a disk folder, never tmpfs: the figures are about commits that
survive a power cut. tests/postgres.py starts the test runs' servers the other way round (no
fsync, RAM), which is right for tests and wrong for a benchmark. Under root the server runs as
the ``postgres`` system user, which the Debian package creates.

Redis runs with persistence off (``save ""``, no append-only file): it carries messages between
nodes and nothing it holds needs to survive it (docs/scaling.md).
"""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pinbase.testing import free_port

POSTGRES_BINARIES = Path("/usr/lib/postgresql")
REDIS_SERVER = Path("/usr/bin/redis-server")
SYSTEM_USER = "postgres"
START_TIMEOUT_S = 60.0
POSTGRES_OPTIONS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_buffers": "'256MB'",
    "max_connections": "200",
}
"""Durable, as in production; a pool of 10 per process leaves room for many processes."""


def postgres_binaries() -> Path | None:
    """The ``bin`` folder of the newest installed PostgreSQL, or None."""
    found = [path.parent for path in POSTGRES_BINARIES.glob("*/bin/initdb")]
    return max(found, key=lambda path: int(path.parent.name), default=None)


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants, read from ``/proc``."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
    tree, frontier = [root], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree += children
        frontier += children
    return tree


@dataclass(slots=True)
class LocalPostgres:
    """One PostgreSQL cluster in a temporary disk folder, reachable as ``postgres``."""

    root: Path
    port: int = 0
    pid: int = 0
    """The postmaster's process id once started: its tree is the server's CPU."""

    @property
    def url(self) -> str:
        """The ``postgres`` maintenance database's URL."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_user(self) -> list[str]:
        return ["runuser", "-u", SYSTEM_USER, "--"] if os.geteuid() == 0 else []

    def _run(self, binaries: Path, program: str, *args: str) -> None:
        subprocess.run(
            [*self._as_user(), str(binaries / program), *args],
            cwd=self.root,
            check=True,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
        )

    def start(self, binaries: Path) -> None:
        """initdb, configure and start; returns once the server accepts connections."""
        if os.geteuid() == 0:
            account = pwd.getpwnam(SYSTEM_USER)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        data = self.root / "data"
        self._run(binaries, "initdb", f"--pgdata={data}", "--username=postgres", "--auth=trust")
        self.port = free_port()
        options = {**POSTGRES_OPTIONS, "port": str(self.port)}
        options["unix_socket_directories"] = f"'{self.root}'"
        (data / "postgresql.auto.conf").write_text(
            "".join(f"{name} = {value}\n" for name, value in options.items())
        )
        log = self.root / "server.log"
        self._run(binaries, "pg_ctl", "start", f"--pgdata={data}", f"--log={log}", "--wait")
        self.pid = int((data / "postmaster.pid").read_text().split()[0])

    def stop(self, binaries: Path) -> None:
        """Fast shutdown; the folder is removed by the caller."""
        with contextlib.suppress(subprocess.SubprocessError):
            self._run(binaries, "pg_ctl", "stop", f"--pgdata={self.root / 'data'}", "--mode=fast")


@contextlib.contextmanager
def local_postgres() -> Iterator[LocalPostgres]:
    """A durable PostgreSQL server for the block; stopped and removed after it."""
    binaries = postgres_binaries()
    if binaries is None:
        raise RuntimeError(f"PostgreSQL is not installed (no {POSTGRES_BINARIES}/*/bin/initdb)")
    # A disk folder (not /dev/shm): fsync must cost what it costs in production.
    parent = "/var/tmp"  # noqa: S108 (mkdtemp makes a private folder in it)
    server = LocalPostgres(root=Path(tempfile.mkdtemp(prefix="pinbase-bench-pg-", dir=parent)))
    try:
        server.start(binaries)
        yield server
    finally:
        server.stop(binaries)
        shutil.rmtree(server.root, ignore_errors=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalRedis:
    """A running ``redis-server``."""

    port: int
    pid: int

    @property
    def url(self) -> str:
        """The broker URL the nodes are given."""
        return f"redis://127.0.0.1:{self.port}/0"


def _answers_ping(port: int) -> bool:
    """Whether a Redis server on ``port`` answers PING."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
            probe.sendall(b"PING\r\n")
            return probe.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def local_redis() -> Iterator[LocalRedis]:
    """A ``redis-server`` on a free loopback port, persistence off, for the block."""
    if not REDIS_SERVER.exists():
        raise RuntimeError(
            f"Redis is not installed (no {REDIS_SERVER}; apt-get install redis-server)"
        )
    folder = Path(tempfile.mkdtemp(prefix="pinbase-bench-redis-"))
    port = free_port()
    command = [str(REDIS_SERVER), "--port", str(port), "--bind", "127.0.0.1"]
    command += ["--save", "", "--appendonly", "no", "--dir", str(folder)]
    with (folder / "redis.log").open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited:\n{(folder / 'redis.log').read_text()}")
            if _answers_ping(port):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not answer PING")
            time.sleep(0.05)
        yield LocalRedis(port=port, pid=process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
