"""Done-when of issue #10: a webhook configured with Blynk 1.0's ``/pin/`` placeholders receives
the value a real ``blynklib`` device writes (automations.md §4.6), through ``pinbase serve``; with
``legacyResponseToPin`` the answer comes back to the device (``blynklib`` over the Blynk
protocol, ``paho-mqtt`` on ``downlink/ds/<name>``)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from interop_driver import BLYNKLIB, DeviceClient, eventually, value_of

from pinbase.testing import ServerProcess, free_port, provision
from testspec import UNTHROTTLED, load_spec
from webhook_receiver import Receiver, Reply, threaded_receiver


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """The webhook receiver, in a thread of its own."""
    with threaded_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def legacy_server(
    tmp_path_factory: pytest.TempPathFactory, receiver: Receiver
) -> Iterator[dict[str, Any]]:
    """A server with a binary listener and two legacy-style webhooks of the test template."""
    folder: Path = tmp_path_factory.mktemp("webhook-legacy")
    spec = load_spec(1)
    template = {"kind": "TEMPLATE_DATASTREAM", "template": "ESP32 QA"}
    spec["webhooks"] = [
        {
            "name": "Legacy value",
            "trigger": {**template, "dataStreamId": 1},
            "method": "GET",
            "url": f"{receiver.url}/legacy?value=/pin/&at=/datetime_iso/",
        },
        {
            "name": "Legacy items",
            "trigger": {**template, "dataStreamId": 4},
            "method": "POST",
            "contentType": "PLAIN_TEXT",
            "url": f"{receiver.url}/items",
            "body": "first=/pin[0]/ second=/pin[1]/ all=%s",
        },
        {
            "name": "Token in the query",
            "trigger": {**template, "dataStreamId": 2},
            "method": "GET",
            "url": f"{receiver.url}/secret?t={{device_authToken}}",
        },
        {
            "name": "Answer to the pin",
            "trigger": {**template, "dataStreamId": 9},
            "method": "GET",
            "url": f"{receiver.url}/answer?h=/pin/",
            "legacyResponseToPin": True,
        },
    ]
    receiver.routes["/answer"] = [Reply(body=b"61.5")]
    created = provision(spec, data_dir=folder)
    port, mqtt_port = free_port(), free_port()
    env = {**UNTHROTTLED, "PINBASE_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32"}
    listeners = (f"--hardware-port={port}", f"--mqtt-port={mqtt_port}")
    with ServerProcess(folder, *listeners, env=env) as server:
        yield {
            "port": port,
            "mqtt_port": mqtt_port,
            "device": created["devices"][0],
            "server": server,
            "url": server.base_url,
        }


def test_a_blynklib_write_reaches_a_legacy_webhook(
    legacy_server: dict[str, Any], receiver: Receiver, tmp_path: Path
) -> None:
    """``virtual_write(1, 42)`` arrives as ``/legacy?value=42`` (the token ``/pin/`` is replaced
    slashes included, as the legacy server did); a multi-value write to V4 fills ``/pin[0]/`` and
    ``/pin[1]/``."""
    token = legacy_server["device"]["token"]
    with DeviceClient(
        BLYNKLIB, token, port=legacy_server["port"], log_dir=tmp_path
    ).started() as client:
        client.command("write", pin=1, values=["42"])
        assert eventually(lambda: any(r.target.startswith("/legacy?") for r in receiver.received))
        client.command("write", pin=4, values=["a b", "c"])
        assert eventually(lambda: any(r.target == "/items" for r in receiver.received))
    legacy = next(r for r in receiver.received if r.target.startswith("/legacy?"))
    assert legacy.method == "GET"
    assert legacy.target.startswith("/legacy?value=42&at=20")
    items = next(r for r in receiver.received if r.target == "/items")
    assert items.body == b"first=a b second=c all=a b,c"


def test_the_server_log_holds_no_outbound_url(
    legacy_server: dict[str, Any], receiver: Receiver, tmp_path: Path
) -> None:
    """A webhook URL carrying the device token reaches the receiver, but the server's log does
    not show it (httpx's per-request INFO line is silenced)."""
    token = legacy_server["device"]["token"]
    with DeviceClient(
        BLYNKLIB, token, port=legacy_server["port"], log_dir=tmp_path
    ).started() as client:
        client.command("write", pin=2, values=["7"])
        assert eventually(lambda: any(r.target == f"/secret?t={token}" for r in receiver.received))
    log = legacy_server["server"].log()
    assert "/secret" not in log
    assert token not in log


def test_a_legacy_response_to_pin_reaches_the_blynklib_device_unstored(
    legacy_server: dict[str, Any], receiver: Receiver, tmp_path: Path
) -> None:
    """With ``legacyResponseToPin`` (§4.6) the receiver's answer ``61.5`` to a write of V9 comes
    back to the device as a write of V9, and the datastream keeps the device's own value."""
    token = legacy_server["device"]["token"]
    with DeviceClient(
        BLYNKLIB, token, port=legacy_server["port"], log_dir=tmp_path
    ).started() as client:
        client.command("write", pin=9, values=["55.5"])
        pushed = client.expect("write", within=10, pin=9)
    assert pushed["values"] == ["61.5"]
    assert any(r.target == "/answer?h=55.5" for r in receiver.received)
    with httpx.Client(base_url=legacy_server["url"]) as api:
        assert value_of(api, token, "v9") == "55.5"


def test_a_legacy_response_to_pin_reaches_a_paho_mqtt_device(
    legacy_server: dict[str, Any], receiver: Receiver, tmp_path: Path
) -> None:
    """The same webhook's answer reaches a paho-mqtt device that published ``ds/Humidity`` as a
    message on ``downlink/ds/Humidity``."""
    token = legacy_server["device"]["token"]
    with DeviceClient(
        "paho_mqtt", token, port=legacy_server["mqtt_port"], log_dir=tmp_path, heartbeat=45
    ).started("subscribed", codes=[0]) as client:
        client.command("publish", topic="ds/Humidity", payload="40.5", qos=1)
        client.expect("message", within=10, topic="downlink/ds/Humidity", payload="61.5")
    assert any(r.target == "/answer?h=40.5" for r in receiver.received)
