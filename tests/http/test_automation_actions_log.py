"""Automation writes in the device's actions log (PLT-DEV-20 and the console's Actions Log), in
process: "when V1 > 30 set V2 to 1" fired by a Platform API write leaves the API's entry (client
``HTTPS API``) and the automation's (client ``Automation``, with the automation's name)."""

from collections.abc import Iterator
from typing import Any

import pytest
from console_site import ADMIN, PASSWORD, sign_in

from inprocess import InProcessServer, bearer, in_process_server

LOGS = "/api/v1/organization/device/logs"

SPEC: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "oauthClients": [{"name": "api"}],
    "users": [{"email": ADMIN, "name": "Ada Admin", "roleId": 1, "password": PASSWORD}],
    "templates": [
        {
            "name": "Tank",
            "datastreams": [
                {"id": 1, "label": "Level", "pin": 1, "type": "DOUBLE"},
                {"id": 2, "label": "Valve", "pin": 2, "type": "INT", "min": 0, "max": 1},
            ],
        }
    ],
    "devices": [{"name": "Tank One", "template": "Tank"}],
    "automations": [
        {
            "name": "Close the valve",
            "condition": {
                "kind": "DEVICE_STATE",
                "device": "Tank One",
                "dataStreamId": 1,
                "operator": "GT",
                "operand": "30",
            },
            "actions": [
                {"kind": "CONTROL_DEVICE", "device": "Tank One", "dataStreamId": 2, "value": "1"}
            ],
        }
    ],
}


@pytest.fixture(scope="module")
def fired(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[InProcessServer, Any]]:
    """A Platform API write of V1 = 35 that fired the automation, which set V2 to 1."""
    with in_process_server(tmp_path_factory.mktemp("automation-actions")) as server:
        created = server.provision(SPEC)
        device = created["devices"][0]["id"]
        engine = server.services.automations._engine
        server.run(engine.settle)
        with server.client() as http:
            answer = http.post(
                "/api/v1/organization/device/datastream",
                json={"deviceId": device, "dataStreamId": 1, "value": 35},
                headers=bearer(http, created),
            )
            assert answer.status_code == 204, answer.text
        server.run(engine.settle)
        yield server, created


def test_platform_actions_log_names_the_automation(
    fired: tuple[InProcessServer, Any],
) -> None:
    """PLT-DEV-20 lists the automation's write of V2 as client ``Automation`` with its name,
    and the API's write of V1 as ``HTTPS API``."""
    server, created = fired
    with server.client() as http:
        answer = http.get(
            LOGS, params={"deviceId": created["devices"][0]["id"]}, headers=bearer(http, created)
        )
    assert answer.status_code == 200, answer.text
    entries = {entry["pin"]: entry for entry in answer.json()["content"]}
    assert set(entries) == {1, 2}
    assert entries[2]["client"] == "Automation"
    assert entries[2]["triggerName"] == "Close the valve"
    assert entries[2]["triggerUserEmail"] is None
    assert entries[2]["value"] == 1
    assert (entries[1]["client"], entries[1]["triggerName"]) == ("HTTPS API", None)


def test_console_actions_log_shows_automation(fired: tuple[InProcessServer, Any]) -> None:
    """The console's Actions Log shows the automation's name and the client "Automation"."""
    server, created = fired
    with server.client() as http:
        sign_in(http, ADMIN)
        page = http.get(
            f"/dashboard/devices/{created['devices'][0]['id']}",
            params={"tab": "developer", "tool": "actions"},
        )
    assert page.status_code == 200, page.text
    assert "Close the valve · Automation" in page.text
    assert "HTTPS API" in page.text
