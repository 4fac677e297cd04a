"""The console's Automations pages over the in-process application (issue #10 item 2): the
form's validation answers 4xx with the message next to the form, never 5xx; roles; another
organization's automation is not found."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_site import ADMIN, OTHER, STAFF, USER, acme_spec, other_spec, sign_in

from inprocess import InProcessServer, in_process_server
from pinbase.domain.ids import OrgId

SWITCH = {"id": 2, "label": "Relay", "pin": 2, "type": "INT", "min": 0, "max": 1}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[InProcessServer]:
    """Acme (its Greenhouse template has a Relay switch too) and Other Corp."""
    acme = acme_spec()
    acme["templates"][0]["datastreams"].append(SWITCH)
    with in_process_server(tmp_path) as server:
        server.provision(acme)
        server.provision(other_spec())
        yield server


def relay(site: InProcessServer) -> str:
    """``"<device>:<datastream>"`` of Greenhouse North's Relay, as the form's select names it."""
    acme = site.services.directory.organizations_in(site.services.directory.subtree(OrgId(1)))
    bound = [
        b
        for b in site.services.directory.devices_in([o.id for o in acme])
        if b.device.name == "Greenhouse North"
    ]
    assert bound
    return f"{bound[0].device.id}:{SWITCH['id']}"


def scene_form(csrf: str, name: str = "Lights on", **extra: str) -> dict[str, str]:
    """A scene that switches Greenhouse North's relay on."""
    return {
        "csrf_token": csrf,
        "op": "save",
        "name": name,
        "kind": "SCENE",
        "limit": "0",
        "action-0-kind": "CONTROL_DEVICE",
        "action-0-target": extra.pop("target", ""),
        "action-0-value": "1",
        **extra,
    }


def created_id(answer: httpx.Response) -> int:
    """The automation id a create answer redirects to."""
    assert answer.status_code == 303, answer.text
    found = re.search(r"/automations/(\d+)\?", answer.headers["location"])
    assert found is not None
    return int(found.group(1))


def admin(site: InProcessServer) -> tuple[httpx.Client, str]:
    """A client signed in as Acme's Admin and its CSRF token."""
    client = site.client()
    return client, sign_in(client, ADMIN)


def test_a_scene_created_through_the_form_is_listed_and_runs(site: InProcessServer) -> None:
    """Creating a scene redirects to its page; the list shows its card; Execute logs a run."""
    http, csrf = admin(site)
    target = relay(site)
    automation = created_id(
        http.post("/dashboard/automations", data=scene_form(csrf, target=target))
    )
    listing = http.get("/dashboard/automations")
    assert listing.status_code == 200
    assert "Lights on" in listing.text
    assert "Execute automation" in listing.text
    ran = http.post(f"/dashboard/automations/{automation}/execute", data={"csrf_token": csrf})
    assert ran.status_code == 303
    page = http.get(f"/dashboard/automations/{automation}")
    assert "Device Action" in page.text
    assert "OK" in page.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "name must not be empty"),
        ({"kind": "NOPE"}, "Choose what starts the automation"),
        ({"kind": "DEVICE_STATE", "state-target": "x:y"}, "must be a whole number"),
        ({"kind": "DEVICE_STATE", "state-target": "999999:1", "operator": "IS_ON"}, "not found"),
        ({"action-0-kind": "BOGUS"}, "Action 1: choose one of"),
        ({"kind": "SUN", "sun-lat": "north", "sun-event": "SUNRISE"}, "Latitude must be"),
        ({"kind": "SCHEDULE", "schedule-time": "25:00", "repeat": "DAILY"}, "time"),
        ({"limit": "-5", "kind": "DEVICE_STATE"}, "Choose the device"),
    ],
)
def test_a_refused_form_answers_400_with_the_message(
    site: InProcessServer, changes: dict[str, str], message: str
) -> None:
    """A form the form reader or the service refuses is shown again, 400, message above it."""
    http, csrf = admin(site)
    target = relay(site)
    answer = http.post(
        "/dashboard/automations", data={**scene_form(csrf, target=target), **changes}
    )
    assert answer.status_code == 400
    assert 'role="alert"' in answer.text
    assert message in answer.text


def test_junk_posts_never_answer_5xx(site: InProcessServer) -> None:
    """Odd fields, ops and sizes answer 2xx-4xx, never a server error."""
    http, csrf = admin(site)
    junk: list[dict[str, Any]] = [
        {"csrf_token": csrf},
        {"csrf_token": csrf, "op": "remove-99999999999999999999"},
        {"csrf_token": csrf, "op": "up-0", "action-0-kind": "WAIT"},
        {"csrf_token": csrf, "op": "add", "new-action": "NOPE"},
        {"csrf_token": csrf, "op": "save", "name": "x" * 5000, "kind": "SCENE"},
        {
            "csrf_token": csrf,
            "op": "save",
            "name": "w",
            "kind": "SCENE",
            "action-0-kind": "WAIT",
            "action-0-seconds": "99999999999",
        },
        {
            "csrf_token": csrf,
            "op": "save",
            "name": "m",
            "kind": "SCHEDULE",
            "repeat": "MONTHLY",
            "repeat-dates": "1, x",
        },
        {
            "csrf_token": csrf,
            "op": "save",
            "name": "e",
            "kind": "SCENE",
            "action-0-kind": "SEND_EMAIL",
            "action-0-users": "abc",
        },
        {
            "csrf_token": csrf,
            "op": "save",
            "name": "n",
            "kind": "SUN",
            "sun-lat": "nan",
            "sun-lon": "inf",
        },
    ]
    for data in junk:
        answer = http.post("/dashboard/automations", data=data)
        assert answer.status_code < 500, (data, answer.text)


def test_adding_moving_and_removing_actions_saves_nothing(site: InProcessServer) -> None:
    """The op buttons show the form again with the change; no automation is stored."""
    http, csrf = admin(site)
    form = {"csrf_token": csrf, "name": "Draft", "kind": "SCENE", "new-action": "WAIT", "op": "add"}
    added = http.post("/dashboard/automations", data=form)
    assert added.status_code == 200
    assert 'name="action-0-kind" value="WAIT"' in added.text
    two = {**form, "action-0-kind": "WAIT", "action-0-seconds": "5", "new-action": "LOG_EVENT"}
    both = http.post("/dashboard/automations", data=two)
    assert 'name="action-1-kind" value="LOG_EVENT"' in both.text
    moved = http.post(
        "/dashboard/automations",
        data={**two, "op": "up-1", "action-1-kind": "LOG_EVENT", "action-1-event": "hot"},
    )
    assert moved.text.index('value="LOG_EVENT"') < moved.text.index('name="action-1-kind"')
    removed = http.post("/dashboard/automations", data={**two, "op": "remove-0"})
    assert 'name="action-0-kind"' not in removed.text
    assert "Draft" not in http.get("/dashboard/automations").text


def test_another_organizations_automation_is_not_found(site: InProcessServer) -> None:
    """Other Corp's Admin gets 404 for Acme's automation on every page and change."""
    http, csrf = admin(site)
    target = relay(site)
    automation = created_id(
        http.post("/dashboard/automations", data=scene_form(csrf, target=target))
    )
    with site.client() as other:
        token = sign_in(other, OTHER)
        assert other.get(f"/dashboard/automations/{automation}").status_code == 404
        for tail in ("", "/active", "/execute", "/stop", "/delete"):
            data = {**scene_form(token, target=target), "active": "0"}
            answer = other.post(f"/dashboard/automations/{automation}{tail}", data=data)
            assert answer.status_code == 404, tail
        assert "Lights on" not in other.get("/dashboard/automations").text
    assert http.get(f"/dashboard/automations/{automation}").status_code == 200
    assert http.get("/dashboard/automations/99999999999").status_code == 404


def test_roles_see_only_what_their_permissions_allow(site: InProcessServer) -> None:
    """Staff views and executes but may not create or edit; a User has no Automations."""
    http, csrf = admin(site)
    target = relay(site)
    automation = created_id(
        http.post("/dashboard/automations", data=scene_form(csrf, target=target))
    )
    with site.client() as staff:
        token = sign_in(staff, STAFF)
        assert staff.get("/dashboard/automations").status_code == 200
        assert 'href="/dashboard/automations"' in staff.get("/dashboard/devices").text
        assert staff.get("/dashboard/automations/new").status_code == 404
        refused = staff.post("/dashboard/automations", data=scene_form(token, target=target))
        assert refused.status_code == 404
        switch = {"csrf_token": token, "active": "0"}
        assert (
            staff.post(f"/dashboard/automations/{automation}/active", data=switch).status_code
            == 404
        )
        ran = staff.post(f"/dashboard/automations/{automation}/execute", data={"csrf_token": token})
        assert ran.status_code == 303
    with site.client() as user:
        sign_in(user, USER)
        assert user.get("/dashboard/automations").status_code == 404
        assert 'href="/dashboard/automations"' not in user.get("/dashboard/devices").text


def test_a_disabled_scene_does_not_execute(site: InProcessServer) -> None:
    """The switch disables the automation; executing it then answers 400 with a reason."""
    http, csrf = admin(site)
    target = relay(site)
    automation = created_id(
        http.post("/dashboard/automations", data=scene_form(csrf, target=target))
    )
    off = http.post(
        f"/dashboard/automations/{automation}/active?from=list",
        data={"csrf_token": csrf, "active": "0"},
    )
    assert off.status_code == 303
    assert off.headers["location"].startswith("/dashboard/automations?")
    ran = http.post(f"/dashboard/automations/{automation}/execute", data={"csrf_token": csrf})
    assert ran.status_code == 400
    assert "enable it first" in ran.text


def test_a_device_is_switched_out_of_an_automation_on_its_page(site: InProcessServer) -> None:
    """The device's Info tab lists the automations using it with a switch; switching it off
    records the opt-out (spec §3.7); another organization or a device the automation does not
    use gets 404."""
    http, csrf = admin(site)
    target = relay(site)
    device = target.split(":")[0]
    automation = created_id(
        http.post("/dashboard/automations", data=scene_form(csrf, target=target))
    )
    info = http.get(f"/dashboard/devices/{device}?tab=info")
    assert 'aria-label="Takes part: Lights on"' in info.text
    switched = http.post(
        f"/dashboard/automations/{automation}/participation",
        data={"csrf_token": csrf, "device": device, "participates": "0"},
    )
    assert switched.status_code == 303
    assert switched.headers["location"] == f"/dashboard/devices/{device}?tab=info"
    again = http.get(f"/dashboard/devices/{device}?tab=info")
    assert re.search(r'aria-checked="false" aria-label="Takes part: Lights on"', again.text)
    stored = site.run(lambda: site.services.automations.using_device(_acme(site), int(device)))
    assert int(device) in stored[0].opted_out
    for junk in ("999999", "abc", "", "1" * 30):
        answer = http.post(
            f"/dashboard/automations/{automation}/participation",
            data={"csrf_token": csrf, "device": junk, "participates": "1"},
        )
        assert answer.status_code == 404, junk
    with site.client() as other:
        token = sign_in(other, OTHER)
        answer = other.post(
            f"/dashboard/automations/{automation}/participation",
            data={"csrf_token": token, "device": device, "participates": "1"},
        )
        assert answer.status_code == 404


def _acme(site: InProcessServer) -> Any:
    """A caller with Acme's scope and every device right, for reading back."""
    caller = site.services.directory
    org = OrgId(1)

    class Everything:
        org_id = org
        scope = caller.subtree(org)
        user_id = None

        def can_see(self, org_id: OrgId) -> bool:
            return org_id in self.scope

    return Everything()
