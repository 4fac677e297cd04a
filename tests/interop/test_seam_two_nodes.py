"""Two ``pinbase serve`` nodes of one installation (one PostgreSQL, one Redis): what one node
is told, a device and a reader on the other see (issue #11, "one installation, whichever node
answers")."""

import asyncio
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from interop_driver import BLYNKLIB, DeviceClient, eventually, value_of

from pinbase.testing import ServerProcess, free_port, provision
from postgres import create_database, drop_database
from redis_server import RedisServer, require_binary
from testspec import UNTHROTTLED, load_spec

pytestmark = [pytest.mark.postgres, pytest.mark.subprocess]

DEVICES = 10


@dataclass(kw_only=True)
class Cluster:
    """Node A (HTTP and the binary device port) and node B (HTTP), their provisioned devices
    and a Platform API bearer header."""

    a: ServerProcess
    b: ServerProcess
    hardware_port_a: int
    created: dict[str, Any]
    headers: dict[str, str]

    def __post_init__(self) -> None:
        self._unused = iter(self.created["devices"])

    def take(self) -> dict[str, Any]:
        """A device no other test has used."""
        device: dict[str, Any] = next(self._unused)
        return device


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_url: str
) -> Iterator[Cluster]:
    """Two nodes on a fresh database and the session's Redis."""
    database = asyncio.run(create_database(postgres_url))
    root = tmp_path_factory.mktemp("two-nodes")
    created = provision(load_spec(DEVICES), "--database-url", database, data_dir=root / "provision")
    hardware_port = free_port()
    shared = ("--database-url", database, "--broker-url", redis_url)
    try:
        with (
            ServerProcess(
                root / "a", *shared, f"--hardware-port={hardware_port}", env=UNTHROTTLED
            ) as a,
            ServerProcess(root / "b", *shared, env=UNTHROTTLED) as b,
        ):
            yield Cluster(
                a=a,
                b=b,
                hardware_port_a=hardware_port,
                created=created,
                headers=_bearer(b, created),
            )
    finally:
        asyncio.run(drop_database(database))


def _bearer(node: ServerProcess, created: dict[str, Any]) -> dict[str, str]:
    client = created["oauthClients"][0]
    with httpx.Client(base_url=node.base_url, timeout=10) as http:
        answer = http.post(
            "/oauth2/token?grant_type=client_credentials",
            auth=(client["clientId"], client["clientSecret"]),
        )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture
def redis_server_of_test() -> Iterator[RedisServer]:
    """A Redis server of this test alone, which it stops and starts again on the same port."""
    server = RedisServer(require_binary()).start()
    yield server
    server.remove()


@pytest.fixture
def api_a(cluster: Cluster) -> Iterator[httpx.Client]:
    """An HTTP client of node A."""
    with httpx.Client(base_url=cluster.a.base_url, timeout=10) as client:
        yield client


@pytest.fixture
def api_b(cluster: Cluster) -> Iterator[httpx.Client]:
    """An HTTP client of node B."""
    with httpx.Client(base_url=cluster.b.base_url, timeout=10) as client:
        yield client


def test_a_value_written_on_b_reaches_a_device_on_a_and_reads_on_a(
    cluster: Cluster, api_a: httpx.Client, api_b: httpx.Client, tmp_path: Path
) -> None:
    """A value written over HTTP to node B is pushed to a blynklib device connected to node A,
    and node A's HTTP API reads it back; a value the device writes on A reads back on B."""
    token = cluster.take()["token"]
    with DeviceClient(
        BLYNKLIB, token, port=cluster.hardware_port_a, log_dir=tmp_path
    ).started() as device:
        answer = api_b.get(f"/external/api/update?token={token}&v1=42")
        assert answer.status_code == 200, answer.text
        device.expect("write", pin=1, values=["42"])
        assert value_of(api_a, token, "v1") == "42"
        device.command("write", pin=9, values=["55.5"])
        assert eventually(lambda: value_of(api_b, token, "v9") == "55.5")


def test_a_device_deleted_on_b_is_refused_on_a_within_a_second(
    cluster: Cluster, api_a: httpx.Client, api_b: httpx.Client
) -> None:
    """Deleting a device through node B's Platform API makes node A refuse its token at once
    (within a second), though A had it cached."""
    device = cluster.take()
    token = device["token"]
    assert api_a.get(f"/external/api/update?token={token}&v1=7").status_code == 200
    deleted = api_b.delete(
        "/api/v1/organization/device", params={"deviceId": device["id"]}, headers=cluster.headers
    )
    assert deleted.status_code == 204, deleted.text
    assert eventually(
        lambda: api_a.get(f"/external/api/get?token={token}&v1").status_code != 200,
        within=1.0,
        every=0.02,
    )
    refused = api_a.get(f"/external/api/get?token={token}&v1")
    assert refused.status_code == 400, refused.text


def test_a_device_deleted_on_b_loses_its_connection_to_a(
    cluster: Cluster, api_b: httpx.Client
) -> None:
    """A device logged in on node A has its connection closed by A when node B deletes it."""
    device = cluster.take()
    token = device["token"].encode()
    with socket.create_connection(("127.0.0.1", cluster.hardware_port_a), timeout=15) as sock:
        sock.sendall(struct.pack(">BHH", 29, 1, len(token)) + token)  # HW_LOGIN, id 1
        assert sock.recv(5) == bytes.fromhex("00 00 01 00 c8")  # OK
        deleted = api_b.delete(
            "/api/v1/organization/device",
            params={"deviceId": device["id"]},
            headers=cluster.headers,
        )
        assert deleted.status_code == 204, deleted.text
        while sock.recv(4096):  # returns b"" once node A closed the socket
            pass


def test_a_template_change_on_b_is_seen_by_a(
    cluster: Cluster, api_a: httpx.Client, api_b: httpx.Client
) -> None:
    """A datastream added to the template through node B takes writes through node A at once."""
    token = cluster.take()["token"]
    template_id = cluster.created["templates"][0]["id"]
    created = api_b.post(
        "/api/v1/organization/template/datastream/create",
        json={"templateId": template_id, "label": "Pressure", "pin": 40, "type": "INT"},
        headers=cluster.headers,
    )
    assert created.status_code == 201, created.text
    assert eventually(
        lambda: api_a.get(f"/external/api/update?token={token}&v40=1013").status_code == 200
    )
    assert value_of(api_a, token, "v40") == "1013"


def test_nodes_resynchronise_after_a_redis_restart(
    tmp_path: Path, postgres_url: str, redis_server_of_test: RedisServer
) -> None:
    """Redis goes down; a device deleted through node B meanwhile is refused by node A once
    Redis is back (A reloads its caches on reconnecting), and values cross again."""
    database = asyncio.run(create_database(postgres_url))
    try:
        created = provision(load_spec(2), "--database-url", database, data_dir=tmp_path / "p")
        shared = ("--database-url", database, "--broker-url", redis_server_of_test.url)
        with (
            ServerProcess(tmp_path / "a", *shared, env=UNTHROTTLED) as a,
            ServerProcess(tmp_path / "b", *shared, env=UNTHROTTLED) as b,
            httpx.Client(base_url=a.base_url, timeout=10) as api_a,
            httpx.Client(base_url=b.base_url, timeout=10) as api_b,
        ):
            gone, kept = (device["token"] for device in created["devices"])
            gone_id = created["devices"][0]["id"]
            assert api_a.get(f"/external/api/update?token={gone}&v1=1").status_code == 200
            redis_server_of_test.stop()
            deleted = api_b.delete(
                "/api/v1/organization/device",
                params={"deviceId": gone_id},
                headers=_bearer(b, created),
            )
            assert deleted.status_code == 204, deleted.text
            assert api_a.get(f"/external/api/get?token={gone}&v1").status_code == 200  # missed
            redis_server_of_test.start()
            assert eventually(
                lambda: api_a.get(f"/external/api/get?token={gone}&v1").status_code == 400,
                within=30,
            )
            assert eventually(
                lambda: (
                    api_b.get(f"/external/api/update?token={kept}&v1=77").status_code == 200
                    and value_of(api_a, kept, "v1") == "77"
                ),
                within=30,
            )
            assert "broker.reconnected" in a.log()
    finally:
        asyncio.run(drop_database(database))
