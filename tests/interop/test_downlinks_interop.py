"""Device commands (device-lifecycle.md §4) from the Platform API of a real ``pinbase serve`` to
real client libraries in subprocesses: ``blynklib`` over TCP (reboot arrives as INTERNAL
``dbg reboot``; ping and redirect are refused, the library never sees PING or REDIRECT) and
paho-mqtt (ping answered by its PUBACK, reboot and redirect delivered)."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from interop_driver import BLYNKLIB, DeviceClient, InteropServer, eventually, is_connected

pytestmark = pytest.mark.subprocess

PAHO = "paho_mqtt"
DEVICE = "/api/v1/organization/device"


@pytest.fixture(scope="module")
def bearer(interop_server: InteropServer) -> dict[str, str]:
    """A Platform API token of the provisioned OAuth client."""
    client = interop_server.oauth_clients[0]
    with httpx.Client(base_url=interop_server.process.base_url, timeout=10) as http:
        answer = http.post(
            "/oauth2/token",
            params={"grant_type": "client_credentials"},
            auth=(client["clientId"], client["clientSecret"]),
        )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def command(
    api: httpx.Client, bearer: dict[str, str], name: str, device: dict[str, Any], **body: Any
) -> httpx.Response:
    """``POST …/device/<name>?deviceId=`` as the OAuth client."""
    return api.post(
        f"{DEVICE}/{name}",
        params={"deviceId": device["id"]},
        headers=bearer,
        json=body or None,
        timeout=15,
    )


def test_blynklib_gets_reboot_but_is_never_pinged_or_redirected(
    interop_server: InteropServer,
    api: httpx.Client,
    bearer: dict[str, str],
    fresh: dict[str, Any],
    tmp_path: Path,
) -> None:
    """``internal_dbg`` runs with ``["reboot"]``; ping and redirect answer 400 naming the Python
    library, and blynklib stays connected (it would drop on PING or REDIRECT)."""
    token = fresh["token"]
    port = interop_server.hardware_port
    with DeviceClient(BLYNKLIB, token, port=port, log_dir=tmp_path).started() as client:
        assert eventually(lambda: is_connected(api, token))
        assert command(api, bearer, "reboot", fresh).status_code == 204
        client.expect("internal", name="dbg", args=["reboot"])
        pinged = command(api, bearer, "ping", fresh)
        assert pinged.status_code == 400
        assert "Python" in pinged.json()["error"]["message"]
        moved = command(api, bearer, "redirect", fresh, host="elsewhere.example", port=8442)
        assert moved.status_code == 400
        client.command("write", pin=4, values=["7"])
        assert not client.saw("disconnected")
        assert is_connected(api, token)


def test_paho_device_is_pinged_rebooted_and_redirected(
    interop_server: InteropServer,
    api: httpx.Client,
    bearer: dict[str, str],
    fresh: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Ping answers ``answered`` with the ms of paho's PUBACK; ``downlink/reboot`` and
    ``downlink/redirect`` (the URI) reach the device; PLT-DEV-20 lists the three commands."""
    token = fresh["token"]
    port = interop_server.mqtt_port
    client = DeviceClient(PAHO, token, port=port, log_dir=tmp_path, heartbeat=45)
    with client.started("subscribed", codes=[0]):
        assert eventually(lambda: is_connected(api, token))
        pinged = command(api, bearer, "ping", fresh)
        assert pinged.status_code == 200, pinged.text
        assert pinged.json()["answered"] is True
        assert pinged.json()["ms"] >= 0
        client.expect("message", topic="downlink/ping")
        assert command(api, bearer, "reboot", fresh).status_code == 204
        client.expect("message", topic="downlink/reboot", payload="")
        uri = "mqtt://127.0.0.1:1883"
        moved = command(api, bearer, "redirect", fresh, host="127.0.0.1", port=1883, uri=uri)
        assert moved.status_code == 204
        client.expect("message", topic="downlink/redirect", payload=uri)
    logs = api.get(f"{DEVICE}/logs", params={"deviceId": fresh["id"]}, headers=bearer)
    commands = [entry["command"] for entry in logs.json()["content"]]
    assert commands == ["redirect", "reboot", "ping"]
    assert json.loads(json.dumps(logs.json()["content"][2]["value"]))["ms"] >= 0
