"""docs/scaling.md's recipe, run as shipped (issue #11 point 5): PostgreSQL, two ``pinbase
serve`` nodes and HAProxy with deploy/haproxy.cfg in front of the HTTP, binary (plain and TLS)
and MQTT (plain and TLS) ports. Every client goes through HAProxy only: plain HTTP and HTTPS,
a ``blynklib`` device and a paho-mqtt device."""

import asyncio
import shutil
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from interop_driver import BLYNKLIB, DeviceClient, eventually
from scaling_recipe import DEPLOY, HAPROXY, Balancer, Node, haproxy, public_ports
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import create_async_engine

from pinbase.settings import ENV_PREFIX, Settings
from pinbase.testing import ServerProcess, provision
from postgres import create_database, drop_database
from testspec import UNTHROTTLED, load_spec
from tls_certs import self_signed

pytestmark = pytest.mark.postgres

DEVICES = 10
PAHO = "paho_mqtt"
NODE_NAMES = ("node1", "node2")


@dataclass(kw_only=True)
class Recipe:
    """The running recipe: its database, nodes, balancer, certificate and devices."""

    database_url: str
    nodes: dict[str, ServerProcess]
    balancer: Balancer
    cert: Path
    devices: list[dict[str, Any]]

    def __post_init__(self) -> None:
        self._unused = iter(self.devices)

    def take(self) -> dict[str, Any]:
        """A device no other test has used."""
        device: dict[str, Any] = next(self._unused)
        return device


@contextmanager
def running_recipe(postgres_url: str, redis_url: str, folder: Path) -> Iterator[Recipe]:
    """Two nodes on one PostgreSQL database, one Redis and one data folder, behind HAProxy,
    each configured by deploy/pinbase.env with its own values put in."""
    if not HAPROXY.exists():
        pytest.skip("HAProxy is not installed (.ci/run installs it)")
    data_dir = folder / "data"
    database_url = asyncio.run(create_database(postgres_url))
    try:
        created = provision(load_spec(DEVICES), "--database-url", database_url, data_dir=data_dir)
        cert, key = self_signed(folder)
        nodes = {name: Node.on_free_ports() for name in NODE_NAMES}
        public = public_ports()
        servers = {
            name: ServerProcess(
                data_dir,
                "--access-log",
                port=node.ports["http"],
                env={
                    **UNTHROTTLED,
                    **node.environment(
                        database_url=database_url,
                        broker_url=redis_url,
                        tls=(cert, key),
                        public_url=f"https://localhost:{public[443]}",
                        data_dir=data_dir,
                    ),
                },
            )
            for name, node in nodes.items()
        }
        try:
            for server in servers.values():
                server.start()
            with haproxy(nodes, folder=folder, cert=cert, key=key, public=public) as balancer:
                yield Recipe(
                    database_url=database_url,
                    nodes=servers,
                    balancer=balancer,
                    cert=cert,
                    devices=created["devices"],
                )
        finally:
            for server in servers.values():
                server.stop()
    finally:
        asyncio.run(drop_database(database_url))


@pytest.fixture(scope="module")
def recipe(
    postgres_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Recipe]:
    """The recipe shared by the tests that leave it running as they found it."""
    with running_recipe(postgres_url, redis_url, tmp_path_factory.mktemp("recipe")) as running:
        yield running


def history(recipe: Recipe, device_id: int, pin: int) -> list[float]:
    """The stored points of one device's datastream ``pin`` (its id in the test template),
    read from PostgreSQL."""

    async def read() -> list[float]:
        engine = create_async_engine(recipe.database_url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text(
                        "SELECT num FROM history WHERE device_id = :device"
                        " AND datastream_id = :pin ORDER BY id"
                    ),
                    {"device": device_id, "pin": pin},
                )
                return [row.num for row in rows]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def served(node: ServerProcess, path: str) -> int:
    """Requests for ``path`` in a node's access log."""
    return node.log().count(f" path={path} ")


def test_http_and_https_through_haproxy_reach_both_nodes(recipe: Recipe) -> None:
    """Batch updates over plain HTTP and HTTPS (HAProxy ends TLS) all answer OK, each one opens
    a connection of its own, both nodes serve some, every value is in PostgreSQL, and each
    node reads the last one."""
    device = recipe.take()
    path = "/external/api/batch/update"
    urls = [recipe.balancer.base_url, recipe.balancer.tls_url]
    trusted = ssl.create_default_context(cafile=recipe.cert)
    for n in range(20):
        with httpx.Client(base_url=urls[n % 2], verify=trusted, timeout=10) as http:
            answer = http.get(f"{path}?token={device['token']}&v2={n}")
            assert (answer.status_code, answer.text) == (200, "OK")
    assert history(recipe, device["id"], 2) == [float(n) for n in range(20)]
    assert all(served(node, path) > 0 for node in recipe.nodes.values())
    for node in recipe.nodes.values():
        with httpx.Client(base_url=node.base_url, timeout=10) as http:
            assert http.get(f"/external/api/get?token={device['token']}&v2").json() == 19


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_blynklib_device_through_haproxy(recipe: Recipe, tls: bool, tmp_path: Path) -> None:
    """A ``blynklib`` device logs in through HAProxy's binary port (8442, or 8441 with TLS
    passed through to the node, checked against the nodes' certificate), its writes are stored,
    and HTTP updates through HAProxy reach it whichever node answers them."""
    device = recipe.take()
    port = recipe.balancer.port(8441 if tls else 8442)
    extra = ("--ssl-cert", str(recipe.cert)) if tls else ()
    server = "localhost" if tls else "127.0.0.1"
    with DeviceClient(
        BLYNKLIB, device["token"], port=port, server=server, log_dir=tmp_path, extra=extra
    ).started() as client:
        client.command("write", pin=3, values=["21.5"])
        assert eventually(lambda: history(recipe, device["id"], 3) == [21.5])
        # Fresh connections land on either node; every write reaches the device's node.
        for n in range(4):
            with httpx.Client(base_url=recipe.balancer.base_url, timeout=10) as http:
                answer = http.get(f"/external/api/update?token={device['token']}&v1={n}")
            assert answer.status_code == 200
            client.expect("write", pin=1, values=[str(n)])


@pytest.mark.parametrize("way", ["plain", "tls", "wss"])
def test_paho_device_through_haproxy(recipe: Recipe, way: str, tmp_path: Path) -> None:
    """A paho-mqtt device connects through HAProxy's MQTT port (1883, or 8883 with TLS passed
    through), or over a secure WebSocket to ``wss://…:443/mqtt`` (HAProxy ends TLS and the node
    serves ``/mqtt`` on its HTTP port: the nodes' own 9443 needs no frontend); its QoS 1 publish
    is stored, and HTTP updates through HAProxy reach it whichever node answers them."""
    device = recipe.take()
    port, extra = {
        "plain": (1883, ()),
        "tls": (8883, ("--ca-cert", str(recipe.cert))),
        "wss": (443, ("--ca-cert", str(recipe.cert), "--websocket", "/mqtt")),
    }[way]
    with DeviceClient(
        PAHO,
        device["token"],
        server="127.0.0.1" if way == "plain" else "localhost",
        port=recipe.balancer.port(port),
        log_dir=tmp_path,
        heartbeat=45,
        extra=extra,
    ).started("subscribed", codes=[0]) as client:
        client.command("publish", topic="ds/Temperature", payload="19.5", qos=1)
        assert eventually(lambda: history(recipe, device["id"], 3) == [19.5])
        for n in range(4):
            with httpx.Client(base_url=recipe.balancer.base_url, timeout=10) as http:
                answer = http.get(f"/external/api/update?token={device['token']}&v1={n}")
            assert answer.status_code == 200
            client.expect("message", topic="downlink/ds/Counter", payload=str(n))


@pytest.mark.parametrize("unit", ["pinbase.service", "pinbase@.service"])
def test_systemd_unit_verifies(unit: str, tmp_path: Path) -> None:
    """``systemd-analyze verify`` finds nothing to say about the shipped unit, its program
    path pointed at this checkout's ``pinbase``."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    program = Path(sys.executable).with_name("pinbase")
    name = unit.replace("@.", "@a.")
    copy = tmp_path / name
    copy.write_text(
        (DEPLOY / unit).read_text().replace("/opt/pinbase/.venv/bin/pinbase", str(program))
    )
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.parametrize(
    "name", ["haproxy.cfg", "pinbase.service", "pinbase@.service", "pinbase.env"]
)
def test_scaling_doc_shows_the_shipped_file(name: str) -> None:
    """docs/scaling.md quotes each file of deploy/ in full, as shipped."""
    doc = (DEPLOY.parent / "docs" / "scaling.md").read_text()
    assert f"\n{(DEPLOY / name).read_text()}```\n" in doc


@pytest.mark.slow
def test_kill_9_of_a_node_under_load_moves_its_devices_and_loses_nothing(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Issue #11 point 4 through the recipe: with HTTP writes flowing through HAProxy and
    ``blynklib`` devices spread over both nodes, ``kill -9`` of node1 loses no acknowledged
    write, the devices it held reconnect through HAProxy to node2, and they write there."""
    with running_recipe(postgres_url, redis_url, tmp_path / "recipe") as running:
        writer = running.take()
        devices = [running.take() for _ in range(4)]
        port = running.balancer.port(8442)
        with ExitStack() as clients:
            connected = [
                clients.enter_context(
                    DeviceClient(
                        BLYNKLIB, device["token"], port=port, log_dir=tmp_path, heartbeat=2
                    ).started()
                )
                for device in devices
            ]
            acknowledged: list[int] = []
            refused: list[str] = []
            stop = threading.Event()

            def write_until_stopped() -> None:
                n = 0
                while not stop.is_set():
                    n += 1
                    path = f"/external/api/batch/update?token={writer['token']}&v2={n}"
                    try:
                        with httpx.Client(base_url=running.balancer.base_url, timeout=10) as http:
                            answer = http.get(path)
                    except httpx.HTTPError as error:
                        refused.append(repr(error))
                        continue
                    if answer.status_code == 200:
                        acknowledged.append(n)
                    else:
                        refused.append(f"{answer.status_code} {answer.text[:80]}")

            load = threading.Thread(target=write_until_stopped)
            load.start()
            try:
                assert eventually(lambda: len(acknowledged) >= 10, within=30), refused[-5:]
                running.nodes["node1"].kill()
                before = len(acknowledged)
                assert eventually(lambda: len(acknowledged) >= before + 10, within=30), refused[-5:]
            finally:
                stop.set()
                load.join(timeout=30)
            # blynklib notices a dead server by its silence: 1.5 heartbeats (3 s) at most.
            assert eventually(
                lambda: any(client.saw("disconnected") for client in connected), within=15
            ), "leastconn put no device on node1"
            # The others held by node1 notice within the same 3 s: give every device that long
            # (no assert: those on node2 never disconnect), so none is left writing to node1.
            eventually(lambda: all(client.saw("disconnected") for client in connected), within=5)
            moved = [client for client in connected if client.saw("disconnected")]
            for client in moved:
                client.expect("connected", within=20)
            for index, client in enumerate(connected):
                client.command("write", pin=2, values=[str(100 + index)])
            expected = {device["id"]: [100.0 + index] for index, device in enumerate(devices)}
            assert eventually(
                lambda: {key: history(running, key, 2) for key in expected} == expected,
                within=20,
            ), {key: history(running, key, 2) for key in expected}
        stored = set(history(running, writer["id"], 2))
        assert {float(n) for n in acknowledged} <= stored


def test_environment_file_names_only_settings() -> None:
    """Every variable of deploy/pinbase.env is a Pinbase setting (a misspelt one would stop
    the node at start)."""
    names = {
        line.split("=", 1)[0]
        for line in (DEPLOY / "pinbase.env").read_text().splitlines()
        if line and not line.startswith("#")
    }
    known = {ENV_PREFIX + field.upper() for field in Settings.model_fields}
    assert names - known == set()
    assert {"PINBASE_DATABASE_URL", "PINBASE_BROKER_URL", "PINBASE_WORKERS"} <= names
