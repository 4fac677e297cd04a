"""``pinbase serve --workers 2`` on PostgreSQL and Redis (issue #11): two worker processes share
the HTTP, binary and MQTT ports and both serve; real clients (blynklib, paho-mqtt, HTTP) work
through the shared ports; SIGTERM stops every worker with every acknowledged write stored; a
killed worker is started again; a schedule runs once for the installation; kill -9 of the leader
hands the lease to the other worker.

Which worker served a connection is read from the log: with several workers every line names
its process (``[pid]``).
"""

import asyncio
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from interop_driver import BLYNKLIB, DeviceClient, eventually, value_of
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import create_async_engine

from pinbase.protocols.mqtt.client import connect_packet
from pinbase.testing import ServerProcess, free_port, provision
from postgres import create_database, drop_database
from testspec import UNTHROTTLED, load_spec

pytestmark = [pytest.mark.postgres, pytest.mark.subprocess]

DEVICES = 20
CONNECTIONS = 40
"""Connections per protocol: all landing on one of two workers has odds of 2 in 2^40."""
LINE = re.compile(r"\[(\d+)\] (\S+) (\S+)(.*)$")
"""A log line of a worker: ``[pid] logger event rest``."""
BINARY_LOGIN_OK = bytes.fromhex("00 00 01 00 c8")
MQTT_ACCEPTED = bytes.fromhex("20 02 00 00")
READY_TIMEOUT_S = 120.0
"""A parent, then two fresh interpreters importing and starting the server: on a loaded
2-core machine that takes well beyond the 30 s a lone server is given."""


@dataclass(kw_only=True)
class Workers:
    """A running ``serve --workers 2``, its ports, database and provisioned devices."""

    server: ServerProcess
    database: str
    hardware_port: int
    mqtt_port: int
    created: dict[str, Any]

    def __post_init__(self) -> None:
        self._unused = iter(self.created["devices"])

    def take(self) -> dict[str, Any]:
        """A device no other test has used."""
        device: dict[str, Any] = next(self._unused)
        return device

    def lines(self, event: str) -> list[tuple[int, str]]:
        """``(pid, rest of the line)`` of each log line of ``event``."""
        found = []
        for line in self.server.log().splitlines():
            match = LINE.search(line)
            if match and match.group(3) == event:
                found.append((int(match.group(1)), match.group(4)))
        return found

    def worker_pids(self) -> set[int]:
        """The worker processes that are serving (their ``server.listening`` lines)."""
        return {pid for pid, _ in self.lines("server.listening")}

    def wait_for(self, event: str, count: int, *, within: float = 30.0) -> list[tuple[int, str]]:
        """The lines of ``event`` once there are ``count`` of them."""
        assert eventually(lambda: len(self.lines(event)) >= count, within=within, every=0.1), (
            self.server.log()[-3000:]
        )
        return self.lines(event)


def start_workers(
    root: Path, database: str, redis_url: str, created: dict[str, Any], env: dict[str, str]
) -> Workers:
    """``serve --workers 2`` on free ports, returned once both workers listen."""
    hardware, mqtt = free_port(), free_port()
    server = ServerProcess(
        root,
        "--database-url",
        database,
        "--broker-url",
        redis_url,
        "--workers",
        "2",
        f"--hardware-port={hardware}",
        f"--mqtt-port={mqtt}",
        "--access-log",
        env={**UNTHROTTLED, **env},
        ready_timeout_s=READY_TIMEOUT_S,
    ).start()
    workers = Workers(
        server=server, database=database, hardware_port=hardware, mqtt_port=mqtt, created=created
    )
    workers.wait_for("server.listening", 2, within=READY_TIMEOUT_S)
    return workers


@pytest.fixture(scope="module")
def workers(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_url: str
) -> Iterator[Workers]:
    """Two workers on a fresh database and the session's Redis."""
    database = asyncio.run(create_database(postgres_url))
    root = tmp_path_factory.mktemp("workers")
    created = provision(load_spec(DEVICES), "--database-url", database, data_dir=root)
    running = start_workers(root, database, redis_url, created, {})
    try:
        yield running
    finally:
        running.server.stop()
        asyncio.run(drop_database(database))


def exchange(port: int, request: bytes, size: int) -> bytes:
    """Send ``request`` on a new connection and read ``size`` bytes back."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while len(received) < size and (chunk := sock.recv(size - len(received))):
            received += chunk
        return received


def query(url: str, sql: str, **params: object) -> list[Any]:
    """Rows of one statement on the test database, committed."""

    async def run() -> list[Any]:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.begin() as connection:
                return list(await connection.execute(text(sql), params))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_http_connections_land_on_both_workers(workers: Workers) -> None:
    """Requests on new connections to the one HTTP port are answered by both workers."""
    before = len(workers.lines("http.request"))
    for _ in range(CONNECTIONS):
        answer = httpx.get(f"{workers.server.base_url}/healthz", timeout=10)
        assert answer.status_code == 200
    served = workers.wait_for("http.request", before + CONNECTIONS)[before:]
    assert {pid for pid, _ in served} == workers.worker_pids()
    assert len(workers.worker_pids()) == 2


def test_binary_and_mqtt_logins_land_on_both_workers(workers: Workers) -> None:
    """Device logins on the one binary port and the one MQTT port are served by both workers."""
    token = workers.take()["token"]
    for _ in range(CONNECTIONS):
        login = struct.pack(">BHH", 29, 1, len(token)) + token.encode()
        assert exchange(workers.hardware_port, login, 5) == BINARY_LOGIN_OK
        connect = connect_packet(password=token.encode())
        assert exchange(workers.mqtt_port, connect, 4) == MQTT_ACCEPTED
    binary = workers.wait_for("tcp.login", CONNECTIONS)
    mqtt = workers.wait_for("mqtt.connect", CONNECTIONS)
    assert {pid for pid, _ in binary} == workers.worker_pids()
    assert {pid for pid, _ in mqtt} == workers.worker_pids()


def test_real_devices_on_the_shared_ports_get_writes_from_either_worker(
    workers: Workers, tmp_path: Path
) -> None:
    """A blynklib device and a paho-mqtt device connected through the shared ports receive
    values written over HTTP, whichever worker answers the write, and their writes read back."""
    binary, mqtt = workers.take()["token"], workers.take()["token"]
    with (
        DeviceClient(
            BLYNKLIB, binary, port=workers.hardware_port, log_dir=tmp_path
        ).started() as device,
        DeviceClient("paho_mqtt", mqtt, port=workers.mqtt_port, log_dir=tmp_path).started() as paho,
    ):
        paho.expect("subscribed")
        for n in range(6):  # new connections: some land on the device's worker, some not
            with httpx.Client(base_url=workers.server.base_url, timeout=10) as api:
                assert api.get(f"/external/api/update?token={binary}&v1={n}").status_code == 200
                assert api.get(f"/external/api/update?token={mqtt}&v4=m{n}").status_code == 200
            device.expect("write", pin=1, values=[str(n)])
            paho.expect("message", topic="downlink/ds/Message", payload=f"m{n}")
        device.command("write", pin=9, values=["55.5"])
        with httpx.Client(base_url=workers.server.base_url, timeout=10) as api:
            assert eventually(lambda: value_of(api, binary, "v9") == "55.5")


def test_a_killed_worker_is_started_again(workers: Workers) -> None:
    """kill -9 of a worker: the parent logs it and starts another, which serves the ports."""
    before = workers.worker_pids()
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    workers.wait_for("workers.died", 1)
    listening = workers.wait_for("server.listening", 3, within=READY_TIMEOUT_S)
    assert len(listening) == 3
    assert eventually(lambda: len(workers.worker_pids() - before) == 1, within=READY_TIMEOUT_S)
    answer = httpx.get(f"{workers.server.base_url}/healthz", timeout=10)
    assert answer.status_code == 200


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    """A fresh database of its own."""
    url = asyncio.run(create_database(postgres_url))
    yield url
    asyncio.run(drop_database(url))


def test_sigterm_stops_every_worker_with_acknowledged_writes_stored(
    database: str, redis_url: str, tmp_path: Path
) -> None:
    """SIGTERM to the parent stops both workers cleanly (exit 0), and every write that was
    acknowledged, through either worker, is in the database."""
    created = provision(load_spec(2), "--database-url", database, data_dir=tmp_path)
    running = start_workers(tmp_path, database, redis_url, created, {})
    token, device_id = created["devices"][0]["token"], created["devices"][0]["id"]
    pids = running.worker_pids()
    for n in range(50):
        with httpx.Client(base_url=running.server.base_url, timeout=10) as api:
            assert api.get(f"/external/api/update?token={token}&v2={n}").status_code == 200
    assert running.server.stop() == 0
    assert len(running.lines("server.stopped")) == 2
    for pid in pids:
        assert not _alive(pid)
    rows = query(database, "SELECT count(*) FROM history WHERE device_id = :id", id=device_id)
    assert rows[0][0] == 50


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_schedule_runs_once_and_the_lease_moves_when_the_leader_is_killed(
    database: str, redis_url: str, tmp_path: Path
) -> None:
    """A schedule due while the installation was down runs once at start (catch-up) though two
    workers run; kill -9 of the leader: the other worker takes the lease within seconds, and
    the schedule does not run again."""
    due = datetime.now(UTC) - timedelta(minutes=2)
    spec = load_spec(2)
    spec["automations"] = [
        {
            "name": "Morning",
            "condition": {
                "kind": "SCHEDULE",
                "time": due.strftime("%H:%M"),
                "tz": "UTC",
                "repeat": {"type": "ONCE", "date": due.date().isoformat()},
            },
            "actions": [
                {"kind": "CONTROL_DEVICE", "device": "Device 0", "dataStreamId": 2, "value": "7"}
            ],
        }
    ]
    created = provision(spec, "--database-url", database, data_dir=tmp_path)
    query(database, "UPDATE automations SET created_at = created_at - 3600000 RETURNING id")
    env = {"PINBASE_AUTOMATIONS_CATCHUP_WINDOW_S": "3600"}
    running = start_workers(tmp_path, database, redis_url, created, env)
    try:
        token = created["devices"][0]["token"]
        with httpx.Client(base_url=running.server.base_url, timeout=10) as api:
            assert eventually(lambda: value_of(api, token, "v2") == "7", within=30)
        # The run's log row commits with the runner's group after the write: wait for it, or
        # the kill below may take it (a crash may lose a run's log entry, never its write).
        assert eventually(lambda: runs_of(database) == ["OK"], within=30)
        [(leader, _)] = running.wait_for("leader.elected", 1)
        assert leader in running.worker_pids()
        os.kill(leader, signal.SIGKILL)
        started = time.monotonic()
        elected = running.wait_for("leader.elected", 2, within=30)
        took = time.monotonic() - started
        assert elected[1][0] in running.worker_pids() - {leader}
        assert runs_of(database) == ["OK"]
        print(f"lease taken over in {took:.1f} s")  # a figure for the report (pytest -s)
    finally:
        assert running.server.stop() == 0


def runs_of(database: str) -> list[str]:
    """The statuses of the installation's automation runs."""
    return [row[0] for row in query(database, "SELECT status FROM automation_runs")]


@pytest.mark.slow
def test_workers_that_keep_dying_stop_the_parent_with_exit_1(database: str, tmp_path: Path) -> None:
    """With the broker unreachable every worker fails at start: each is started again after
    1, 2, 4, 8 and 16 s, then the parent gives up and exits 1 (for systemd to see)."""
    command = [sys.executable, "-m", "pinbase", "serve", "--data", str(tmp_path)]
    command += ["--database-url", database, "--broker-url", f"redis://127.0.0.1:{free_port()}"]
    command += ["--workers", "2", "--http-port", str(free_port())]
    command += ["--hardware-port", "0", "--mqtt-port", "0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "workers.giving_up" in done.stderr
    delays = re.findall(r"workers\.died worker=\d+ pid=\d+ code=1 restart_in_s=(\d+)", done.stderr)
    assert sorted(set(delays), key=int) == ["1", "2", "4", "8", "16"]
    assert "cannot connect to the broker" in done.stderr
