"""Public helpers for tests and benchmarks: run the real ``pinbase`` CLI and server.

Everything here drives Pinbase the way a user does, as a subprocess on loopback, so tests and
benchmarks exercise the same code path as production.
"""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from pinbase.storage.data_folder import make_private_folder, private_opener

READY_TIMEOUT_S = 60.0
"""A start takes about a second; the test run's workers start servers at once on a loaded
machine, and a session server that misses this fails every test of its worker."""


PORT_FLOOR = 10000
"""The lowest port ``free_port`` hands out: above the well-known and common service ports."""

PORT_SLICES = 4
"""How many disjoint port slices the range below the ephemeral range is cut into: one per
pytest-xdist worker (``gw0``, ``gw1``…), or per process id outside pytest-xdist."""


PORT_TRIES = 10000
"""More than one slice holds: a full slice gives up instead of looping for ever."""


def _ephemeral_floor() -> int:
    """Where the kernel's ephemeral range starts (Linux's default is 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _own_ports() -> Iterator[int]:
    """This process's ports, in turn, from a random place in its slice, round and round.

    A port the kernel picks (``bind(("", 0))``) comes from the ephemeral range, and so does the
    local port of every outgoing connection, of any process: a port released by a probe can be
    taken by somebody's ``connect()`` before the server binds it, and was, in one CI run in
    three with two workers. Ports below the ephemeral range are never picked by the kernel, and
    a slice of its own per worker means two workers never hand out the same port either.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) if worker[2:].isdigit() else os.getpid()
    size = (max(_ephemeral_floor(), PORT_FLOOR + PORT_SLICES) - PORT_FLOOR) // PORT_SLICES
    first = PORT_FLOOR + (index % PORT_SLICES) * size
    offset = random.SystemRandom().randrange(size)  # not the seeded one hypothesis replays
    while True:
        for step in range(size):
            yield first + (offset + step) % size


_ports = _own_ports()


def free_port() -> int:
    """A TCP port on loopback that is free now and that no other test worker hands out.

    Raises:
        RuntimeError: every port of this process's slice is in use.
    """
    for _ in range(PORT_TRIES):
        port = next(_ports)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port on loopback")


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pinbase ARGS`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "pinbase", *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def provision(spec: dict[str, Any], *extra: str, data_dir: Path) -> dict[str, Any]:
    """Run ``pinbase provision`` on ``spec`` and return the JSON it printed."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
    try:
        done = run_cli("provision", handle.name, "--data", str(data_dir), *extra)
    finally:
        os.unlink(handle.name)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


class ServerProcess:
    """``pinbase serve`` in a subprocess on a free loopback port."""

    def __init__(
        self,
        data_dir: Path,
        *extra: str,
        port: int | None = None,
        env: dict[str, str] | None = None,
        ready_timeout_s: float = READY_TIMEOUT_S,
    ) -> None:
        self.data_dir = data_dir
        self._ready_timeout_s = ready_timeout_s
        # No device listener unless asked for (--hardware-port N, --mqtt-port N, and with
        # --tls-cert --mqtt-tls-port N, --mqtt-wss-port N): parallel servers would all claim the
        # default ports 8442, 1883, 8883 and 9443.
        quiet = {
            "PINBASE_HARDWARE_PORT": "0",
            "PINBASE_MQTT_PORT": "0",
            "PINBASE_MQTT_TLS_PORT": "0",
            "PINBASE_MQTT_WSS_PORT": "0",
        }
        self._env = {**quiet, **os.environ, **(env or {})}
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._extra = extra
        self._process: subprocess.Popen[bytes] | None = None
        self._log = data_dir / f"server-{self.port}.log"

    def start(self) -> Self:
        """Start the server and wait until ``/healthz`` answers."""
        make_private_folder(self.data_dir)
        command = [sys.executable, "-m", "pinbase", "serve", "--data", str(self.data_dir)]
        command += ["--http-port", str(self.port), *self._extra]
        with open(self._log, "ab", opener=private_opener) as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=self._env
            )
        deadline = time.monotonic() + self._ready_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"pinbase serve exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(
            f"pinbase serve was not ready in {self._ready_timeout_s}s:\n{self.log()}"
        )

    @property
    def pid(self) -> int:
        """The server's process id."""
        if self._process is None:
            raise RuntimeError("the server is not running")
        return self._process.pid

    def stop(self) -> int:
        """Stop with SIGTERM (a clean shutdown) and return the exit code."""
        return self._end(signal.SIGTERM)

    def kill(self) -> int:
        """Stop with SIGKILL, as a crash would, and return the exit code."""
        return self._end(signal.SIGKILL)

    def log(self) -> str:
        """What the server printed so far."""
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    def _end(self, signum: signal.Signals) -> int:
        if self._process is None:
            return 0
        if self._process.poll() is None:
            self._process.send_signal(signum)
        try:
            code = self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            code = self._process.wait()
        self._process = None
        return code

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
