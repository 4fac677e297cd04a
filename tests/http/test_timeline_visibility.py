"""Events whose "Show on timeline" is off (automations.md §1.10, OP-A19), in process: stored and
counted, but PLT-DEV-18 and the console's Timeline tab leave them out. The setting is copied onto
each occurrence when it is logged: editing the event later does not rewrite the timeline."""

from collections.abc import Iterator
from typing import Any

import pytest
from console_site import ADMIN, PASSWORD, sign_in

from inprocess import InProcessServer, bearer, in_process_server
from pinbase.domain.ids import DeviceId

TIMELINE = "/api/v1/organization/device/timeline"

SPEC: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "oauthClients": [{"name": "api"}],
    "users": [{"email": ADMIN, "name": "Ada Admin", "roleId": 1, "password": PASSWORD}],
    "templates": [
        {
            "name": "Greenhouse",
            "datastreams": [{"id": 1, "label": "Temperature", "pin": 1, "type": "DOUBLE"}],
            "events": [
                {"eventCode": "overheat", "name": "Overheat", "type": "WARNING"},
                {
                    "eventCode": "heartbeat",
                    "name": "Quiet Heartbeat",
                    "type": "INFORMATION",
                    "showOnTimeline": False,
                },
            ],
        }
    ],
    "devices": [
        {"name": "Greenhouse North", "template": "Greenhouse"},
        {"name": "Greenhouse South", "template": "Greenhouse"},
    ],
}


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[InProcessServer, Any]]:
    """An application whose device logged one hidden and one visible occurrence."""
    with in_process_server(tmp_path_factory.mktemp("visibility")) as server:
        created = server.provision(SPEC)
        device = created["devices"][0]
        with server.client() as http:
            answer = http.get(
                "/external/api/logEvent", params={"token": device["token"], "code": "heartbeat"}
            )
            assert answer.status_code == 200, answer.text
            trigger = http.post(
                "/api/v1/organization/device/trigger-event",
                json={"deviceId": device["id"], "eventCode": "overheat"},
                headers=bearer(http, created),
            )
            assert trigger.status_code == 204, trigger.text
        yield server, created


def test_hidden_occurrences_are_stored_and_counted(logged: tuple[InProcessServer, Any]) -> None:
    """Occurrences with "Show on timeline" off are stored and count toward the daily limit."""
    server, created = logged
    device = DeviceId(int(created["devices"][0]["id"]))

    async def count() -> int:
        async with server.services.store.transaction() as tx:
            return int(await tx.count_device_events(device, since=0))

    assert server.run(count) == 2


def test_platform_timeline_omits_hidden_occurrences(logged: tuple[InProcessServer, Any]) -> None:
    """PLT-DEV-18 lists and counts only the occurrences shown on the timeline."""
    server, created = logged
    with server.client() as http:
        answer = http.get(
            TIMELINE,
            params={"deviceId": created["devices"][0]["id"], "from": 0, "to": 2**62},
            headers=bearer(http, created),
        )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["totalElements"] == 1
    assert [entry["eventType"] for entry in body["content"]] == ["WARNING"]


def test_console_timeline_omits_hidden_occurrences(logged: tuple[InProcessServer, Any]) -> None:
    """The console's Timeline tab shows the visible event and not the hidden one."""
    server, created = logged
    with server.client() as http:
        sign_in(http, ADMIN)
        page = http.get(
            f"/dashboard/devices/{created['devices'][0]['id']}", params={"tab": "timeline"}
        )
    assert page.status_code == 200, page.text
    assert "Overheat" in page.text
    assert "Quiet Heartbeat" not in page.text


def timeline_types(http: Any, created: Any, device: int) -> list[str]:
    """The event types PLT-DEV-18 lists for ``device``, newest first."""
    answer = http.get(
        TIMELINE,
        params={"deviceId": device, "from": 0, "to": 2**62},
        headers=bearer(http, created),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["totalElements"] == len(body["content"])
    return [entry["eventType"] for entry in body["content"]]


def test_editing_the_event_later_does_not_rewrite_history(
    logged: tuple[InProcessServer, Any],
) -> None:
    """Switching "Show on timeline" on for the hidden event and off for the shown one leaves the
    earlier occurrences as they were logged; a new occurrence follows the new setting."""
    server, created = logged
    north, south = (device["id"] for device in created["devices"])
    bound = server.services.directory.by_id(DeviceId(int(north)))
    assert bound is not None
    with server.client() as http:
        for event in bound.template.events:
            changed = http.post(
                "/api/v1/organization/template/event/update",
                json={
                    "templateId": bound.template.id,
                    "eventId": event.id,
                    "eventCode": event.code,
                    "name": event.name,
                    "type": event.type,
                    "showOnTimeline": not event.show_on_timeline,
                },
                headers=bearer(http, created),
            )
            assert changed.status_code == 200, changed.text
        assert timeline_types(http, created, north) == ["WARNING"]
        token = created["devices"][1]["token"]
        for code in ("heartbeat", "overheat"):
            answer = http.get("/external/api/logEvent", params={"token": token, "code": code})
            assert answer.status_code == 200, answer.text
        assert timeline_types(http, created, south) == ["INFORMATION"]
