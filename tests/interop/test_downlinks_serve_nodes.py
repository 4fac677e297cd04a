"""Device commands across two ``pinbase serve`` nodes of one installation (one PostgreSQL, one
Redis, issue #11): a Platform API call on node A pings and reboots a paho-mqtt device connected
to node B; the ``DeviceCommanded`` and its ``DevicePingAnswered`` cross through Redis."""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from interop_driver import DeviceClient, eventually, is_connected

from pinbase.testing import ServerProcess, free_port, provision
from postgres import create_database, drop_database
from testspec import UNTHROTTLED, load_spec

pytestmark = [pytest.mark.postgres, pytest.mark.subprocess]

PAHO = "paho_mqtt"
DEVICE = "/api/v1/organization/device"


@dataclass(kw_only=True)
class Nodes:
    """Node A (HTTP only) and node B (HTTP and MQTT), the devices and the OAuth client."""

    a: ServerProcess
    b: ServerProcess
    mqtt_port_b: int
    devices: list[dict[str, Any]]
    client: dict[str, Any]


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_url: str
) -> Iterator[Nodes]:
    """Two nodes on a fresh database and the session's Redis."""
    database = asyncio.run(create_database(postgres_url))
    root = tmp_path_factory.mktemp("command-nodes")
    created = provision(load_spec(2), "--database-url", database, data_dir=root / "provision")
    mqtt_port_b = free_port()
    shared = ("--database-url", database, "--broker-url", redis_url)
    try:
        with (
            ServerProcess(root / "a", *shared, env=UNTHROTTLED) as a,
            ServerProcess(root / "b", *shared, f"--mqtt-port={mqtt_port_b}", env=UNTHROTTLED) as b,
        ):
            yield Nodes(
                a=a,
                b=b,
                mqtt_port_b=mqtt_port_b,
                devices=created["devices"],
                client=created["oauthClients"][0],
            )
    finally:
        asyncio.run(drop_database(database))


def test_node_a_pings_and_reboots_a_device_on_node_b(nodes: Nodes, tmp_path: Path) -> None:
    """The ping answered by paho's PUBACK on B comes back to A's request; the reboot asked of
    A reaches the device on B."""
    device = nodes.devices[0]
    token = device["token"]
    with httpx.Client(base_url=nodes.a.base_url, timeout=15) as api_a:
        answer = api_a.post(
            "/oauth2/token",
            params={"grant_type": "client_credentials"},
            auth=(nodes.client["clientId"], nodes.client["clientSecret"]),
        )
        bearer = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        client = DeviceClient(PAHO, token, port=nodes.mqtt_port_b, log_dir=tmp_path, heartbeat=45)
        with client.started("subscribed", codes=[0]):
            assert eventually(lambda: is_connected(api_a, token))
            params = {"deviceId": device["id"]}
            pinged = api_a.post(f"{DEVICE}/ping", params=params, headers=bearer)
            assert pinged.status_code == 200, pinged.text
            assert pinged.json()["answered"] is True
            client.expect("message", topic="downlink/ping")
            rebooted = api_a.post(f"{DEVICE}/reboot", params=params, headers=bearer)
            assert rebooted.status_code == 204, rebooted.text
            client.expect("message", topic="downlink/reboot", payload="")
