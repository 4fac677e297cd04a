"""Run a PyPI Blynk client as a device in a subprocess and read what it reports.

Each client script in ``clients/`` prints one JSON line per event (``connected``, ``write``,
``disconnected``…) and takes commands as JSON lines on stdin (device-protocols.md §4.1 item 3).
A subprocess isolates ``blynklib``'s class-level handler table and ``BlynkLib``'s import-time
banner, and lets a test freeze (SIGSTOP) or kill a client as a dead device would behave.
"""

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx

from pinbase.testing import ServerProcess

CLIENTS = Path(__file__).parent / "clients"
BLYNKLIB = "blynklib"
BLYNK_LIBRARY_PYTHON = "blynk_library_python"


@dataclass(kw_only=True)
class InteropServer:
    """A ``pinbase serve`` with the binary and MQTT listeners, plain and TLS (one throwaway
    certificate), and its provisioned devices."""

    process: ServerProcess
    hardware_port: int
    tls_port: int
    mqtt_port: int
    mqtt_tls_port: int
    cert: Path
    devices: list[dict[str, Any]]
    mqtt_wss_port: int = 0
    """MQTT over secure WebSocket (``/mqtt`` only); 0: not opened."""
    oauth_clients: list[dict[str, Any]] = field(default_factory=list)
    """The provisioned OAuth clients (``clientId``, ``clientSecret``), for Platform API calls."""

    def __post_init__(self) -> None:
        self._unused = iter(self.devices)

    def take(self) -> dict[str, Any]:
        """A device no other test has used."""
        device: dict[str, Any] = next(self._unused)
        return device

    def rows(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on the server's database."""
        database = self.process.data_dir / "pinbase.db"
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            return db.execute(sql, args).fetchall()


class DeviceClient:
    """One client library process, logged in as one device."""

    def __init__(
        self,
        library: str,
        token: str,
        *,
        port: int,
        log_dir: Path,
        server: str = "127.0.0.1",
        heartbeat: int = 10,
        extra: tuple[str, ...] = (),
    ) -> None:
        command = [sys.executable, "-u", str(CLIENTS / f"{library}_device.py")]
        command += [f"--token={token}", f"--server={server}", f"--port={port}"]
        command += ["--heartbeat", str(heartbeat), *extra]
        self.library = library
        self._stderr = (log_dir / f"{library}-{time.monotonic_ns()}.log").open("w")
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._backlog: list[dict[str, Any]] = []
        self._ended = False
        self.lines: list[str] = []
        """What the client printed that is not an event (banners, library errors)."""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                self.lines.append(line.rstrip("\n"))
                continue
            self._events.put(event)
        self._events.put(None)

    def expect(self, event: str, *, within: float = 5.0, **fields: Any) -> dict[str, Any]:
        """The first event named ``event`` with these ``fields`` not returned before.

        Raises:
            AssertionError: none arrived in time.
        """
        deadline = time.monotonic() + within
        for index, seen in enumerate(self._backlog):
            if _matches(seen, event, fields):
                return self._backlog.pop(index)
        while not self._ended:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                received = self._events.get(timeout=left)
            except queue.Empty:
                break
            if received is None:
                self._ended = True
            elif _matches(received, event, fields):
                return received
            else:
                self._backlog.append(received)
        raise AssertionError(
            f"{self.library}: no {event} {fields} in {within}s; "
            f"saw {self._backlog}, printed {self.lines[-5:]}"
        )

    def started(self, event: str = "connected", **fields: Any) -> Self:
        """This client, once it reported ``event`` (its library is ready); ended and the
        failure raised when it does not."""
        try:
            self.expect(event, **fields)
        except BaseException:
            self.close()
            raise
        return self

    def saw(self, event: str) -> bool:
        """Whether an ``event`` arrived so far (drains what is queued)."""
        while True:
            try:
                received = self._events.get_nowait()
            except queue.Empty:
                break
            if received is None:
                self._ended = True
            else:
                self._backlog.append(received)
        return any(seen.get("event") == event for seen in self._backlog)

    def command(self, op: str, **args: Any) -> None:
        """Send one command; the client answers ``done`` once it called the library."""
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self._process.stdin.flush()
        self.expect("done", op=op)

    def pause(self) -> None:
        """Freeze the client: its socket stays open and silent (SIGSTOP)."""
        os.kill(self._process.pid, signal.SIGSTOP)

    def kill(self) -> None:
        """Kill the client; the kernel closes its socket."""
        os.kill(self._process.pid, signal.SIGCONT)
        self._process.kill()
        self._process.wait(timeout=10)

    def wait(self, timeout: float = 10) -> int:
        """Wait for the client to end by itself."""
        return self._process.wait(timeout=timeout)

    def close(self) -> None:
        """End the client whatever its state."""
        if self._process.poll() is None:
            self.kill()
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._reader.join(timeout=5)
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._stderr.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _matches(seen: dict[str, Any], event: str, fields: dict[str, Any]) -> bool:
    return seen.get("event") == event and all(seen.get(k) == v for k, v in fields.items())


def eventually(check: Any, *, within: float = 5.0, every: float = 0.05) -> bool:
    """Poll ``check()`` until it is true or ``within`` seconds pass."""
    deadline = time.monotonic() + within
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(every)


def is_connected(api: httpx.Client, token: str) -> bool:
    """``GET /external/api/isHardwareConnected``."""
    answer = api.get("/external/api/isHardwareConnected", params={"token": token})
    assert answer.status_code == 200
    return answer.text == "true"


def value_of(api: httpx.Client, token: str, pin: str) -> str:
    """``GET /external/api/get?token=…&<pin>``."""
    answer = api.get(f"/external/api/get?token={token}&{pin}")
    assert answer.status_code == 200, answer.text
    return answer.text


def connect_binary(
    kind: str, server: InteropServer, token: str, logs: Path, **options: Any
) -> DeviceClient:
    """A ``kind`` client process logged in with ``token`` on the plain binary port."""
    return DeviceClient(kind, token, port=server.hardware_port, log_dir=logs, **options).started()


def check_heartbeat_keeps_live_and_drops_frozen(
    kind: str, server: InteropServer, api: httpx.Client, logs: Path
) -> None:
    """With h-beat 2 (idle timeout ceil(2.3 x 2) = 5 s), an idle ``kind`` client that pings stays
    connected for 6 s, while a SIGSTOPped one (socket open, silent) goes offline after 5 s; the
    same scenario for every binary client library."""
    live, frozen = server.take()["token"], server.take()["token"]
    with (
        connect_binary(kind, server, live, logs, heartbeat=2) as idle,
        connect_binary(kind, server, frozen, logs, heartbeat=2) as stopped,
    ):
        stopped.pause()
        paused = time.monotonic()
        assert eventually(lambda: not is_connected(api, frozen), within=8)
        assert time.monotonic() - paused > 3.5
        time.sleep(max(0.0, paused + 6 - time.monotonic()))
        assert is_connected(api, live)
        assert not idle.saw("disconnected")
