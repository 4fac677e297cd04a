"""Two ``pinbase serve`` nodes of one installation (one PostgreSQL, one Redis): a device's
presence and its one session are the installation's, and a killed node's devices go offline
(issue #11)."""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from interop_driver import BLYNKLIB, DeviceClient, eventually, is_connected

from pinbase.testing import ServerProcess, free_port, provision
from postgres import create_database, drop_database
from testspec import UNTHROTTLED, load_spec

pytestmark = [pytest.mark.postgres, pytest.mark.subprocess]

DEVICES = 4
PAHO = "paho_mqtt"
HEARTBEAT_TTL_S = 2
"""Short, so that a killed node is noticed within seconds; a node beats every third of it."""


@dataclass(kw_only=True)
class Nodes:
    """Nodes A and B, each with HTTP and a binary device port, and the provisioned devices."""

    a: ServerProcess
    b: ServerProcess
    port_a: int
    port_b: int
    mqtt_port_b: int
    devices: list[dict[str, Any]]


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_url: str
) -> Iterator[Nodes]:
    """Two nodes on a fresh database and the session's Redis (the last test kills A)."""
    database = asyncio.run(create_database(postgres_url))
    root = tmp_path_factory.mktemp("shared-nodes")
    created = provision(load_spec(DEVICES), "--database-url", database, data_dir=root / "provision")
    port_a, port_b, mqtt_port_b = free_port(), free_port(), free_port()
    shared = ("--database-url", database, "--broker-url", redis_url)
    env = {**UNTHROTTLED, "PINBASE_NODE_HEARTBEAT_TTL_S": str(HEARTBEAT_TTL_S)}
    try:
        with (
            ServerProcess(root / "a", *shared, f"--hardware-port={port_a}", env=env) as a,
            ServerProcess(
                root / "b",
                *shared,
                f"--hardware-port={port_b}",
                f"--mqtt-port={mqtt_port_b}",
                env=env,
            ) as b,
        ):
            yield Nodes(
                a=a,
                b=b,
                port_a=port_a,
                port_b=port_b,
                mqtt_port_b=mqtt_port_b,
                devices=created["devices"],
            )
    finally:
        asyncio.run(drop_database(database))


def http(node: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=node.base_url, timeout=10)


def test_presence_reads_the_same_on_both_nodes(nodes: Nodes, tmp_path: Path) -> None:
    """A device connected to A is connected according to B's HTTP API, and disconnected on
    both once its connection ends."""
    token = nodes.devices[0]["token"]
    with http(nodes.a) as api_a, http(nodes.b) as api_b:
        assert not is_connected(api_b, token)
        with DeviceClient(BLYNKLIB, token, port=nodes.port_a, log_dir=tmp_path).started():
            assert eventually(lambda: is_connected(api_b, token))
            assert is_connected(api_a, token)
        assert eventually(lambda: not is_connected(api_b, token))
        assert not is_connected(api_a, token)


def test_a_second_login_on_b_closes_the_first_on_a(nodes: Nodes, tmp_path: Path) -> None:
    """The device logs in on A, then again on B: A closes its first connection (the client
    finds its socket dead at its next heartbeat), the device stays online on both nodes and a
    value written on A reaches it on B."""
    token = nodes.devices[1]["token"]
    with http(nodes.a) as api_a, http(nodes.b) as api_b:
        first = DeviceClient(
            BLYNKLIB, token, port=nodes.port_a, log_dir=tmp_path, heartbeat=1
        ).started()
        with first:
            assert eventually(lambda: is_connected(api_b, token))
            with DeviceClient(
                BLYNKLIB, token, port=nodes.port_b, log_dir=tmp_path
            ).started() as second:
                assert api_a.get(f"/external/api/update?token={token}&v1=5").status_code == 200
                second.expect("write", pin=1, values=["5"])
                first.expect("disconnected", within=10)
                first.kill()  # blynklib reconnects a second later and would take the device back
                assert is_connected(api_a, token)
                assert is_connected(api_b, token)
                assert not second.saw("disconnected")
                assert not first.saw("write")


def test_a_binary_login_on_a_closes_an_mqtt_session_on_b(nodes: Nodes, tmp_path: Path) -> None:
    """One session per device across protocols and nodes: a paho-mqtt device connected to B
    is disconnected when the same token logs in with blynklib on A; values then reach A's."""
    token = nodes.devices[3]["token"]
    with http(nodes.a) as api_a, http(nodes.b) as api_b:
        mqtt = DeviceClient(PAHO, token, port=nodes.mqtt_port_b, log_dir=tmp_path, heartbeat=45)
        with mqtt.started("subscribed", codes=[0]):
            assert eventually(lambda: is_connected(api_a, token))
            with DeviceClient(
                BLYNKLIB, token, port=nodes.port_a, log_dir=tmp_path
            ).started() as binary:
                mqtt.expect("disconnected")
                mqtt.kill()  # paho would reconnect and take the device back
                assert is_connected(api_b, token)
                assert api_b.get(f"/external/api/update?token={token}&v1=8").status_code == 200
                binary.expect("write", pin=1, values=["8"])


def test_a_killed_nodes_devices_go_offline_on_the_other(nodes: Nodes, tmp_path: Path) -> None:
    """kill -9 of node A: node B reports A's device offline within the heartbeat TTL (and a
    beat), without A saying anything."""
    token = nodes.devices[2]["token"]
    with (
        http(nodes.b) as api_b,
        DeviceClient(BLYNKLIB, token, port=nodes.port_a, log_dir=tmp_path).started(),
    ):
        assert eventually(lambda: is_connected(api_b, token))
        nodes.a.kill()
        assert eventually(
            lambda: not is_connected(api_b, token), within=HEARTBEAT_TTL_S * 2 + 1, every=0.1
        )
