"""PyPI ``blynklib`` 0.2.6 as a device against ``pinbase serve`` (device-protocols §3.2, §4.1)."""

import json
from pathlib import Path
from typing import Any

import httpx
from interop_driver import (
    BLYNKLIB,
    DeviceClient,
    InteropServer,
    check_heartbeat_keeps_live_and_drops_frozen,
    connect_binary,
    eventually,
    is_connected,
    value_of,
)


def connect(server: InteropServer, token: str, logs: Path, **options: Any) -> DeviceClient:
    """A blynklib process logged in with ``token`` on the plain port."""
    return connect_binary(BLYNKLIB, server, token, logs, **options)


def hardware_info(server: InteropServer, device_id: int) -> dict[str, Any]:
    """The hardware info the server stored for a device."""
    ((text,),) = server.rows("SELECT hardware_info FROM devices WHERE id = ?", device_id)
    return json.loads(text) if text else {}


def test_update_reaches_the_handler_and_virtual_write_is_readable(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], client_logs: Path
) -> None:
    """Done-when of issue #4: GET /external/api/update reaches the ``write V1`` handler, and a
    ``virtual_write`` is returned by GET /external/api/get, in the same test."""
    token = fresh["token"]
    with connect(interop_server, token, client_logs) as client:
        assert api.get(f"/external/api/update?token={token}&v1=42").status_code == 200
        client.expect("write", pin=1, values=["42"])
        client.command("write", pin=3, values=["21.5"])
        assert eventually(lambda: value_of(api, token, "v3") == "21.50000")


def test_login_marks_the_device_online_and_stores_its_info(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], client_logs: Path
) -> None:
    """A valid token connects (the info answer arrived); the server reports the device online
    and keeps ``ver`` 0.2.6 and ``dev`` python."""
    token = fresh["token"]
    with connect(interop_server, token, client_logs):
        assert is_connected(api, token)
        assert eventually(
            lambda: hardware_info(interop_server, fresh["id"]).get("blynk_version") == "0.2.6"
        )
        assert hardware_info(interop_server, fresh["id"])["board_type"] == "python"


def test_bad_token_fails_to_connect(interop_server: InteropServer, client_logs: Path) -> None:
    """An unknown token: ``connect()`` returns False after its timeout."""
    with DeviceClient(
        BLYNKLIB,
        "x" * 32,
        port=interop_server.hardware_port,
        log_dir=client_logs,
        extra=("--connect-timeout", "1"),
    ) as client:
        client.expect("connect_failed", within=10)
        assert not client.saw("connected")


def test_multi_value_push_and_string_write(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], client_logs: Path
) -> None:
    """A repeated ``value`` reaches the handler as several values; a device's multi-value write
    to a string datastream is stored NUL-joined."""
    token = fresh["token"]
    with connect(interop_server, token, client_logs) as client:
        assert api.get(f"/external/api/update?token={token}&v4=from-app&v4=second").is_success
        client.expect("write", pin=4, values=["from-app", "second"])
        client.command("write", pin=4, values=["a", "b"])
        assert eventually(lambda: value_of(api, token, "v4") == "a\0b")


def test_sync_one_pin_and_several(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], client_logs: Path
) -> None:
    """A stored V2 comes back on ``virtual_sync(2)``; ``virtual_sync(1, 2)`` delivers both,
    because the server paces blynklib's frames 100 ms apart."""
    token = fresh["token"]
    assert api.get(f"/external/api/batch/update?token={token}&v1=11&v2=22").is_success
    with connect(interop_server, token, client_logs) as client:
        client.command("sync", pins=[2])
        client.expect("write", pin=2, values=["22"])
        client.command("sync", pins=[1, 2])
        client.expect("write", pin=1, values=["11"])
        client.expect("write", pin=2, values=["22"])


def test_set_property_is_stored(
    interop_server: InteropServer, fresh: dict[str, Any], client_logs: Path
) -> None:
    """``set_property(5, 'color', '#FF0000')`` is stored for the device's V5 datastream."""
    with connect(interop_server, fresh["token"], client_logs) as client:
        client.command("property", pin=5, name="color", values=["#FF0000"])
        sql = "SELECT name, value FROM properties WHERE device_id = ?"
        assert eventually(lambda: interop_server.rows(sql, fresh["id"]) == [("color", '"#FF0000"')])


def test_notify_reaches_the_notification_planner(
    interop_server: InteropServer, fresh: dict[str, Any], client_logs: Path
) -> None:
    """``notify('hi')`` is accepted and planned as a push to the owner; this device has none,
    so the notification log says NO_RECIPIENT with the text (automations.md §2.1)."""
    sql = "SELECT channel, source, reason, body FROM notification_log WHERE device_id = ?"
    with connect(interop_server, fresh["token"], client_logs) as client:
        client.command("notify", text="hello from blynklib")
        assert eventually(
            lambda: (
                interop_server.rows(sql, fresh["id"])
                == [("PUSH", "LEGACY", "NO_RECIPIENT", "hello from blynklib")]
            )
        )


def test_heartbeat_keeps_a_live_device_while_a_frozen_one_goes_offline(
    interop_server: InteropServer, api: httpx.Client, client_logs: Path
) -> None:
    """With h-beat 2 (idle timeout ceil(2.3 x 2) = 5 s), an idle client that pings stays
    connected for 6 s, while a SIGSTOPped one (socket open, silent) goes offline after 5 s."""
    check_heartbeat_keeps_live_and_drops_frozen(BLYNKLIB, interop_server, api, client_logs)


def test_killed_client_goes_offline_at_once(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], client_logs: Path
) -> None:
    """SIGKILL closes the socket; the device is offline at once, not after the timeout."""
    token = fresh["token"]
    with connect(interop_server, token, client_logs) as client:
        assert is_connected(api, token)
        client.kill()
        assert eventually(lambda: not is_connected(api, token), within=1)


def test_tls_connection(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], client_logs: Path
) -> None:
    """Over TLS with ``server='localhost'`` and the throwaway certificate, writes flow both
    ways."""
    token = fresh["token"]
    client = DeviceClient(
        BLYNKLIB,
        token,
        port=interop_server.tls_port,
        server="localhost",
        log_dir=client_logs,
        extra=("--ssl-cert", str(interop_server.cert)),
    )
    with client:
        client.expect("connected")
        assert is_connected(api, token)
        assert api.get(f"/external/api/update?token={token}&v1=7").is_success
        client.expect("write", pin=1, values=["7"])
        client.command("write", pin=2, values=["8"])
        assert eventually(lambda: value_of(api, token, "v2") == "8")
