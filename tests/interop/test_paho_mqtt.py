"""PyPI ``paho-mqtt`` as a Blynk MQTT device against ``pinbase serve`` (device-protocols.md §2,
§4.1 item 6): every scenario goes through a real client in a subprocess."""

import json
import time
from pathlib import Path
from typing import Any

import httpx
from interop_driver import DeviceClient, InteropServer, eventually, is_connected, value_of

PAHO = "paho_mqtt"


def device(
    server: InteropServer, token: str, logs: Path, *extra: str, tls: bool = False
) -> DeviceClient:
    """A paho process connected with ``token`` (over TLS to ``localhost`` with ``tls``) and
    subscribed to ``downlink/#``."""
    if tls:
        extra += ("--ca-cert", str(server.cert))
    client = DeviceClient(
        PAHO,
        token,
        server="localhost" if tls else "127.0.0.1",
        port=server.mqtt_tls_port if tls else server.mqtt_port,
        log_dir=logs,
        heartbeat=45,
        extra=extra,
    )
    return client.started("subscribed", codes=[0])  # it subscribes once connected


def test_publish_is_stored_and_readable_over_http(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """``ds/Temperature`` 21.5 is returned by GET /external/api/get; the device is online."""
    token = fresh["token"]
    with device(interop_server, token, tmp_path) as client:
        assert is_connected(api, token)
        client.command("publish", topic="ds/Temperature", payload="21.5", qos=1)
        assert eventually(lambda: value_of(api, token, "v3") == "21.50000")


def test_tls_connection_carries_writes_both_ways(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """Over TLS (§2.1, 8883) to ``localhost`` with the throwaway certificate: the device's
    publish is stored and an API write reaches it."""
    token = fresh["token"]
    with device(interop_server, token, tmp_path, tls=True) as client:
        assert is_connected(api, token)
        client.command("publish", topic="ds/Temperature", payload="19.5", qos=1)
        assert eventually(lambda: value_of(api, token, "v3") == "19.50000")
        assert api.get(f"/external/api/update?token={token}&v1=8").status_code == 200
        client.expect("message", topic="downlink/ds/Counter", payload="8")


def test_bad_token_is_refused_with_bad_credentials(
    interop_server: InteropServer, tmp_path: Path
) -> None:
    """An unknown token: CONNACK 0x04, which paho reports as reason 0x86."""
    with DeviceClient(PAHO, "x" * 32, port=interop_server.mqtt_port, log_dir=tmp_path) as client:
        failed = client.expect("connect_failed")
        assert failed["code"] == 0x86
        assert not client.saw("connected")


def test_http_update_reaches_the_device_and_its_own_writes_are_not_echoed(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """An API write arrives on ``downlink/ds/<name>`` (multi-value NUL-separated); the
    device's own publish does not come back."""
    token = fresh["token"]
    with device(interop_server, token, tmp_path) as client:
        assert api.get(f"/external/api/update?token={token}&v1=42").status_code == 200
        client.expect("message", topic="downlink/ds/Counter", payload="42")
        answer = api.get(f"/external/api/update?token={token}&v5=1.5&v5=2.5")
        assert answer.status_code == 200
        client.expect("message", topic="downlink/ds/Position", payload="1.5\x002.5")
        client.command("publish", topic="ds/Counter", payload="7")
        assert eventually(lambda: value_of(api, token, "v1") == "7")
        time.sleep(0.3)
        assert not any(
            seen.get("payload") == "7" for seen in client._backlog if seen["event"] == "message"
        )


def test_get_ds_answers_values_and_defaults_and_get_ds_all_the_flagged(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """``get/ds`` answers each listed name (Setpoint by its default); ``get/ds/all`` answers the
    datastreams flagged "sync with latest"; an unknown name is told on ``downlink/diag``."""
    token = fresh["token"]
    assert api.get(f"/external/api/update?token={token}&v2=9").status_code == 200
    with device(interop_server, token, tmp_path) as client:
        client.command("publish", topic="get/ds", payload="Setpoint,Nope")
        client.expect("message", topic="downlink/ds/Setpoint", payload="21.5")
        diag = client.expect("message", topic="downlink/diag")
        assert "Nope" in diag["payload"]
        client.command("publish", topic="get/ds/all")
        client.expect("message", topic="downlink/ds/Level", payload="9")


def test_batch_ds_stores_several_values(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """``batch_ds`` with JSON types per datastream; a wrong type is dropped and told."""
    token = fresh["token"]
    batch = {"Counter": 12, "Message": "hello", "Position": [30.5, 50.25], "Level": "x"}
    with device(interop_server, token, tmp_path) as client:
        client.command("publish", topic="batch_ds", payload=json.dumps(batch))
        diag = client.expect("message", topic="downlink/diag")
        assert "Level" in diag["payload"]
    assert value_of(api, token, "v1") == "12"
    assert value_of(api, token, "v4") == "hello"
    assert value_of(api, token, "v2") == ""


def test_property_event_and_info_are_stored(
    interop_server: InteropServer, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """``ds/<name>/prop/color``, ``event/overheat`` and ``info/mcu`` reach their tables."""
    info = {"tmpl": "TMPL0001", "ver": "3.2.1", "build": "Jan 1 2026", "type": "TMPL0001"}
    with device(interop_server, fresh["token"], tmp_path) as client:
        client.command("publish", topic="ds/Counter/prop/color", payload="#FF0000")
        client.command("publish", topic="event/overheat", payload="too hot")
        client.command("publish", topic="info/mcu", payload=json.dumps(info | {"rxbuff": 1024}))
        sql = "SELECT name, value FROM properties WHERE device_id = ?"
        assert eventually(lambda: interop_server.rows(sql, fresh["id"]) == [("color", '"#FF0000"')])
        sql = "SELECT code, description FROM device_events WHERE device_id = ?"
        assert eventually(
            lambda: interop_server.rows(sql, fresh["id"]) == [("overheat", "too hot")]
        )
        sql = "SELECT hardware_info FROM devices WHERE id = ?"

        def stored_info() -> dict[str, Any]:
            (text,) = interop_server.rows(sql, fresh["id"])[0]
            return json.loads(text) if text else {}

        assert eventually(lambda: stored_info().get("version") == "3.2.1")
        assert stored_info()["template_code"] == "TMPL0001"


def test_erase_clears_the_current_value_and_the_property(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """``ds/Setpoint/erase`` deletes the stored value (reads and ``get/ds`` answer the default
    again, history stays); ``ds/Setpoint/prop/color/erase`` removes the stored property."""
    token, device_id = fresh["token"], fresh["id"]
    default = value_of(api, token, "v8")
    current = "SELECT COUNT(*) FROM current_values WHERE device_id = ?"
    properties = "SELECT name FROM properties WHERE device_id = ?"
    with device(interop_server, token, tmp_path) as client:
        client.command("publish", topic="ds/Setpoint", payload="30", qos=1)
        client.command("publish", topic="ds/Setpoint/prop/color", payload="#00FF00", qos=1)
        assert eventually(lambda: interop_server.rows(properties, device_id) == [("color",)])
        assert interop_server.rows(current, device_id) == [(1,)]
        assert value_of(api, token, "v8") != default
        client.command("publish", topic="ds/Setpoint/erase", qos=1)
        client.command("publish", topic="ds/Setpoint/prop/color/erase", qos=1)
        assert eventually(lambda: interop_server.rows(properties, device_id) == [])
        assert interop_server.rows(current, device_id) == [(0,)]
        assert value_of(api, token, "v8") == default
        client.command("publish", topic="get/ds", payload="Setpoint")
        client.expect("message", topic="downlink/ds/Setpoint", payload="21.5")
    history = "SELECT COUNT(*) FROM history WHERE device_id = ?"
    assert interop_server.rows(history, device_id) == [(1,)]


def test_clean_disconnect_goes_offline_without_the_will(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """DISCONNECT: offline at once, and the will is discarded."""
    token = fresh["token"]
    extra = ("--will-topic", "ds/Message", "--will-payload", "gone")
    with device(interop_server, token, tmp_path, *extra) as client:
        client.command("disconnect")
        assert eventually(lambda: not is_connected(api, token), within=2)
    time.sleep(0.2)
    assert value_of(api, token, "v4") == ""


def test_killed_device_fires_its_will_then_goes_offline(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """The kernel closes the socket of a killed client: the will is stored as its publish."""
    token = fresh["token"]
    extra = ("--will-topic", "ds/Message", "--will-payload", "gone")
    with device(interop_server, token, tmp_path, *extra) as client:
        client.kill()
        assert eventually(lambda: not is_connected(api, token), within=2)
        assert value_of(api, token, "v4") == "gone"


def test_mqtt5_client_connects_writes_and_receives(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """MQTT 5 is spoken too: connect, publish, downlink."""
    token = fresh["token"]
    with device(interop_server, token, tmp_path, "--mqtt5") as client:
        client.command("publish", topic="ds/Humidity", payload="55.5")
        assert eventually(lambda: value_of(api, token, "v9") == "55.5")
        assert api.get(f"/external/api/update?token={token}&v1=3").status_code == 200
        client.expect("message", topic="downlink/ds/Counter", payload="3")


def test_a_second_connection_with_the_token_replaces_the_first(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """One connection per token (§2.2): the older one is closed, the device stays online."""
    token = fresh["token"]
    with device(interop_server, token, tmp_path) as first, device(interop_server, token, tmp_path):
        first.expect("disconnected")
        assert is_connected(api, token)


def test_a_dropped_event_is_told_on_diag(
    interop_server: InteropServer, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """Two ``event/door_open`` at once: the second is dropped and told ``event: limit reached``
    on ``downlink/diag`` (automations.md §1.9)."""
    with device(interop_server, fresh["token"], tmp_path) as client:
        client.command("publish", topic="event/door_open", payload="")
        client.command("publish", topic="event/door_open", payload="")
        diag = client.expect("message", topic="downlink/diag")
        assert diag["payload"] == "event: limit reached"
