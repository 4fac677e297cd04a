"""PyPI ``blynk-library-python`` 0.2.0 (``BlynkLib``) as a device against ``pinbase serve``
(device-protocols.md §3.3, §4.1)."""

from pathlib import Path
from typing import Any

import httpx
from interop_driver import (
    BLYNK_LIBRARY_PYTHON,
    DeviceClient,
    InteropServer,
    check_heartbeat_keeps_live_and_drops_frozen,
    connect_binary,
    eventually,
    is_connected,
    value_of,
)


def connect(server: InteropServer, token: str, logs: Path, **options: Any) -> DeviceClient:
    """A BlynkLib process logged in with ``token``."""
    return connect_binary(BLYNK_LIBRARY_PYTHON, server, token, logs, **options)


def test_writes_flow_both_ways(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], client_logs: Path
) -> None:
    """An HTTP update reaches the V1 handler, a multi-value one arrives whole, and the device's
    ``virtual_write`` is readable over HTTP."""
    token = fresh["token"]
    with connect(interop_server, token, client_logs) as client:
        assert is_connected(api, token)
        assert api.get(f"/external/api/update?token={token}&v1=42").is_success
        client.expect("write", pin=1, values=["42"])
        assert api.get(f"/external/api/update?token={token}&v4=from-app&v4=second").is_success
        client.expect("write", pin=4, values=["from-app", "second"])
        client.command("write", pin=3, values=["21.5"])
        assert eventually(lambda: value_of(api, token, "v3") == "21.50000")


def test_bad_token_is_refused(interop_server: InteropServer, client_logs: Path) -> None:
    """An unknown token: the library prints "Invalid auth token" and reports a disconnect."""
    with DeviceClient(
        BLYNK_LIBRARY_PYTHON, "y" * 32, port=interop_server.hardware_port, log_dir=client_logs
    ) as client:
        client.expect("disconnected")
        assert "Invalid auth token" in client.lines
        assert not client.saw("connected")


def test_sync_delivers_every_pin(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], client_logs: Path
) -> None:
    """``sync_virtual(1, 2)`` brings back both stored values (BlynkLib reassembles frames)."""
    token = fresh["token"]
    assert api.get(f"/external/api/batch/update?token={token}&v1=11&v2=22").is_success
    with connect(interop_server, token, client_logs) as client:
        client.command("sync", pins=[1, 2])
        client.expect("write", pin=1, values=["11"])
        client.expect("write", pin=2, values=["22"])


def test_set_property_is_stored(
    interop_server: InteropServer, fresh: dict[str, Any], client_logs: Path
) -> None:
    """``set_property(5, 'color', '#FF0000')`` is stored for V5."""
    with connect(interop_server, fresh["token"], client_logs) as client:
        client.command("property", pin=5, name="color", values=["#FF0000"])
        sql = "SELECT name, value FROM properties WHERE device_id = ?"
        assert eventually(lambda: interop_server.rows(sql, fresh["id"]) == [("color", '"#FF0000"')])


def test_log_event_and_notify(
    interop_server: InteropServer, fresh: dict[str, Any], client_logs: Path
) -> None:
    """``log_event('overheat', 'too hot')`` lands on the device timeline; ``notify`` in the
    notification log (no owner: NO_RECIPIENT)."""
    with connect(interop_server, fresh["token"], client_logs) as client:
        client.command("log_event", code="overheat", description="too hot")
        client.command("notify", text="hello from BlynkLib")
        sql = "SELECT code, description FROM device_events WHERE device_id = ?"
        assert eventually(
            lambda: interop_server.rows(sql, fresh["id"]) == [("overheat", "too hot")]
        )
        log = "SELECT channel, reason, body FROM notification_log WHERE device_id = ?"
        assert eventually(
            lambda: (
                interop_server.rows(log, fresh["id"])
                == [("PUSH", "NO_RECIPIENT", "hello from BlynkLib")]
            )
        )


def test_a_dropped_event_leaves_the_library_connected(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], client_logs: Path
) -> None:
    """Five ``log_event('door_open')`` at once: the repeats within a second are dropped and
    answered QUOTA_LIMIT (automations.md §1.9, logged ``RATE_1S``); BlynkLib only logs the
    status, stays connected, and a later write still reaches its handler."""
    token = fresh["token"]
    with connect(interop_server, token, client_logs) as client:
        for _ in range(5):
            client.command("log_event", code="door_open")
        dropped = "SELECT id FROM notification_log WHERE device_id = ? AND reason = 'RATE_1S'"
        assert eventually(lambda: len(interop_server.rows(dropped, fresh["id"])) >= 1)
        assert is_connected(api, token)
        assert api.get(f"/external/api/update?token={token}&v1=5").is_success
        client.expect("write", pin=1, values=["5"])


def test_heartbeat_keeps_a_live_device_while_a_frozen_one_goes_offline(
    interop_server: InteropServer, api: httpx.Client, client_logs: Path
) -> None:
    """With h-beat 2 (idle timeout ceil(2.3 x 2) = 5 s), an idle client that pings stays
    connected for 6 s, while a SIGSTOPped one (socket open, silent) goes offline after 5 s."""
    check_heartbeat_keeps_live_and_drops_frozen(
        BLYNK_LIBRARY_PYTHON, interop_server, api, client_logs
    )


def test_killed_client_goes_offline_at_once(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], client_logs: Path
) -> None:
    """SIGKILL closes the socket and the device is offline at once."""
    token = fresh["token"]
    with connect(interop_server, token, client_logs) as client:
        client.kill()
        assert eventually(lambda: not is_connected(api, token), within=1)


def test_second_login_replaces_the_first(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], client_logs: Path
) -> None:
    """A second client with the same token takes over: pushes go to it, the first one finds
    its socket closed (it never reconnects by itself, §3.3 quirk 4)."""
    token = fresh["token"]
    with connect(interop_server, token, client_logs, heartbeat=1) as first:
        second = connect(interop_server, token, client_logs)
        with second:
            assert api.get(f"/external/api/update?token={token}&v1=5").is_success
            second.expect("write", pin=1, values=["5"])
            assert eventually(lambda: first.saw("disconnected") or first.saw("error"), within=6)
            assert is_connected(api, token)
