"""The Devices page's segments over the in-process application (issue #10, console.md Devices
"Segments"): the "Add to Segment" bulk action creates a segment or fills one, the page filters
by segment, rename / take out / delete work; a Staff user without device editing gets no form;
another organization's segment is not found; junk answers 4xx; a Control Segment action saved
through the automation editor switches every device of the segment."""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from console_site import ADMIN, OTHER, USER, acme_spec, other_spec, sign_in

from inprocess import InProcessServer, in_process_server
from pinbase.domain.ids import DeviceId, OrgId

SWITCH = {"id": 2, "label": "Relay", "pin": 2, "type": "INT", "min": 0, "max": 1}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[InProcessServer]:
    """Acme (its Greenhouse template has a Relay switch) and Other Corp."""
    acme = acme_spec()
    acme["templates"][0]["datastreams"].append(SWITCH)
    with in_process_server(tmp_path) as server:
        server.provision(acme)
        server.provision(other_spec())
        yield server


def device_ids(site: InProcessServer) -> dict[str, int]:
    """Every device id by name."""
    directory = site.services.directory
    orgs = [o.id for o in directory.organizations_in(directory.subtree(OrgId(1)))]
    found = {b.device.name: int(b.device.id) for b in directory.devices_in(orgs)}
    found.update({b.device.name: int(b.device.id) for b in directory.devices_in([OrgId(2)])})
    return found


def segment_of(answer: httpx.Response) -> int:
    """The segment id a change redirects to."""
    assert answer.status_code == 303, answer.text
    found = re.search(r"segment=(\d+)", answer.headers["location"])
    assert found is not None
    return int(found.group(1))


def listed(page: httpx.Response) -> list[str]:
    """Device names in the Devices table."""
    return re.findall(r'<a href="/dashboard/devices/\d+">([^<]+)</a>', page.text)


def test_add_to_segment_filter_rename_and_delete(site: InProcessServer) -> None:
    """Ticking two devices and naming a new segment creates it; the page then lists only them;
    adding a third to the picked segment, taking one out, renaming and deleting all work."""
    http = site.client()
    csrf = sign_in(http, ADMIN)
    ids = device_ids(site)
    page = http.get("/dashboard/devices")
    assert "Add to Segment" in page.text
    assert f'name="device" value="{ids["Greenhouse North"]}"' in page.text
    picked = [str(ids["Greenhouse North"]), str(ids["Uma's Sensor"])]
    segment = segment_of(
        http.post(
            "/dashboard/segments",
            data={"csrf_token": csrf, "new-name": "Watered", "segment": "", "device": picked},
        )
    )
    shown = http.get(f"/dashboard/devices?segment={segment}")
    assert sorted(listed(shown)) == ["Greenhouse North", "Uma&#39;s Sensor"]
    assert "Watered (2)" in shown.text
    added = http.post(
        "/dashboard/segments",
        data={"csrf_token": csrf, "segment": str(segment), "device": str(ids["Greenhouse South"])},
    )
    assert segment_of(added) == segment
    assert len(listed(http.get(f"/dashboard/devices?segment={segment}"))) == 3
    removed = http.post(
        f"/dashboard/segments/{segment}/remove",
        data={"csrf_token": csrf, "device": str(ids["Greenhouse North"])},
    )
    assert segment_of(removed) == segment
    assert "Greenhouse North" not in listed(http.get(f"/dashboard/devices?segment={segment}"))
    renamed = http.post(
        f"/dashboard/segments/{segment}/rename", data={"csrf_token": csrf, "name": "Dry"}
    )
    assert segment_of(renamed) == segment
    assert "Dry (2)" in http.get("/dashboard/devices").text
    deleted = http.post(f"/dashboard/segments/{segment}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 303
    assert "Dry (2)" not in http.get("/dashboard/devices").text


def test_refusals_and_isolation(site: InProcessServer) -> None:
    """A name over 40 characters, no ticked device, another organization's device answer 400;
    another organization's admin gets 404 for the segment and never sees it; a User role gets
    no bulk form and 404 on the POST; junk ids never answer 5xx."""
    http = site.client()
    csrf = sign_in(http, ADMIN)
    ids = device_ids(site)
    mine = str(ids["Greenhouse North"])
    too_long = http.post(
        "/dashboard/segments", data={"csrf_token": csrf, "new-name": "x" * 41, "device": mine}
    )
    assert too_long.status_code == 400
    assert "longer than 40" in too_long.text
    nothing = http.post("/dashboard/segments", data={"csrf_token": csrf, "new-name": "A"})
    assert nothing.status_code == 400
    theirs = http.post(
        "/dashboard/segments",
        data={"csrf_token": csrf, "new-name": "B", "device": str(ids["Boiler Room"])},
    )
    assert theirs.status_code == 400
    segment = segment_of(
        http.post("/dashboard/segments", data={"csrf_token": csrf, "new-name": "C", "device": mine})
    )
    other = site.client()
    other_csrf = sign_in(other, OTHER)
    assert "C (1)" not in other.get("/dashboard/devices").text
    assert listed(other.get(f"/dashboard/devices?segment={segment}")) == ["Boiler Room"]
    for action in ("rename", "delete", "remove"):
        answer = other.post(
            f"/dashboard/segments/{segment}/{action}",
            data={"csrf_token": other_csrf, "name": "Mine", "device": mine},
        )
        assert answer.status_code == 404
    stolen = other.post(
        "/dashboard/segments",
        data={"csrf_token": other_csrf, "segment": str(segment), "device": str(ids["Boiler Room"])},
    )
    assert stolen.status_code == 404
    user = site.client()
    user_csrf = sign_in(user, USER)
    assert "Add to Segment" not in user.get("/dashboard/devices").text
    assert (
        user.post(
            "/dashboard/segments", data={"csrf_token": user_csrf, "new-name": "U", "device": mine}
        ).status_code
        == 404
    )
    for data in (
        {"csrf_token": csrf, "segment": "99999999999999999999", "device": mine},
        {"csrf_token": csrf, "segment": "abc", "device": "-1"},
        {"csrf_token": csrf, "new-name": "\x00", "device": mine},
        {"csrf_token": csrf, "segment": "0", "device": "9" * 30},
    ):
        assert 400 <= http.post("/dashboard/segments", data=data).status_code < 500
    for path in ("99999999999/rename", f"{segment}/bogus", "0/delete"):
        answer = http.post(f"/dashboard/segments/{path}", data={"csrf_token": csrf})
        assert 400 <= answer.status_code < 500
    assert http.get("/dashboard/devices?segment=99999999999999999999999").status_code == 200


def test_a_control_segment_scene_from_the_editor_switches_the_segment(
    site: InProcessServer,
) -> None:
    """The editor offers Control Segment with the organization's segments; a scene saved with
    "Relay = 1" switches every device of the segment when executed, and its log lists them; the
    segment cannot be deleted while the scene acts on it."""
    http = site.client()
    csrf = sign_in(http, ADMIN)
    ids = device_ids(site)
    members = [ids["Greenhouse North"], ids["Greenhouse South"]]
    segment = segment_of(
        http.post(
            "/dashboard/segments",
            data={"csrf_token": csrf, "new-name": "Houses", "device": [str(m) for m in members]},
        )
    )
    added = http.post(
        "/dashboard/automations",
        data={
            "csrf_token": csrf,
            "op": "add",
            "name": "All on",
            "kind": "SCENE",
            "new-action": "CONTROL_SEGMENT",
        },
    )
    assert "1. Control Segment" in added.text
    assert f'<option value="{segment}">Houses</option>' in added.text
    form = {
        "csrf_token": csrf,
        "op": "save",
        "name": "All on",
        "kind": "SCENE",
        "action-0-kind": "CONTROL_SEGMENT",
        "action-0-segment": str(segment),
        "action-0-properties": "Relay = on",
    }
    refused = http.post("/dashboard/automations", data=form)
    assert refused.status_code == 400
    assert "property &#39;Relay&#39;" in refused.text
    created = http.post("/dashboard/automations", data={**form, "action-0-properties": "Relay = 1"})
    assert created.status_code == 303, created.text
    found = re.search(r"/automations/(\d+)\?", created.headers["location"])
    assert found is not None
    automation = found.group(1)
    page = http.get(f"/dashboard/automations/{automation}")
    assert "Relay = 1" in page.text
    ran = http.post(f"/dashboard/automations/{automation}/execute", data={"csrf_token": csrf})
    assert ran.status_code == 303
    services = site.services
    for device_id in members:
        bound = services.directory.by_id(DeviceId(device_id))
        assert bound is not None
        point = services.telemetry.current(bound.device.id, bound.template.datastream(2))
        assert point is not None
        assert point.value == 1
    logged = http.get(f"/dashboard/automations/{automation}")
    assert "2 of 2 devices" in logged.text
    assert logged.text.count('<td data-label="Type">Device Action</td>') == 3
    # The segment cannot go while the scene acts on it; once the scene is deleted, it can.
    deleting = f"/dashboard/segments/{segment}/delete"
    kept = http.post(deleting, data={"csrf_token": csrf})
    assert kept.status_code == 400
    assert "The automation &#39;All on&#39; acts on this segment" in kept.text
    assert "Houses (2)" in http.get("/dashboard/devices").text
    gone = http.post(f"/dashboard/automations/{automation}/delete", data={"csrf_token": csrf})
    assert gone.status_code == 303
    assert http.post(deleting, data={"csrf_token": csrf}).status_code == 303
    assert "Houses (2)" not in http.get("/dashboard/devices").text


def test_save_as_segment_keeps_the_search(site: InProcessServer) -> None:
    """A search offers "Save as Segment"; the saved segment lists what the search finds, offers
    no take-out, and is not a choice of the bulk action."""
    http = site.client()
    csrf = sign_in(http, ADMIN)
    searched = http.get("/dashboard/devices", params={"q": "north"})
    assert "Save as Segment" in searched.text
    saved = http.post(
        "/dashboard/segments/filters",
        data={"csrf_token": csrf, "name": "Houses", "q": "north", "status": ""},
    )
    segment = segment_of(saved)
    page = http.get(f"/dashboard/devices?segment={segment}")
    assert listed(page) == ["Greenhouse North"]
    assert "Houses (search)" in page.text
    assert "Take out of" not in page.text
    assert f'<option value="{segment}">Houses</option>' not in page.text
    picked = http.post(
        "/dashboard/segments",
        data={"csrf_token": csrf, "segment": str(segment), "device": "1"},
    )
    assert picked.status_code == 400
    nameless = http.post(
        "/dashboard/segments/filters", data={"csrf_token": csrf, "name": "", "q": "x"}
    )
    assert nameless.status_code == 400
