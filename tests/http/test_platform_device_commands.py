"""The device-commands extension of the Platform API (docs/platform-api.md), in process with a
binary-protocol listener: reboot, ping, redirect and reconfigure reach a C++-like device over a
real socket and land in PLT-DEV-20; offline devices get 409, other organizations' 404, bad input
400, all in the API's error shape."""

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from inprocess import InProcessServer, bearer, in_process_server
from pinbase.transports.login_guard import LoginGuard
from pinbase.transports.tcp import DeviceListeners

HEADER = struct.Struct(">BHH")
HW_LOGIN, PING, INTERNAL, REDIRECT = 29, 6, 17, 41
CPP_INFO = ("mcu", "1.0.0", "h-beat", "45", "buff-in", "1024", "dev", "ESP32")
DEVICE = "/api/v1/organization/device"


def org_spec(name: str) -> dict[str, Any]:
    """An organization with an OAuth client and three devices of a one-datastream template (the
    third never connects)."""
    return {
        "organization": {"name": name},
        "oauthClients": [{"name": "api"}],
        "templates": [
            {"name": "Tank", "datastreams": [{"id": 1, "label": "Level", "pin": 1, "type": "INT"}]}
        ],
        "devices": [
            {"name": f"{name} One", "template": "Tank"},
            {"name": f"{name} Two", "template": "Tank"},
            {"name": f"{name} Three", "template": "Tank"},
        ],
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[InProcessServer, int]]:
    """The application and a binary listener on a free port, over the same services."""
    folder: Path = tmp_path_factory.mktemp("device-commands-api")
    with in_process_server(folder) as server:
        services, config = server.services, server.settings

        async def start() -> tuple[DeviceListeners, int]:
            guard = LoginGuard.for_settings(config, clock=services.clock)
            listeners = DeviceListeners.for_services(services, settings=config, guard=guard)
            return listeners, await listeners.open("127.0.0.1", 0)

        listeners, port = server.run(start)
        try:
            yield server, port
        finally:
            server.run(listeners.stop)


@pytest.fixture(scope="module")
def acme(site: tuple[InProcessServer, int]) -> dict[str, Any]:
    """Acme: a client and three devices."""
    return site[0].provision(org_spec("Acme"))


@pytest.fixture(scope="module")
def other(site: tuple[InProcessServer, int]) -> dict[str, Any]:
    """Another organization with devices of its own."""
    return site[0].provision(org_spec("Other"))


class Device:
    """A device speaking the binary protocol like the C++ library, over a blocking socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def send(self, command: int, msg_id: int, *parts: str) -> None:
        """One frame whose body is ``parts`` joined by NUL."""
        body = "\0".join(parts).encode()
        self.sock.sendall(HEADER.pack(command, msg_id, len(body)) + body)

    def read(self) -> tuple[int, int, list[str]]:
        """The next frame: command, msg id and body parts (a RESPONSE's status as its part)."""
        command, msg_id, length = HEADER.unpack(self._exactly(5))
        if command == 0:
            return command, msg_id, [str(length)]
        body = self._exactly(length).decode()
        return command, msg_id, body.split("\0") if body else []

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("closed by the server")
            data += chunk
        return data


@contextmanager
def connected(site: tuple[InProcessServer, int], device: dict[str, Any]) -> Iterator[Device]:
    """The device logged in with its info message answered, and counted online."""
    port = site[1]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        link = Device(sock)
        link.send(HW_LOGIN, 1, device["token"])
        assert link.read() == (0, 1, ["200"])
        link.send(INTERNAL, 2, *CPP_INFO)
        assert link.read() == (0, 2, ["200"])
        yield link


def logs(http: Any, headers: dict[str, str], device_id: int) -> list[dict[str, Any]]:
    """The device's PLT-DEV-20 entries, newest first."""
    answer = http.get(f"{DEVICE}/logs", params={"deviceId": device_id}, headers=headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["content"])


def test_reboot_reaches_the_device_and_is_logged(
    site: tuple[InProcessServer, int], acme: dict[str, Any]
) -> None:
    """204; the device reads INTERNAL ``dbg reboot``; PLT-DEV-20 shows a ``reboot`` entry
    without a pin."""
    device = acme["devices"][0]
    with site[0].client() as http, connected(site, device) as link:
        headers = bearer(http, acme)
        answer = http.post(f"{DEVICE}/reboot", params={"deviceId": device["id"]}, headers=headers)
        assert answer.status_code == 204, answer.text
        command, msg_id, parts = link.read()
        assert (command, parts) == (INTERNAL, ["dbg", "reboot"])
        assert msg_id != 0
        (entry,) = logs(http, headers, device["id"])
    assert (entry["command"], entry["pin"], entry["pinType"]) == ("reboot", None, None)
    assert (entry["client"], entry["isOnline"], entry["value"]) == ("HTTPS API", True, None)


def test_ping_answers_the_round_trip(
    site: tuple[InProcessServer, int], acme: dict[str, Any]
) -> None:
    """The device answers PING with RESPONSE 200; the API answers ``answered`` and ``ms``."""
    device = acme["devices"][1]
    with site[0].client() as http, connected(site, device) as link:
        headers = bearer(http, acme)

        def answer_ping() -> None:
            command, msg_id, _ = link.read()
            assert command == PING
            link.sock.sendall(HEADER.pack(0, msg_id, 200))

        answering = threading.Thread(target=answer_ping)
        answering.start()
        answer = http.post(f"{DEVICE}/ping", params={"deviceId": device["id"]}, headers=headers)
        answering.join(5)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["answered"] is True
        assert body["ms"] >= 0
        assert logs(http, headers, device["id"])[0]["value"] == {"ms": body["ms"]}


def test_redirect_sends_host_and_port(
    site: tuple[InProcessServer, int], acme: dict[str, Any]
) -> None:
    """A redirect body ``{"host","port"}`` becomes REDIRECT ``host\\0port``."""
    device = acme["devices"][0]
    with site[0].client() as http, connected(site, device) as link:
        headers = bearer(http, acme)
        answer = http.post(
            f"{DEVICE}/redirect",
            params={"deviceId": device["id"]},
            headers=headers,
            json={"host": "node2.example", "port": 8442},
        )
        assert answer.status_code == 204, answer.text
        assert link.read()[::2] == (REDIRECT, ["node2.example", "8442"])


def test_reconfigure_sends_dbg_config_start(
    site: tuple[InProcessServer, int], acme: dict[str, Any]
) -> None:
    """Reconfigure (experimental) is INTERNAL ``dbg config start``."""
    device = acme["devices"][0]
    with site[0].client() as http, connected(site, device) as link:
        headers = bearer(http, acme)
        path = f"{DEVICE}/reconfigure"
        assert (
            http.post(path, params={"deviceId": device["id"]}, headers=headers).status_code == 204
        )
        assert link.read()[::2] == (INTERNAL, ["dbg", "config start"])


@pytest.mark.parametrize("command", ["reboot", "ping", "reconfigure"])
def test_offline_device_is_409(
    site: tuple[InProcessServer, int], acme: dict[str, Any], command: str
) -> None:
    """A command to an offline device: 409 ``Device is offline.``, nothing logged."""
    device = acme["devices"][2]
    with site[0].client() as http:
        headers = bearer(http, acme)
        answer = http.post(
            f"{DEVICE}/{command}", params={"deviceId": device["id"]}, headers=headers
        )
        assert answer.status_code == 409
        assert answer.json() == {"error": {"message": "Device is offline."}}
        assert logs(http, headers, device["id"]) == []


def test_another_organizations_device_is_not_found(
    site: tuple[InProcessServer, int], acme: dict[str, Any], other: dict[str, Any]
) -> None:
    """Acme's client cannot command Other's device, even when it is online: 404."""
    device = other["devices"][0]
    with site[0].client() as http, connected(site, device):
        headers = bearer(http, acme)
        answer = http.post(f"{DEVICE}/reboot", params={"deviceId": device["id"]}, headers=headers)
        assert answer.status_code == 404
        assert "not found" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"host": "h"},
        {"host": "", "port": 80},
        {"host": "h", "port": 0},
        {"host": "h", "port": "80"},
        {"host": "h b", "port": 80},
        {"host": "h", "port": 80, "uri": "http://h"},
    ],
)
def test_bad_redirect_bodies_are_400(
    site: tuple[InProcessServer, int], acme: dict[str, Any], body: dict[str, Any]
) -> None:
    """A missing or malformed host, port or URI is 400 in the error shape."""
    device = acme["devices"][0]
    with site[0].client() as http, connected(site, device):
        headers = bearer(http, acme)
        answer = http.post(
            f"{DEVICE}/redirect", params={"deviceId": device["id"]}, headers=headers, json=body
        )
        assert answer.status_code == 400
        assert set(answer.json()) == {"error"}


def test_operations_are_marked_as_extensions(site: tuple[InProcessServer, int]) -> None:
    """Each command appears in ``/openapi.json`` with ``x-pinbase-extension``."""
    with site[0].client() as http:
        paths = http.get("/openapi.json").json()["paths"]
    for command in ("reboot", "ping", "redirect", "reconfigure"):
        assert paths[f"{DEVICE}/{command}"]["post"]["x-pinbase-extension"] is True
