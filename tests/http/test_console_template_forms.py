"""The console's Templates section and New Device, in process (issue #9 item 3): CSRF on every
form, the service's validation messages next to the field on the tab that holds it, roles and
organization scope."""

import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from console_site import ADMIN, OTHER, STAFF, USER, acme_and_other, sign_in

from inprocess import InProcessServer

DATASTREAM = {
    "label": "Relay",
    "pin_type": "VIRTUAL",
    "pin": "1",
    "type": "INT",
    "min": "0",
    "max": "1",
    "policy": "NOTHING",
    "unit": "s",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """Acme (Admin, Staff, User) and Other Corp."""
    with acme_and_other(tmp_path_factory.mktemp("templates")) as server:
        yield server


@pytest.fixture
def http(site: InProcessServer) -> Iterator[httpx.Client]:
    """A fresh client for the site."""
    with site.client() as client:
        yield client


def new_template(http: httpx.Client, csrf: str, name: str) -> str:
    """Create a template through the form; the editor's path."""
    answer = http.post("/dashboard/templates", data={"csrf_token": csrf, "name": name})
    assert answer.status_code == 303, answer.text
    path: str = answer.headers["location"].split("?")[0]
    return path


def field_error(page: str, field: str) -> str:
    """The message shown next to ``field`` (empty when none)."""
    found = re.search(rf'<p class="field-error" id="e-{field}">([^<]*)</p>', page)
    return "" if found is None else html.unescape(found.group(1))


def test_forms_need_the_csrf_token(http: httpx.Client) -> None:
    """Creating a template, adding a datastream and saving a layout without the session's CSRF
    token answer 403 and change nothing."""
    csrf = sign_in(http, ADMIN)
    assert http.post("/dashboard/templates", data={"name": "Forged"}).status_code == 403
    editor = new_template(http, csrf, "Csrf Check")
    for path, data in (
        (f"{editor}/datastreams", DATASTREAM),
        (f"{editor}/info", {"name": "Renamed"}),
        (f"{editor}/dashboard", {"widgets": "0"}),
        (f"{editor}/delete", {}),
    ):
        assert http.post(path, data={**data, "csrf_token": "forged"}).status_code == 403, path
    assert "Forged" not in http.get("/dashboard/templates").text
    page = http.get(editor, params={"tab": "datastreams"}).text
    assert "No datastreams yet." in page


def test_datastream_is_added_and_refused_settings_show_next_to_their_field(
    http: httpx.Client,
) -> None:
    """A datastream form is stored; a second on the same pin, a min above the max, or decimals on
    an INT answer 400 on the Datastreams tab with the service's message next to the field."""
    csrf = sign_in(http, ADMIN)
    editor = new_template(http, csrf, "Validation")
    added = http.post(f"{editor}/datastreams", data={**DATASTREAM, "csrf_token": csrf})
    assert added.status_code == 303
    assert added.headers["location"].endswith("?tab=datastreams")
    listed = http.get(editor, params={"tab": "datastreams"}).text
    assert "Relay" in listed
    assert ">V1<" in listed
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"label": "Other"}, "pin", "two datastreams of one template share a pin"),
        ({"pin": "2", "min": "5", "max": "1"}, "min", "datastream min must not exceed max"),
        ({"pin": "2", "decimals": "#.#"}, "decimals", "only DOUBLE datastreams have decimals"),
        ({"pin": "2", "min": "low"}, "min", "Min is a number."),
        ({"pin": "300"}, "pin", "The pin is a whole number from 0 to 255."),
        ({"pin": "2", "alias": "no/slash"}, "alias", "letters, digits and spaces only"),
    ]
    for change, field, message in cases:
        posted = {**DATASTREAM, "label": "Second", **change, "csrf_token": csrf}
        answer = http.post(f"{editor}/datastreams", data=posted)
        assert answer.status_code == 400, change
        assert 'aria-current="page">Datastreams<' in answer.text
        assert message in field_error(answer.text, field), (change, answer.text)
        assert 'role="alert"' in answer.text
        assert f'value="{posted["label"]}"' in answer.text  # what was typed stays


def test_enum_rows_are_added_removed_and_stored(http: httpx.Client) -> None:
    """ "Add enum row" shows the form again with one more row and stores nothing; rows marked
    Remove are left out; the rest are stored with the datastream."""
    csrf = sign_in(http, ADMIN)
    editor = new_template(http, csrf, "Enums")
    base = {**DATASTREAM, "label": "Mode", "type": "ENUM", "min": "", "max": ""}
    grown = http.post(
        f"{editor}/datastreams",
        data={**base, "enum_rows": "0", "action": "add_row", "csrf_token": csrf},
    )
    assert grown.status_code == 200
    assert 'name="enum_0_value"' in grown.text
    rows = {
        "enum_rows": "2",
        "enum_0_value": "0",
        "enum_0_label": "Off",
        "enum_1_value": "1",
        "enum_1_label": "Gone",
        "enum_1_remove": "on",
    }
    saved = http.post(f"{editor}/datastreams", data={**base, **rows, "csrf_token": csrf})
    assert saved.status_code == 303
    form = http.get(editor, params={"tab": "datastreams", "edit": "1"}).text
    assert 'value="Off"' in form
    assert "Gone" not in form


def test_info_events_metadata_and_layout_errors(http: httpx.Client) -> None:
    """A bad template name stays on Info, a bad event type on Events, a bad metadata default on
    Metadata, an overlapping widget on Web Dashboard, each with the service's message."""
    csrf = sign_in(http, ADMIN)
    editor = new_template(http, csrf, "Tabs")
    http.post(f"{editor}/datastreams", data={**DATASTREAM, "csrf_token": csrf})
    renamed = http.post(f"{editor}/info", data={"name": "bad/name", "csrf_token": csrf})
    assert renamed.status_code == 400
    assert "a template name has 1..100" in field_error(renamed.text, "name")
    assert 'aria-current="page">Info<' in renamed.text
    event = {"code": "hot", "name": "Hot", "type": "LOUD", "csrf_token": csrf}
    refused = http.post(f"{editor}/events", data=event)
    assert refused.status_code == 400
    assert "an event type is" in field_error(refused.text, "type")
    assert http.post(f"{editor}/events", data={**event, "type": "WARNING"}).status_code == 303
    field = {"name": "Serial", "type": "Number", "default": "abc", "csrf_token": csrf}
    refused = http.post(f"{editor}/metadata", data=field)
    assert refused.status_code == 400
    assert "default value of 'Serial'" in field_error(refused.text, "default")
    widget = {"x": "0", "y": "0", "w": "2", "h": "1"}
    first = {f"new_{k}": v for k, v in widget.items()} | {"new_widget": "SWITCH:1"}
    stored = http.post(f"{editor}/dashboard", data={"widgets": "0", **first, "csrf_token": csrf})
    assert stored.status_code == 303
    layout = {f"w0_{k}": v for k, v in widget.items()}
    layout |= {"w0_id": "w1", "w0_type": "SWITCH", "w0_datastream": "1", "widgets": "1"}
    overlap = http.post(f"{editor}/dashboard", data={**layout, **first, "csrf_token": csrf})
    assert overlap.status_code == 400
    assert "widgets 'w1' and 'w2' overlap" in html.unescape(overlap.text)
    assert 'aria-current="page">Web Dashboard<' in overlap.text


def test_staff_views_without_forms_and_cannot_post(
    http: httpx.Client, site: InProcessServer
) -> None:
    """Staff opens the list and the editor (no forms) and a change answers 403; a User does not
    see the section (404)."""
    admin = site.client()
    csrf = sign_in(admin, ADMIN)
    editor = new_template(admin, csrf, "Staff Check")
    staff_csrf = sign_in(http, STAFF)
    assert "Staff Check" in http.get("/dashboard/templates").text
    page = http.get(editor, params={"tab": "datastreams", "edit": "new"})
    assert page.status_code == 200
    assert "View only" in page.text
    assert "Save datastream" not in page.text
    refused = http.post(f"{editor}/datastreams", data={**DATASTREAM, "csrf_token": staff_csrf})
    assert refused.status_code == 403
    with site.client() as user:
        sign_in(user, USER)
        assert user.get("/dashboard/templates").status_code == 404
        assert user.get(editor).status_code == 404
    admin.close()


def test_another_organization_cannot_open_or_change_a_template(
    http: httpx.Client, site: InProcessServer
) -> None:
    """Other Corp's Admin gets 404 for Acme's template page and its forms, and does not see it
    in its list."""
    with site.client() as admin:
        editor = new_template(admin, sign_in(admin, ADMIN), "Acme Only")
    csrf = sign_in(http, OTHER)
    assert "Acme Only" not in http.get("/dashboard/templates").text
    assert http.get(editor).status_code == 404
    answer = http.post(f"{editor}/datastreams", data={**DATASTREAM, "csrf_token": csrf})
    assert answer.status_code == 404
    assert http.get("/dashboard/templates/99999999999").status_code == 404


def test_new_device_shows_its_token_once(http: httpx.Client) -> None:
    """New Device makes a device of a chosen template; the answer shows the snippet with the
    token; the device list and the device page never show it; a bad name is refused."""
    csrf = sign_in(http, ADMIN)
    form = http.get("/dashboard/devices/new")
    assert form.status_code == 200
    code = re.search(r'<option value="(TMPL[^"]+)"', form.text)
    assert code is not None
    refused = http.post(
        "/dashboard/devices/new",
        data={"template": code.group(1), "name": "a/b", "csrf_token": csrf},
    )
    assert refused.status_code == 400
    assert "a device name has 1..50" in field_error(refused.text, "name").lower()
    made = http.post(
        "/dashboard/devices/new",
        data={"template": code.group(1), "name": "Pump 7", "csrf_token": csrf},
    )
    assert made.status_code == 200
    shown = html.unescape(made.text)
    token = re.search(r'#define BLYNK_AUTH_TOKEN "([^"]+)"', shown)
    assert token is not None
    assert 'Blynk.begin(BLYNK_AUTH_TOKEN, ssid, pass, "pinbase.test", 8442);' in shown
    assert made.headers["cache-control"] == "no-store"
    listing = http.get("/dashboard/devices").text
    assert "Pump 7" in listing
    assert token.group(1) not in listing
    device = re.search(r'href="/dashboard/devices/(\d+)"', made.text)
    assert device is not None
    assert token.group(1) not in http.get(f"/dashboard/devices/{device.group(1)}").text


def test_only_roles_that_edit_devices_create_them(http: httpx.Client) -> None:
    """A User may not open New Device (403), and a template of another lineage is refused."""
    sign_in(http, USER)
    assert http.get("/dashboard/devices/new").status_code == 403
    csrf = sign_in(http, ADMIN)
    answer = http.post(
        "/dashboard/devices/new", data={"template": "TMPLnotthere", "name": "X", "csrf_token": csrf}
    )
    assert answer.status_code == 400
    assert field_error(answer.text, "template") == "Choose one of the templates offered."


ODD = ("²", "nan", "NaN", "-1", "99999999999999999999", "1e400", "\x00", " ", "x" * 5000)


def test_odd_form_values_never_answer_5xx(http: httpx.Client) -> None:
    """Every field of every form, given odd text (superscript digits, NaN, huge numbers, NUL,
    very long), is answered without a server error."""
    csrf = sign_in(http, ADMIN)
    editor = new_template(http, csrf, "Odd Values")
    http.post(f"{editor}/datastreams", data={**DATASTREAM, "csrf_token": csrf})
    enum = {**DATASTREAM, "type": "ENUM", "min": "", "max": "", "enum_rows": "1"}
    widget = {"widgets": "1", "w0_id": "w1", "w0_type": "SWITCH", "w0_datastream": "1"}
    widget |= {"w0_x": "0", "w0_y": "0", "w0_w": "2", "w0_h": "1", "w0_onValue": "1"}
    forms: list[tuple[str, dict[str, str], list[str]]] = [
        ("/dashboard/templates", {"name": "N"}, ["name", "description"]),
        (f"{editor}/info", {"name": "N"}, ["name", "description"]),
        (f"{editor}/datastreams/1", DATASTREAM, [*DATASTREAM, "default", "decimals", "color"]),
        (f"{editor}/datastreams", enum, ["enum_rows", "enum_0_value", "fallback", "default"]),
        (
            f"{editor}/events",
            {"code": "c", "name": "n", "type": "INFORMATION"},
            ["code", "description"],
        ),
        (f"{editor}/metadata", {"name": "m", "type": "Number"}, ["name", "type", "default"]),
        (f"{editor}/dashboard", widget, [*widget, "new_widget", "new_w"]),
        ("/dashboard/devices/new", {"template": "TMPLx", "name": "d"}, ["template", "name"]),
    ]
    for path, base, fields in forms:
        for name in fields:
            for odd in ODD:
                answer = http.post(path, data={**base, name: odd, "csrf_token": csrf})
                assert answer.status_code < 500, (path, name, odd)
