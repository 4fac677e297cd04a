"""The device page's tabs, metadata editing, toolbox and Terminal lines, in process (issue #9
item 3): what each role may read and change, and odd query strings never failing."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from console_site import ADMIN, OTHER, PASSWORD, STAFF, USER, other_spec, sign_in

from inprocess import InProcessServer, in_process_server
from pinbase.domain.ids import DatastreamId, DeviceId

SPEC: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [
        {"email": ADMIN, "name": "Ada Admin", "roleId": 1, "password": PASSWORD},
        {"email": STAFF, "name": "Sam Staff", "roleId": 2, "password": PASSWORD},
        {"email": USER, "name": "Uma User", "roleId": 3, "password": PASSWORD},
    ],
    "templates": [
        {
            "name": "Greenhouse",
            "datastreams": [
                {"id": 1, "label": "Temperature", "pin": 1, "type": "DOUBLE", "units": "°C"},
                {"id": 2, "label": "Console", "pin": 2, "type": "STRING"},
            ],
            "events": [{"eventCode": "overheat", "name": "Overheat", "type": "WARNING"}],
            "metafields": [
                {"name": "Serial", "type": "Text"},
                {"name": "Floor", "type": "Number"},
                {"name": "Kind", "type": "Contact"},
            ],
        }
    ],
    "devices": [
        {"name": "Greenhouse North", "template": "Greenhouse"},
        {"name": "Uma's Sensor", "template": "Greenhouse", "owner": USER},
    ],
}


class Site:
    """The application with Acme and Other Corp, and their device ids."""

    def __init__(self, server: InProcessServer) -> None:
        self.server = server
        devices = server.provision(SPEC)["devices"]
        self.north, self.umas = (int(d["id"]) for d in devices)
        self.other = int(server.provision(other_spec())["devices"][0]["id"])
        bound = server.services.directory.by_id(DeviceId(self.north))
        assert bound is not None
        self.field = {field.name: field.id for field in bound.template.metafields}

    @contextmanager
    def client(self, email: str) -> Iterator[tuple[httpx.Client, str]]:
        """A client signed in as ``email`` and its CSRF token."""
        with self.server.client() as http:
            yield http, sign_in(http, email)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One application for the module."""
    with in_process_server(tmp_path_factory.mktemp("tabs")) as server:
        yield Site(server)


@pytest.fixture
def admin(site: Site) -> Iterator[tuple[httpx.Client, str]]:
    """A client signed in as Acme's Admin."""
    with site.client(ADMIN) as (http, token):
        yield http, token


def test_every_tab_renders_for_a_viewer(site: Site) -> None:
    """The User role opens each tab of its own device; no edit form or toolbox shows."""
    with site.client(USER) as (http, _):
        for query in ("tab=timeline", "tab=info", "tab=developer", "tab=developer&tool=actions"):
            answer = http.get(f"/dashboard/devices/{site.umas}?{query}")
            assert answer.status_code == 200, query
        info = http.get(f"/dashboard/devices/{site.umas}?tab=info").text
        assert "Serial" in info
        assert 'name="value"' not in info
        assert "Device actions" not in info
        assert http.get(f"/dashboard/devices/{site.north}?tab=info").status_code == 404


def test_metadata_edit_persists(site: Site, admin: tuple[httpx.Client, str]) -> None:
    """An Admin saves a Text and a Number field; the tab shows the new values and says so."""
    http, token = admin
    serial, floor = site.field["Serial"], site.field["Floor"]
    path = f"/dashboard/devices/{site.north}/metadata"
    answer = http.post(f"{path}/{serial}", data={"csrf_token": token, "value": "SN-42"})
    assert answer.status_code == 303
    assert answer.headers["location"].endswith(f"?tab=info&field={serial}&outcome=saved")
    assert http.post(f"{path}/{floor}", data={"csrf_token": token, "value": "3"}).status_code == 303
    page = http.get(answer.headers["location"]).text
    assert 'value="SN-42"' in page
    assert 'value="3"' in page
    assert "Saved." in page

    async def stored() -> Any:
        bound = site.server.services.directory.by_id(DeviceId(site.north))
        assert bound is not None
        return dict(bound.device.metafield_values)

    assert site.server.run(stored) == {serial: "SN-42", floor: "3"}


def test_metadata_edit_refuses_bad_values(site: Site, admin: tuple[httpx.Client, str]) -> None:
    """A Number that is not a number and a field kind the device API may not write are refused
    with a message; an unknown field or another tenant's device is a 404."""
    http, token = admin
    path = f"/dashboard/devices/{site.north}/metadata"
    answer = http.post(
        f"{path}/{site.field['Floor']}", data={"csrf_token": token, "value": "three"}
    )
    assert answer.headers["location"].endswith("outcome=invalid")
    assert "does not fit" in http.get(answer.headers["location"]).text
    answer = http.post(f"{path}/{site.field['Kind']}", data={"csrf_token": token, "value": "x"})
    assert answer.headers["location"].endswith("outcome=readonly")
    assert http.post(f"{path}/999", data={"csrf_token": token, "value": "x"}).status_code == 404
    other = f"/dashboard/devices/{site.other}/metadata/{site.field['Serial']}"
    assert http.post(other, data={"csrf_token": token, "value": "x"}).status_code == 404
    assert http.post(f"{path}/{site.field['Serial']}", data={"value": "no csrf"}).status_code == 403


def test_metadata_edit_needs_the_edit_permission(site: Site) -> None:
    """The User role may see its device but not change its metadata (403, nothing stored)."""
    with site.client(USER) as (http, token):
        path = f"/dashboard/devices/{site.umas}/metadata/{site.field['Serial']}"
        answer = http.post(path, data={"csrf_token": token, "value": "mine"})
        assert answer.status_code == 403
        assert "may not change" in answer.text
    bound = site.server.services.directory.by_id(DeviceId(site.umas))
    assert bound is not None
    assert dict(bound.device.metafield_values).get(site.field["Serial"]) is None


def test_toolbox_needs_the_edit_permission(site: Site) -> None:
    """The User role gets 403 for rename, erase and delete, shown or posted; Staff may open
    them."""
    with site.client(USER) as (http, token):
        for action in ("rename", "erase", "delete"):
            path = f"/dashboard/devices/{site.umas}/{action}"
            assert http.get(path).status_code == 403
            assert http.post(path, data={"csrf_token": token, "name": "X"}).status_code == 403
    with site.client(STAFF) as (staff, _):
        assert staff.get(f"/dashboard/devices/{site.umas}/erase").status_code == 200
        assert staff.get(f"/dashboard/devices/{site.umas}/nothing").status_code == 404


def test_rename_refuses_a_bad_name(site: Site, admin: tuple[httpx.Client, str]) -> None:
    """A name breaking the Platform API's rule answers the form again with the rule (400)."""
    http, token = admin
    path = f"/dashboard/devices/{site.north}/rename"
    for name in ("", "   ", "x" * 51, "<script>"):
        answer = http.post(path, data={"csrf_token": token, "name": name})
        assert answer.status_code == 400, name
        assert "A name is 1 to 50" in answer.text
    assert http.get(f"/dashboard/devices/{site.north}").text.count("Greenhouse North") >= 1


def test_recent_values_for_a_terminal(site: Site, admin: tuple[httpx.Client, str]) -> None:
    """The last 100 values come oldest first; other tenants, unknown datastreams and callers
    without a session get JSON errors."""
    http, _ = admin
    services = site.server.services

    async def write() -> None:
        bound = services.directory.by_id(DeviceId(site.north))
        assert bound is not None
        console = bound.template.datastream(DatastreamId(2))
        first = services.clock() - 1_000
        for n in range(103):
            writes = [(console, f"line {n}")]
            await services.telemetry.record(bound.device, writes, origin="console", ts=first + n)

    site.server.run(write)
    recent = http.get(f"/dashboard/api/devices/{site.north}/datastreams/2/recent")
    assert recent.status_code == 200
    lines = [entry["value"] for entry in recent.json()["values"]]
    assert lines == [f"line {n}" for n in range(3, 103)]
    missing = http.get(f"/dashboard/api/devices/{site.north}/datastreams/9/recent")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"message": "Datastream 9 not found"}}
    other = http.get(f"/dashboard/api/devices/{site.other}/datastreams/1/recent")
    assert other.status_code == 404
    with site.server.client() as anonymous:
        answer = anonymous.get(f"/dashboard/api/devices/{site.north}/datastreams/2/recent")
        assert answer.status_code == 401


@pytest.mark.parametrize(
    "query",
    [
        "tab=timeline&range=5y&page=abc",
        "tab=timeline&page=99999999999999999999999",
        "tab=timeline&page=%C2%B2",
        "tab=developer&datastream=abc&page=-1",
        "tab=developer&datastream=99999999999999999999",
        "tab=developer&tool=actions&range=&page=0",
        "tab=info&outcome=%3Cb%3E&field=%3Cb%3E",
    ],
)
def test_odd_queries_still_render(site: Site, admin: tuple[httpx.Client, str], query: str) -> None:
    """Unknown ranges, pages and datastreams fall back to defaults; nothing answers 5xx."""
    http, _ = admin
    answer = http.get(f"/dashboard/devices/{site.north}?{query}")
    assert answer.status_code == 200
    assert "<b>" not in answer.text


def test_another_tenant_sees_nothing(site: Site) -> None:
    """Other Corp's Admin gets 404 for every page and action of an Acme device."""
    with site.client(OTHER) as (http, token):
        for path in ("?tab=timeline", "?tab=developer", "/rename", "/erase", "/delete"):
            assert http.get(f"/dashboard/devices/{site.north}{path}").status_code == 404
        answer = http.post(f"/dashboard/devices/{site.north}/delete", data={"csrf_token": token})
        assert answer.status_code == 404
