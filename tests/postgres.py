"""A throwaway PostgreSQL server for the test run: initdb into a temp folder, start, stop.

The server starts once per test session, on first use (``session_url``), and stops when the
session ends. It listens on a free loopback port, keeps its unix socket inside its own folder,
trusts every local connection and runs with ``fsync=off``: the data is thrown away anyway.

PostgreSQL refuses to run as root, so under root the server runs as the ``postgres`` system user
(the Debian package creates it; ``useradd`` does when it is missing) and owns its folder.

With no PostgreSQL installed the tests that need it skip, unless ``CI=true``: CI installs the
binaries (``.ci/run``), so their absence there is an error, not a reason to skip.
"""

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Self

import pytest
from sqlalchemy import NullPool, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from pinbase.settings import Settings
from pinbase.testing import free_port

BINARIES = Path("/usr/lib/postgresql")
"""Where Debian installs each PostgreSQL major version: ``/usr/lib/postgresql/<major>/bin``."""

SYSTEM_USER = "postgres"
SUPERUSER = "postgres"
DATABASE = "pinbase"
"""The database ``session_url`` names; ``create_database`` makes more beside it."""
START_TIMEOUT_S = 30
"""A cold start takes about a second; a loaded CI machine gets more room, not a flaky failure."""

START_ATTEMPTS = 3
"""``free_port`` can race with another process; a new port on the next attempt fixes that."""

MEMORY_FOLDER = Path("/dev/shm")  # noqa: S108 (mkdtemp makes a private folder in it)
MEMORY_FOLDER_MIN_FREE = 1 << 30
"""A cluster takes about 40 MB and each test database about 8 MB until it is dropped."""

SERVER_OPTIONS = {
    "listen_addresses": "'127.0.0.1'",
    # Durability is pointless for a database thrown away after the run; fsync dominates otherwise.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "'16MB'",
    "max_connections": "100",
}


def find_binaries() -> Path | None:
    """The ``bin`` folder of the newest installed PostgreSQL, or None."""
    found = [
        path.parent
        for path in BINARIES.glob("*/bin/initdb")
        if path.parent.parent.name.isdigit() and (path.parent / "postgres").exists()
    ]
    return max(found, key=lambda path: int(path.parent.name), default=None)


def _scratch_parent() -> str | None:
    """A RAM-backed folder for the cluster when there is room, else the default temp folder.

    Measured on ext4: CREATE DATABASE takes about 250 ms even with ``fsync=off``, against 15 ms
    on tmpfs; with one database per test that is most of the storage suite's run time.
    """
    try:
        roomy = shutil.disk_usage(MEMORY_FOLDER).free >= MEMORY_FOLDER_MIN_FREE
    except OSError:
        return None
    return str(MEMORY_FOLDER) if roomy and os.access(MEMORY_FOLDER, os.W_OK) else None


class PostgresServer:
    """One PostgreSQL cluster in its own temp folder, reachable as ``postgres`` over loopback."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.root = Path(tempfile.mkdtemp(prefix="pinbase-pg-", dir=_scratch_parent()))
        self.port = 0
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            _ensure_system_user()
            self._as_user = ["runuser", "-u", SYSTEM_USER, "--"]
            self._own(self.root)

    @property
    def data(self) -> Path:
        """The cluster's data folder."""
        return self.root / "data"

    @property
    def log(self) -> Path:
        """The server's log file."""
        return self.root / "server.log"

    @property
    def url(self) -> str:
        """The URL of the server's ``pinbase`` database."""
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> Self:
        """Create the cluster and start the server; returns once it accepts connections."""
        self._run(
            "initdb",
            f"--pgdata={self.data}",
            f"--username={SUPERUSER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        sockets = self.root / "sockets"
        sockets.mkdir()
        self._own(sockets)
        for attempt in range(1, START_ATTEMPTS + 1):
            self.port = free_port()
            options = {**SERVER_OPTIONS, "port": str(self.port)}
            options["unix_socket_directories"] = f"'{sockets}'"
            self._write_config(options)
            try:
                self._pg_ctl("start", f"--log={self.log}", f"--timeout={START_TIMEOUT_S}")
                break
            except RuntimeError as error:
                if attempt == START_ATTEMPTS:
                    raise RuntimeError(f"{error}\nserver log:\n{self._log_text()}") from None
        self._run(
            "createdb",
            "--host=127.0.0.1",
            f"--port={self.port}",
            f"--username={SUPERUSER}",
            DATABASE,
        )
        return self

    def halt(self) -> None:
        """Stop the server (fast shutdown: sessions are cut) and keep its folder for ``resume``."""
        self._pg_ctl("stop", "--mode=fast")

    def resume(self) -> None:
        """Start the server ``halt`` stopped again, on the same port and data."""
        self._pg_ctl("start", f"--log={self.log}", f"--timeout={START_TIMEOUT_S}")

    def stop(self) -> None:
        """Stop the server (fast shutdown: sessions are cut) and delete its folder."""
        try:
            self._pg_ctl("stop", "--mode=fast")
        except RuntimeError:
            self._kill()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _write_config(self, options: dict[str, str]) -> None:
        # postgresql.auto.conf is read last, so these lines win over initdb's postgresql.conf.
        config = self.data / "postgresql.auto.conf"
        config.write_text("".join(f"{name} = {value}\n" for name, value in options.items()))
        self._own(config)

    def _own(self, path: Path) -> None:
        if self._as_user:
            account = pwd.getpwnam(SYSTEM_USER)
            os.chown(path, account.pw_uid, account.pw_gid)

    def _pg_ctl(self, action: str, *options: str) -> None:
        self._run("pg_ctl", action, f"--pgdata={self.data}", "--wait", "--silent", *options)

    def _run(self, program: str, *args: str) -> None:
        command = [*self._as_user, str(self.binaries / program), *args]
        try:
            subprocess.run(
                command,
                cwd=self.root,  # the postgres user may not enter the caller's folder
                check=True,
                capture_output=True,
                text=True,
                timeout=START_TIMEOUT_S * 2,
            )
        except subprocess.CalledProcessError as error:
            output = f"{error.stdout}{error.stderr}".strip()
            raise RuntimeError(
                f"{' '.join(command)} failed ({error.returncode}):\n{output}"
            ) from None
        except (OSError, subprocess.TimeoutExpired) as error:
            raise RuntimeError(f"{' '.join(command)} failed: {error}") from None

    def _kill(self) -> None:
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            # SIGQUIT is PostgreSQL's immediate shutdown: the children exit with the postmaster.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)

    def _log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else "(no log)"


def _ensure_system_user() -> None:
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", SYSTEM_USER], check=True, timeout=60
        )


_SERVER = pytest.StashKey[PostgresServer]()
_FAILURE = pytest.StashKey[str]()


def session_url(config: pytest.Config) -> str:
    """The URL of the session server's ``pinbase`` database, starting the server on first use.

    Fixtures in several test folders call this; the server lives in ``config.stash`` so they all
    share one, and ``config.add_cleanup`` stops it when the session ends. A failed start is
    remembered, so the remaining tests fail at once instead of trying again.
    """
    if _FAILURE in config.stash:
        pytest.fail(config.stash[_FAILURE], pytrace=False)
    server = config.stash.get(_SERVER, None)
    if server is None:
        binaries = find_binaries()
        if binaries is None:
            reason = f"PostgreSQL is not installed (no {BINARIES}/*/bin/initdb)"
            if os.environ.get("CI") == "true":
                pytest.fail(f"{reason}; CI must install it (.ci/run)", pytrace=False)
            pytest.skip(reason)
        server = PostgresServer(binaries)
        try:
            server.start()
        except RuntimeError as error:
            config.stash[_FAILURE] = f"PostgreSQL for the tests did not start: {error}"
        if _FAILURE in config.stash:
            server.stop()
            pytest.fail(config.stash[_FAILURE], pytrace=False)
        config.add_cleanup(server.stop)
        config.stash[_SERVER] = server
    return server.url


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
"""The ``params`` of a fixture whose tests run on each engine (``empty_database``)."""


@contextlib.asynccontextmanager
async def empty_database(request: pytest.FixtureRequest, data_dir: Path) -> AsyncIterator[Settings]:
    """Settings naming an empty database of the engine ``request.param`` names (``BACKENDS``):
    a SQLite file in ``data_dir``, or a new PostgreSQL database, dropped afterwards."""
    if request.param == "sqlite":
        yield Settings(data_dir=data_dir, database_url=None)  # not even from PINBASE_*
        return
    database_url = await create_database(request.getfixturevalue("postgres_url"))
    try:
        yield Settings(data_dir=data_dir, database_url=database_url)
    finally:
        await drop_database(database_url)


async def create_database(url: str) -> str:
    """Create an empty database on the server of ``url`` and return the new database's URL."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    await _run_maintenance(url, f'CREATE DATABASE "{name}"')
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    """Drop the database of ``url``, cutting any session still connected to it."""
    name = make_url(url).database
    await _run_maintenance(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _run_maintenance(url: str, statement: str) -> None:
    # CREATE and DROP DATABASE cannot run inside a transaction, hence AUTOCOMMIT; they run from
    # the maintenance database, which always exists.
    maintenance = make_url(url).set(database="postgres")
    engine = create_async_engine(maintenance, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()
