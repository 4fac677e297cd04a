"""Devices behind the address of a typo (issue #8 item 5): right after twenty failed logins from
127.0.0.1, binary and MQTT alike, ``blynklib`` and ``paho-mqtt`` with valid tokens connect."""

import socket
import struct
from pathlib import Path
from typing import Any

import httpx
from interop_driver import BLYNKLIB, DeviceClient, InteropServer, connect_binary, is_connected

from pinbase.protocols.mqtt.client import connect_packet

FAILURES = 20


def answer(port: int, request: bytes, size: int) -> bytes:
    """Send ``request`` on a new connection to ``port`` and read ``size`` bytes back."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while len(received) < size and (chunk := sock.recv(size - len(received))):
            received += chunk
        return received


def fail_logins(server: InteropServer) -> None:
    """``FAILURES`` wrong tokens from 127.0.0.1, binary and MQTT in turn, each refused."""
    for n in range(FAILURES // 2):
        token = f"wrong-{n:026}"
        login = struct.pack(">BHH", 29, 1, len(token)) + token.encode()
        assert answer(server.hardware_port, login, 5) == bytes.fromhex("00 00 01 00 09")
        connect = connect_packet(password=token.encode())
        assert answer(server.mqtt_port, connect, 4) == bytes.fromhex("20 02 00 04")


def test_blynklib_logs_in_right_after_twenty_failures_from_its_address(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], client_logs: Path
) -> None:
    """``blynklib`` with a valid token connects and is online after 20 refused logins."""
    fail_logins(interop_server)
    with connect_binary(BLYNKLIB, interop_server, fresh["token"], client_logs):
        assert is_connected(api, fresh["token"])


def test_paho_connects_right_after_twenty_failures_from_its_address(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], client_logs: Path
) -> None:
    """``paho-mqtt`` with a valid token connects and is online after 20 refused logins."""
    fail_logins(interop_server)
    client = DeviceClient(
        "paho_mqtt", fresh["token"], port=interop_server.mqtt_port, log_dir=client_logs
    )
    with client.started("connected"):
        assert is_connected(api, fresh["token"])
