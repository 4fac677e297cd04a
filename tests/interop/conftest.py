"""One ``pinbase serve`` with plain and TLS device listeners, binary and MQTT (and MQTT over
secure WebSocket), for the interop tests.

The session server of ``tests/conftest.py`` runs without device listeners; this package starts
its own on free ports, with a throwaway certificate for ``localhost`` (device-protocols.md §4.1
item 2). The failed-login rule is on, with its delay capped at 50 ms: the bad-token scenarios
retry as the clients do, and every valid login runs under the rule.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from interop_driver import InteropServer

from pinbase.testing import ServerProcess, free_port, provision
from testspec import UNTHROTTLED, load_spec
from tls_certs import self_signed

DEVICES = 90


@pytest.fixture(scope="package")
def interop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteropServer]:
    """The server, provisioned with the "ESP32 QA" template (V2, "Level", flagged "sync with
    latest" for ``syncAll`` and ``get/ds/all``)."""
    data_dir = tmp_path_factory.mktemp("interop")
    spec = load_spec(DEVICES)
    for datastream in spec["templates"][0]["datastreams"]:
        if datastream["pin"] == 2:
            datastream["syncWithLatest"] = True
    created = provision(spec, data_dir=data_dir)
    cert, key = self_signed(data_dir)
    names = ("hardware", "hardware-tls", "mqtt", "mqtt-tls", "mqtt-wss")
    ports = {name: free_port() for name in names}
    options = [f"--{name}-port={port}" for name, port in ports.items()]
    options += [f"--tls-cert={cert}", f"--tls-key={key}"]
    env = {"PINBASE_LOGIN_DELAY_MAX_S": "0.05", **UNTHROTTLED}
    with ServerProcess(data_dir, *options, env=env) as process:
        yield InteropServer(
            process=process,
            hardware_port=ports["hardware"],
            tls_port=ports["hardware-tls"],
            mqtt_port=ports["mqtt"],
            mqtt_tls_port=ports["mqtt-tls"],
            mqtt_wss_port=ports["mqtt-wss"],
            cert=cert,
            devices=created["devices"],
            oauth_clients=created["oauthClients"],
        )


@pytest.fixture
def api(interop_server: InteropServer) -> Iterator[httpx.Client]:
    """An HTTP client of the interop server."""
    with httpx.Client(base_url=interop_server.process.base_url, timeout=10) as client:
        yield client


@pytest.fixture
def fresh(interop_server: InteropServer) -> dict[str, Any]:
    """A device no other test has used."""
    return interop_server.take()


@pytest.fixture
def client_logs(tmp_path: Path) -> Path:
    """Where client processes write their library logs."""
    return tmp_path
