"""``firstConnectTime`` of PLT-DEV-06 and PLT-DEV-07, in process: 0 until the device first
connects, then that time, kept across later disconnects and reconnects."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from inprocess import InProcessServer, bearer, in_process_server
from pinbase.domain.ids import DeviceId

DEVICE = "/api/v1/organization/device"
T0 = 1_760_000_000_000


@dataclass
class Clock:
    """The server's clock, moved by the test."""

    now: int = T0

    def __call__(self) -> int:
        return self.now


SPEC: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "oauthClients": [{"name": "api"}],
    "templates": [
        {"name": "Tank", "datastreams": [{"id": 1, "label": "Level", "pin": 1, "type": "INT"}]}
    ],
    "devices": [{"name": "Tank A", "template": "Tank"}, {"name": "Tank B", "template": "Tank"}],
}


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[InProcessServer, Clock, dict[str, Any]]]:
    """An application on a hand clock with two devices that never connected."""
    clock = Clock()
    with in_process_server(tmp_path_factory.mktemp("first-connect"), clock=clock) as server:
        yield server, clock, server.provision(SPEC)


def _first_connect_times(server: InProcessServer, created: dict[str, Any], device: int) -> set[int]:
    """``firstConnectTime`` as PLT-DEV-06 and PLT-DEV-07 answer it."""
    with server.client() as http:
        headers = bearer(http, created)
        answers = [
            http.get(f"{DEVICE}{path}", params={"deviceId": device}, headers=headers)
            for path in ("", "/baseInfo")
        ]
    assert [answer.status_code for answer in answers] == [200, 200]
    return {answer.json()["firstConnectTime"] for answer in answers}


def _presence(server: InProcessServer, device: int, *, online: bool) -> None:
    """The device connects or disconnects; the lifecycle reaction has stored it."""

    async def change() -> None:
        if online:
            server.services.presence.mark_online(DeviceId(device))
        else:
            server.services.presence.mark_offline(DeviceId(device))
        await server.services.lifecycle.drain()

    server.run(change)


def test_first_connect_time_is_zero_until_connected(
    site: tuple[InProcessServer, Clock, dict[str, Any]],
) -> None:
    """A device that never connected answers ``firstConnectTime`` 0."""
    server, _, created = site
    assert _first_connect_times(server, created, created["devices"][1]["id"]) == {0}


def test_first_connect_time_is_the_first_connection(
    site: tuple[InProcessServer, Clock, dict[str, Any]],
) -> None:
    """The first connection's time is answered, and a reconnect later does not move it."""
    server, clock, created = site
    device = created["devices"][0]["id"]
    clock.now = T0 + 5_000
    _presence(server, device, online=True)
    clock.now = T0 + 60_000
    _presence(server, device, online=False)
    clock.now = T0 + 120_000
    _presence(server, device, online=True)
    assert _first_connect_times(server, created, device) == {T0 + 5_000}
    assert _first_connect_times(server, created, created["devices"][1]["id"]) == {0}
