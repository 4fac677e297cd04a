"""The device page's toolbox commands Reboot and Ping (console.md §1.4, device-lifecycle.md §4),
in process with a binary listener: the device gets the command, the page shows the outcome (a
ping's milliseconds), the actions log names the signed-in user; offline devices, other tenants
and the User role are refused."""

from collections.abc import Iterator

import pytest
from console_site import ADMIN, OTHER, USER, acme_and_other, sign_in
from device_link import INTERNAL, binary_listener, connected

from inprocess import InProcessServer
from pinbase.domain.ids import OrgId

DEVICES = "/dashboard/devices"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[InProcessServer, int]]:
    """Acme and Other Corp, with a binary listener over the same services."""
    folder = tmp_path_factory.mktemp("console-commands")
    with acme_and_other(folder) as server, binary_listener(server) as port:
        yield server, port


def device(server: InProcessServer, name: str) -> tuple[int, str]:
    """The id and token of the device called ``name``."""
    every_org = [OrgId(n) for n in range(1, 100)]
    for bound in server.services.directory.devices_in(every_org):
        if bound.device.name == name:
            return int(bound.device.id), str(bound.device.token)
    raise AssertionError(name)


def test_toolbox_links_to_ping_and_reboot(site: tuple[InProcessServer, int]) -> None:
    """An Admin's device page offers Ping and Reboot in the toolbox."""
    server, _ = site
    device_id, _ = device(server, "Greenhouse North")
    with server.client() as http:
        sign_in(http, ADMIN)
        page = http.get(f"{DEVICES}/{device_id}").text
    assert f'href="{DEVICES}/{device_id}/ping">Ping</a>' in page
    assert f'href="{DEVICES}/{device_id}/reboot">Reboot</a>' in page


def test_reboot_reaches_the_device_and_names_the_user(site: tuple[InProcessServer, int]) -> None:
    """Confirming Reboot sends ``dbg reboot``; the page says so; the actions log shows the
    Admin's e-mail and "Reboot"."""
    server, port = site
    device_id, token = device(server, "Greenhouse North")
    with server.client() as http, connected(port, token) as wire:
        csrf = sign_in(http, ADMIN)
        assert "Reboot Greenhouse North?" in http.get(f"{DEVICES}/{device_id}/reboot").text
        page = http.post(f"{DEVICES}/{device_id}/reboot", data={"csrf_token": csrf})
        assert page.status_code == 200
        assert "Reboot sent" in page.text
        assert wire.read()[::2] == (INTERNAL, ["dbg", "reboot"])
        log = http.get(f"{DEVICES}/{device_id}?tab=developer&tool=actions").text
    assert ADMIN in log
    assert "Device command" in log
    assert "Reboot" in log


def test_ping_shows_the_round_trip(site: tuple[InProcessServer, int]) -> None:
    """The device answers PING; the page shows "Answered in … ms" and offers to ping again."""
    server, port = site
    device_id, token = device(server, "Greenhouse South")
    with server.client() as http, connected(port, token) as wire:
        csrf = sign_in(http, ADMIN)
        answering = wire.answer_pings()
        page = http.post(f"{DEVICES}/{device_id}/ping", data={"csrf_token": csrf})
        answering.join(5)
    assert page.status_code == 200
    assert "Answered in " in page.text
    assert " ms." in page.text
    assert "Ping again" in page.text


def test_offline_device_says_why(site: tuple[InProcessServer, int]) -> None:
    """Reboot or Ping of an offline device: 409 and the reason on the page."""
    server, _ = site
    device_id, _ = device(server, "Uma's Sensor")
    with server.client() as http:
        csrf = sign_in(http, ADMIN)
        for action in ("reboot", "ping"):
            page = http.post(f"{DEVICES}/{device_id}/{action}", data={"csrf_token": csrf})
            assert page.status_code == 409
            assert "The device is offline" in page.text


def test_user_role_and_other_tenants_are_refused(site: tuple[InProcessServer, int]) -> None:
    """The User role may not reboot its own device (403); another tenant's Admin gets 404."""
    server, _ = site
    own_id, _ = device(server, "Uma's Sensor")
    with server.client() as http:
        csrf = sign_in(http, USER)
        assert http.post(f"{DEVICES}/{own_id}/reboot", data={"csrf_token": csrf}).status_code == 403
    with server.client() as http:
        csrf = sign_in(http, OTHER)
        assert http.post(f"{DEVICES}/{own_id}/ping", data={"csrf_token": csrf}).status_code == 404
