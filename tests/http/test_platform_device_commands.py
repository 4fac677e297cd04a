"""The device-commands extension of the Platform API (docs/platform-api.md), in process with a
binary-protocol listener: reboot, ping, redirect and reconfigure reach a C++-like device over a
real socket and land in PLT-DEV-20; offline devices get 409, other organizations' 404, bad input
400, all in the API's error shape."""

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from device_link import INTERNAL, REDIRECT, Device, binary_listener, connected

from inprocess import InProcessServer, bearer, in_process_server

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
    with in_process_server(folder) as server, binary_listener(server) as port:
        yield server, port


@pytest.fixture(scope="module")
def acme(site: tuple[InProcessServer, int]) -> dict[str, Any]:
    """Acme: a client and three devices."""
    return site[0].provision(org_spec("Acme"))


@pytest.fixture(scope="module")
def other(site: tuple[InProcessServer, int]) -> dict[str, Any]:
    """Another organization with devices of its own."""
    return site[0].provision(org_spec("Other"))


def online(
    site: tuple[InProcessServer, int], device: dict[str, Any]
) -> AbstractContextManager[Device]:
    """The device connected to the site's listener (a context manager)."""
    return connected(site[1], device["token"])


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
    with site[0].client() as http, online(site, device) as wire:
        headers = bearer(http, acme)
        answer = http.post(f"{DEVICE}/reboot", params={"deviceId": device["id"]}, headers=headers)
        assert answer.status_code == 204, answer.text
        command, msg_id, parts = wire.read()
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
    with site[0].client() as http, online(site, device) as wire:
        headers = bearer(http, acme)

        answering = wire.answer_pings()
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
    with site[0].client() as http, online(site, device) as wire:
        headers = bearer(http, acme)
        answer = http.post(
            f"{DEVICE}/redirect",
            params={"deviceId": device["id"]},
            headers=headers,
            json={"host": "node2.example", "port": 8442},
        )
        assert answer.status_code == 204, answer.text
        assert wire.read()[::2] == (REDIRECT, ["node2.example", "8442"])


def test_reconfigure_sends_dbg_config_start(
    site: tuple[InProcessServer, int], acme: dict[str, Any]
) -> None:
    """Reconfigure (experimental) is INTERNAL ``dbg config start``."""
    device = acme["devices"][0]
    with site[0].client() as http, online(site, device) as wire:
        headers = bearer(http, acme)
        path = f"{DEVICE}/reconfigure"
        assert (
            http.post(path, params={"deviceId": device["id"]}, headers=headers).status_code == 204
        )
        assert wire.read()[::2] == (INTERNAL, ["dbg", "config start"])


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
    with site[0].client() as http, online(site, device):
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
    with site[0].client() as http, online(site, device):
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
