"""A throwaway Redis server for the test run: ``redis-server`` in a temp folder, on a free port.

The session server starts once, on first use (``session_redis_url``, the ``redis_url``
fixture), and stops when the session ends. A test that restarts or stops Redis (the broker's
fault tests) starts its own ``RedisServer`` instead; ``restart`` keeps its port, as a Redis
restarted by systemd does. Nothing is persisted: no RDB snapshot, no append-only file.

With no ``redis-server`` installed the tests that need it skip, unless ``CI=true``: CI installs
it (``.ci/run``), so its absence there is an error, not a reason to skip.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

import pytest

from pinbase.testing import free_port

BINARY = "redis-server"
START_TIMEOUT_S = 20
"""A cold start takes a few milliseconds; a loaded CI machine gets more room, not a flake."""
START_ATTEMPTS = 3
"""``free_port`` can race with another process; a new port on the next attempt fixes that."""


def find_binary() -> str | None:
    """The path of ``redis-server``, or None when it is not installed."""
    return shutil.which(BINARY) or next(
        (str(p) for p in (Path("/usr/bin") / BINARY, Path("/usr/sbin") / BINARY) if p.exists()),
        None,
    )


class RedisServer:
    """One ``redis-server`` process on loopback with its own folder."""

    def __init__(self, binary: str) -> None:
        self._binary = binary
        self.folder = Path(tempfile.mkdtemp(prefix="pinbase-redis-"))
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The ``redis://`` URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        """The server's log file."""
        return self.folder / "redis.log"

    def start(self) -> Self:
        """Start on a free port (a few attempts), or on the same port again after ``stop``.

        Raises:
            RuntimeError: the server did not answer within ``START_TIMEOUT_S``.
        """
        keep_port = self.port != 0
        for attempt in range(1 if keep_port else START_ATTEMPTS):
            if not keep_port:
                self.port = free_port()
            self._process = subprocess.Popen(
                [
                    self._binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self.folder),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--logfile",
                    str(self.log),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self._wait_ready():
                return self
            self._kill()
            if attempt == START_ATTEMPTS - 1 or keep_port:
                break
        log = self.log.read_text(errors="replace") if self.log.exists() else "(no log)"
        raise RuntimeError(f"redis-server on port {self.port} did not start:\n{log[-2000:]}")

    def stop(self) -> None:
        """Stop the server (SIGKILL: nothing is kept anyway); the folder stays for a restart."""
        self._kill()

    def restart(self) -> None:
        """Stop, then start again on the same port: every client connection breaks."""
        self.stop()
        self.start()

    def remove(self) -> None:
        """Stop and delete the folder."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                return False
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe,
            ):
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    return True
            time.sleep(0.02)
        return False

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


def require_binary() -> str:
    """The ``redis-server`` path; skips the test when it is missing (fails under CI=true)."""
    binary = find_binary()
    if binary is None:
        reason = f"Redis is not installed (no {BINARY})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must install it (.ci/run)", pytrace=False)
        pytest.skip(reason)
    return binary


_SERVER = pytest.StashKey[RedisServer]()
_FAILURE = pytest.StashKey[str]()


def session_redis_url(config: pytest.Config) -> str:
    """The URL of the session's Redis server, started on first use, stopped when the session
    ends (the ``redis_url`` fixture in tests/conftest.py). A failed start is remembered."""
    if _FAILURE in config.stash:
        pytest.fail(config.stash[_FAILURE], pytrace=False)
    server = config.stash.get(_SERVER, None)
    if server is None:
        server = RedisServer(require_binary())
        try:
            server.start()
        except RuntimeError as error:
            config.stash[_FAILURE] = f"Redis for the tests did not start: {error}"
            server.remove()
            pytest.fail(config.stash[_FAILURE], pytrace=False)
        config.add_cleanup(server.remove)
        config.stash[_SERVER] = server
    return server.url
