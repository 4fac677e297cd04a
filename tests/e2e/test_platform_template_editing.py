"""Template editing over HTTP, a Pinbase extension of the Platform API: templates, datastreams,
events, metadata fields and the dashboard layout; other organizations get the template 404; a
device writes to a datastream created a moment ago, over the device HTTP API and over a binary
connection opened before the datastream existed."""

import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from platform_http import error, org_headers

from pinbase.testing import ServerProcess, free_port, provision

ORG = "/api/v1/organization"
TEMPLATE = f"{ORG}/template"
DATASTREAM = f"{TEMPLATE}/datastream"
TEMPLATE_NOT_FOUND = error("Template is not found or you don't have access to it.")

HW_LOGIN = 29
HARDWARE = 20
HEADER = struct.Struct(">BHH")


@pytest.fixture(scope="module")
def editing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server of its own with a device listener and one organization with a client."""
    folder: Path = tmp_path_factory.mktemp("template-editing")
    created = provision(
        {
            "organization": {"name": "Editors"},
            "oauthClients": [{"name": "api"}],
            "users": [
                {"email": "owner@example.com", "name": "Owner", "roleId": 1, "password": "x"}
            ],
        },
        data_dir=folder,
    )
    port = free_port()
    with ServerProcess(folder, "--hardware-port", str(port)) as server:
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            headers = org_headers(http, created)
        yield {**created, "server": server, "hardware_port": port, "headers": headers}


@pytest.fixture
def api(editing_server: dict[str, Any]) -> Iterator[httpx.Client]:
    """A client of the editing server carrying its organization's bearer header."""
    with httpx.Client(
        base_url=editing_server["server"].base_url,
        headers=editing_server["headers"],
        timeout=10,
    ) as client:
        yield client


def created(answer: httpx.Response) -> dict[str, Any]:
    """The JSON body of a 201."""
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def new_template(api: httpx.Client, name: str) -> dict[str, Any]:
    """A template made through the extension."""
    return created(api.post(f"{TEMPLATE}/create", json={"name": name}))


def new_device(api: httpx.Client, template: dict[str, Any], owner_id: int) -> dict[str, Any]:
    """A device of ``template`` made through PLT-DEV-09, with its token."""
    body = {"name": "Boiler", "templateId": template["templateIds"][0], "ownerId": owner_id}
    return created(api.post(f"{ORG}/device/create", json=body))


def values_of(api: httpx.Client, device_id: int) -> dict[str, Any]:
    """PLT-DS-01: the device's values by pin."""
    answer = api.get(f"{ORG}/device/datastreams?deviceId={device_id}")
    assert answer.status_code == 200, answer.text
    values: dict[str, Any] = answer.json()
    return values


def test_every_datastream_setting_round_trips(api: httpx.Client) -> None:
    """Create answers every setting as sent; update replaces them; PLT-TPL-04 lists it."""
    template = new_template(api, "Thermostat")
    settings = {
        "label": "Mode",
        "alias": "Heating mode",
        "pin": 4,
        "pinType": "VIRTUAL",
        "type": "ENUM",
        "units": None,
        "defaultValue": 1,
        "min": None,
        "max": None,
        "decimals": None,
        "color": "#23C48E",
        "invalidateAfter": 300,
        "invalidatePolicy": "DASHES",
        "saveRawData": True,
        "syncWithLatest": True,
        "waitConfirmation": 5,
        "enumValues": [
            {"value": 0, "label": "Off", "color": None},
            {"value": 1, "label": "On", "color": "#FF0000"},
        ],
        "fallbackValue": 0,
        "automation": {"type": "ENUM", "asCondition": True, "asAction": True},
    }
    answer = created(
        api.post(f"{DATASTREAM}/create", json={"templateId": template["id"]} | settings)
    )
    assert answer == {"id": 1} | settings
    changed = settings | {"type": "INT", "enumValues": [], "fallbackValue": None, "min": 0}
    changed |= {"max": 3, "defaultValue": 2}
    changed["automation"] = {"type": "RANGE", "step": 1.0, "asCondition": True, "asAction": True}
    body = {"templateId": template["id"], "dataStreamId": 1} | changed
    updated = api.post(f"{DATASTREAM}/update", json=body)
    assert (updated.status_code, updated.json()) == (200, {"id": 1} | changed)
    listed = api.get(f"{TEMPLATE}/datastreams?templateId={template['id']}").json()
    assert [(d["label"], d["type"], d["min"], d["max"]) for d in listed] == [("Mode", "INT", 0, 3)]
    # A body without the automation setting (a client that predates it) keeps it; null drops it.
    del body["automation"]
    kept = api.post(f"{DATASTREAM}/update", json=body).json()
    assert kept["automation"] == changed["automation"]
    dropped = api.post(f"{DATASTREAM}/update", json=body | {"automation": None}).json()
    assert dropped["automation"] is None


def test_a_bad_setting_is_a_400_naming_the_rule(api: httpx.Client) -> None:
    """A taken pin and a default that does not fit the type are refused with the reason."""
    template = new_template(api, "Refusals")
    first = {"templateId": template["id"], "label": "A", "pin": 1, "type": "INT"}
    created(api.post(f"{DATASTREAM}/create", json=first))
    taken = api.post(f"{DATASTREAM}/create", json=first | {"label": "B"})
    assert taken.status_code == 400
    assert "share a pin" in taken.json()["error"]["message"]
    sensor = first | {"label": "S", "pin": 3, "automation": {"type": "SENSOR", "asAction": True}}
    refused = api.post(f"{DATASTREAM}/create", json=sensor)
    assert (refused.status_code, refused.json()) == (
        400,
        error("a SENSOR datastream cannot be an automation action"),
    )
    wrong = first | {"label": "C", "pin": 2, "defaultValue": "high"}
    answer = api.post(f"{DATASTREAM}/create", json=wrong)
    assert (answer.status_code, answer.json()) == (
        400,
        error("defaultValue of 'C' does not fit its type"),
    )


def test_dashboard_events_and_metadata(api: httpx.Client) -> None:
    """A layout is stored and read back; events and metadata fields are created, listed by
    PLT-TPL-03 and 05, and deleted."""
    template = new_template(api, "Dashboards")
    ids = {"templateId": template["id"]}
    assert api.get(f"{TEMPLATE}/dashboard", params=ids).json() is None
    created(
        api.post(f"{DATASTREAM}/create", json=ids | {"label": "Power", "pin": 1, "type": "INT"})
    )
    widget = {"id": "w1", "type": "SLIDER", "x": 0, "y": 0, "w": 4, "h": 1}
    widget |= {"dataStreamIds": [1], "settings": {"step": 1}}
    layout = {"tabs": [{"id": 1, "name": "Dashboard", "roles": None, "widgets": [widget]}]}
    stored = api.post(f"{TEMPLATE}/dashboard", params=ids, json=layout)
    assert (stored.status_code, stored.json()) == (200, layout)
    assert api.get(f"{TEMPLATE}/dashboard", params=ids).json() == layout
    off_grid = {"tabs": [{**layout["tabs"][0], "widgets": [widget | {"x": 10}]}]}
    refused = api.post(f"{TEMPLATE}/dashboard", params=ids, json=off_grid)
    assert (refused.status_code, refused.json()) == (
        400,
        error("widget 'w1': SLIDER width must be an integer in 2..2"),
    )
    event = created(
        api.post(f"{TEMPLATE}/event/create", json=ids | {"eventCode": "hot", "name": "Hot"})
    )
    assert api.get(f"{TEMPLATE}/events", params=ids).json() == [
        {"id": event["id"], "type": "INFORMATION", "name": "Hot", "eventCode": "hot"}
    ]
    field = created(
        api.post(
            f"{TEMPLATE}/metafield/create", json=ids | {"name": "Serial", "defaultValue": "S1"}
        )
    )
    assert [m["name"] for m in api.get(f"{TEMPLATE}/metafields", params=ids).json()] == ["Serial"]
    assert api.delete(f"{TEMPLATE}/event", params=ids | {"eventId": event["id"]}).status_code == 204
    gone = api.delete(f"{TEMPLATE}/metafield", params=ids | {"metaFieldId": field["id"]})
    assert gone.status_code == 204
    assert api.get(f"{TEMPLATE}/metafields", params=ids).json() == []


def test_a_device_writes_to_a_datastream_created_a_moment_ago(
    api: httpx.Client, editing_server: dict[str, Any]
) -> None:
    """A device connected before the datastream existed writes to it right after it is created,
    over its binary connection; a device HTTP write to another new datastream is accepted too."""
    template = new_template(api, "Late Streams")
    device = new_device(api, template, editing_server["users"][0]["id"])
    with socket.create_connection(("127.0.0.1", editing_server["hardware_port"]), 5) as link:
        token = device["token"].encode()
        link.sendall(HEADER.pack(HW_LOGIN, 1, len(token)) + token)
        assert HEADER.unpack(link.recv(5)) == (0, 1, 200)
        body = {"templateId": template["id"], "label": "Level", "pin": 5, "type": "INT"}
        created(api.post(f"{DATASTREAM}/create", json=body))
        write = b"vw\x005\x0042"
        link.sendall(HEADER.pack(HARDWARE, 2, len(write)) + write)
        deadline = time.monotonic() + 5
        while values_of(api, device["id"]).get("v5") != 42:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    body = {"templateId": template["id"], "label": "Note", "pin": 6, "type": "STRING"}
    created(api.post(f"{DATASTREAM}/create", json=body))
    answer = api.get("/external/api/update", params={"token": device["token"], "v6": "hello"})
    assert answer.status_code == 200, answer.text
    assert values_of(api, device["id"])["v6"] == "hello"


def test_a_template_with_devices_is_not_deleted(
    api: httpx.Client, editing_server: dict[str, Any]
) -> None:
    """Deleting a used template is a 400; once its device is gone the template goes."""
    template = new_template(api, "In Use")
    device = new_device(api, template, editing_server["users"][0]["id"])
    ids = {"templateId": template["id"]}
    refused = api.delete(TEMPLATE, params=ids)
    assert refused.status_code == 400
    assert api.delete(f"{ORG}/device", params={"deviceId": device["id"]}).status_code == 204
    assert api.delete(TEMPLATE, params=ids).status_code == 204
    assert api.get(TEMPLATE, params=ids).json() == TEMPLATE_NOT_FOUND


# --- another organization ---------------------------------------------------------------


@pytest.fixture(scope="module")
def foreign_template(server: ServerProcess, headers: dict[str, str]) -> Iterator[dict[str, Any]]:
    """A template of the session pool's organization A, made through the extension and deleted
    afterwards (the session server's template lists are other modules' expectations)."""
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as api:
        template = new_template(api, "Organization A only")
        yield template
        deleted = api.delete(TEMPLATE, params={"templateId": template["id"]})
        assert deleted.status_code < 300, deleted.text


CROSS_ORG_CALLS = [
    ("POST", f"{TEMPLATE}/update", {"name": "Taken over"}),
    ("DELETE", TEMPLATE, None),
    ("POST", f"{DATASTREAM}/create", {"label": "Spy", "pin": 9, "type": "INT"}),
    ("POST", f"{DATASTREAM}/update", {"dataStreamId": 1, "label": "Spy", "pin": 9, "type": "INT"}),
    ("DELETE", DATASTREAM, {"dataStreamId": 1}),
    ("POST", f"{TEMPLATE}/event/create", {"eventCode": "spy", "name": "Spy"}),
    ("POST", f"{TEMPLATE}/metafield/create", {"name": "Spy"}),
    ("GET", f"{TEMPLATE}/dashboard", None),
    ("POST", f"{TEMPLATE}/dashboard", {"tabs": [{"id": 1, "name": "Spy", "widgets": []}]}),
]


@pytest.mark.parametrize(("method", "path", "body"), CROSS_ORG_CALLS)
def test_another_organization_gets_the_template_404(
    http: httpx.Client,
    other: dict[str, Any],
    foreign_template: dict[str, Any],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    """Organization B's token is answered as if A's template did not exist."""
    template_id = foreign_template["id"]
    if method == "DELETE":
        params = {"templateId": template_id, **(body or {})}
        answer = http.delete(path, params=params, headers=other["headers"])
    elif path.endswith("/dashboard"):
        answer = http.request(
            method, path, params={"templateId": template_id}, json=body, headers=other["headers"]
        )
    else:
        payload = {"templateId": template_id, **(body or {})}
        answer = http.post(path, json=payload, headers=other["headers"])
    assert (answer.status_code, answer.json()) == (404, TEMPLATE_NOT_FOUND)


def test_another_organization_cannot_create_in_ours(
    http: httpx.Client, other: dict[str, Any], pool: Any
) -> None:
    """A template in organization A asked for with B's token is A's organization 404."""
    org_id = pool.created["organization"]["id"]
    answer = http.post(
        f"{TEMPLATE}/create", json={"name": "Planted", "orgId": org_id}, headers=other["headers"]
    )
    assert (answer.status_code, answer.json()) == (
        404,
        error(
            f"Organization with identifier {org_id} is not found or you don't have access to it."
        ),
    )


def test_the_extension_is_marked_in_the_openapi_document(api: httpx.Client) -> None:
    """Every template-editing operation carries ``x-pinbase-extension`` and the tag says why."""
    document = api.get("/openapi.json").json()
    marked = {
        (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("x-pinbase-extension") is True
    }
    assert ("post", f"{DATASTREAM}/create") in marked
    assert ("delete", TEMPLATE) in marked
    assert ("get", TEMPLATE) not in marked  # PLT-TPL-02 is Blynk's own
    editing = {
        (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "Template editing" in operation.get("tags", [])
    }
    assert editing <= marked  # the webhooks extension (issue #10) is marked too
    assert ("get", "/api/v1/organization/webhooks") in marked
    tags = {tag["name"]: tag["description"] for tag in document["tags"]}
    assert "Pinbase extension" in tags["Template editing"]


def test_event_notification_settings(api: httpx.Client) -> None:
    """An event's notifications (automations.md §1.2) and timeline switches are stored and read
    back; bad settings, a non-address metafield recipient and ``sys_ota`` are refused with 400;
    ``sys_offline`` may be defined but not deleted."""
    template = new_template(api, "Notifying")
    ids = {"templateId": template["id"]}
    mail = created(
        api.post(f"{TEMPLATE}/metafield/create", json=ids | {"name": "Mail", "type": "Email"})
    )
    text = created(api.post(f"{TEMPLATE}/metafield/create", json=ids | {"name": "Room"}))
    notifications = {
        "enabled": True,
        "email": [{"kind": "DEVICE_OWNER"}, {"kind": "METAFIELD", "metaFieldId": mail["id"]}],
        "push": [{"kind": "ALL_MEMBERS"}, {"kind": "USER", "userId": 1}],
        "sms": [],
        "deliverAsAlert": True,
        "limitPeriodSec": 600,
        "everyN": 2,
        "allowUserManagement": False,
    }
    body = ids | {"eventCode": "leak", "name": "Leak", "type": "CRITICAL"}
    event = created(
        api.post(
            f"{TEMPLATE}/event/create",
            json=body | {"notifications": notifications, "showOnTimeline": False},
        )
    )
    assert event["notifications"] == notifications
    assert (event["showOnTimeline"], event["sendToNotificationsTab"]) == (False, True)
    changed = api.post(
        f"{TEMPLATE}/event/update", json=body | {"eventId": event["id"], "name": "Big leak"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["notifications"]["enabled"] is False
    for bad, message in (
        ({"notifications": {"everyN": 0}}, "everyN must be 1..1000000"),
        ({"notifications": {"push": [{"kind": "NOBODY"}]}}, "recipient kind must be one of"),
        (
            {"notifications": {"email": [{"kind": "METAFIELD", "metaFieldId": text["id"]}]}},
            "is not a Device Owner, Contact or Email field",
        ),
        ({"eventCode": "sys_ota"}, "sys_ota is a system event"),
    ):
        refused = api.post(f"{TEMPLATE}/event/create", json=body | {"eventCode": "x"} | bad)
        assert refused.status_code == 400, refused.text
        assert message in refused.json()["error"]["message"]
    offline = created(
        api.post(
            f"{TEMPLATE}/event/create", json=ids | {"eventCode": "sys_offline", "name": "Offline"}
        )
    )
    kept = api.delete(f"{TEMPLATE}/event", params=ids | {"eventId": offline["id"]})
    assert kept.status_code == 400
    assert "cannot be deleted" in kept.json()["error"]["message"]
