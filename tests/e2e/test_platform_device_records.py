"""Platform API device records over HTTP: PLT-DEV-15/16 metadata, 17 tags, 18 timeline,
19 trigger event and 20 actions log. Organization B's token must never reach A's devices.

The "ESP32 QA" template defines metafields 1 "Serial Number" (Text, default SN-0001), 2 "Room"
(Text) and 3 "Rated Power" (Number, default 60), and events ``overheat`` (WARNING, "Too hot")
and ``door_open`` (INFORMATION).
"""

import asyncio
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from platform_http import device_not_found, error, org_headers
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import create_async_engine

from pinbase.testing import ServerProcess, free_port, provision
from stored import put_tags
from testspec import Pool, load_spec

BASE = "/api/v1/organization/device"
METAFIELD = f"{BASE}/metafield"
TAGS = f"{BASE}/tags"
TIMELINE = f"{BASE}/timeline"
TRIGGER = f"{BASE}/trigger-event"
LOGS = f"{BASE}/logs"
VALUE = f"{BASE}/datastream"
VALUES = f"{BASE}/datastreams"
PROPERTY = f"{BASE}/datastream/property"
IMPORT = f"{BASE}/import/batch"

INCORRECT = error("Request with incorrect parameters")
META_NOT_FOUND = error("Meta field is not found.")
INVALID_META = error("The provided value for metafield is invalid.")
EVENT_NOT_FOUND = error("Event with provided code is not found.")
EMPTY_PAGE = {"content": [], "totalElements": 0}


@pytest.fixture(scope="module")
def untouched(pool: Pool) -> dict[str, Any]:
    """One pool device for the tests whose requests are all refused: none may change it."""
    return pool.take()


@pytest.fixture(scope="module")
def read_only(server: ServerProcess, data_dir: Path) -> dict[str, Any]:
    """An organization of this module whose template has a field a device may not write."""
    spec = load_spec(0)
    spec["organization"] = {"name": "Records Org"}
    spec["oauthClients"] = [{"name": "records"}]
    template = spec["templates"][0]
    template["name"] = "Records Template"
    template["metafields"] = [{"name": "Contact", "type": "Email", "defaultValue": "a@b.example"}]
    spec["devices"] = [{"name": "Records 0", "template": "Records Template"}]
    created = provision(spec, data_dir=data_dir)
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        return {**created, "headers": org_headers(http, created)}


def get_json(http: httpx.Client, url: str, headers: dict[str, str]) -> Any:
    answer = http.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def metadata_of(http: httpx.Client, headers: dict[str, str], device_id: int) -> dict[str, Any]:
    """The device's metadata by field name."""
    fields = get_json(http, f"{METAFIELD}?deviceId={device_id}", headers)
    return {field["name"]: field["value"] for field in fields}


def now_ms() -> int:
    return int(time.time() * 1000)


# --- PLT-DEV-15 get metadata --------------------------------------------------------------


def test_metadata_lists_every_field_with_its_bare_value(
    http: httpx.Client, headers: dict[str, str], untouched: dict[str, Any]
) -> None:
    """Every template field in order: text as text, a Number as a number, unset text as ""."""
    answer = http.get(f"{METAFIELD}?deviceId={untouched['id']}", headers=headers)
    assert answer.status_code == 200
    assert answer.json() == [
        {"id": 1, "name": "Serial Number", "value": "SN-0001"},
        {"id": 2, "name": "Room", "value": ""},
        {"id": 3, "name": "Rated Power", "value": 60},
    ]


@pytest.mark.parametrize("path", [METAFIELD, TAGS, TIMELINE, LOGS])
def test_reads_of_an_unknown_device_are_the_device_404(
    http: httpx.Client, headers: dict[str, str], path: str
) -> None:
    """deviceId 999 is the device 404 on every read."""
    answer = http.get(f"{path}?deviceId=999", headers=headers)
    assert (answer.status_code, answer.json()) == (404, device_not_found(999))


@pytest.mark.parametrize("path", [METAFIELD, TAGS, TIMELINE, LOGS])
@pytest.mark.parametrize("query", ["", "?deviceId=", "?deviceId=x", "?deviceId=1.0"])
def test_reads_without_a_valid_device_id_are_incorrect(
    http: httpx.Client, headers: dict[str, str], path: str, query: str
) -> None:
    """A missing or non-integer deviceId is 400 Request with incorrect parameters."""
    answer = http.get(f"{path}{query}", headers=headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", METAFIELD),
        ("POST", METAFIELD),
        ("GET", TAGS),
        ("GET", TIMELINE),
        ("POST", TRIGGER),
        ("GET", LOGS),
    ],
)
def test_every_endpoint_needs_a_bearer_token(http: httpx.Client, method: str, path: str) -> None:
    """No token: 401, before anything else is looked at."""
    answer = http.request(method, f"{path}?deviceId=1", content=b"{broken")
    assert (answer.status_code, answer.json()) == (401, error("Unauthorized"))


# --- PLT-DEV-16 update metadata -----------------------------------------------------------


def test_update_stores_text_seen_by_both_apis(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """204 with no body; PLT-DEV-15 and the device API's DEV-09 read the new value."""
    body = {"deviceId": device["id"], "metaFieldId": 2, "newValue": "Kitchen"}
    answer = http.post(METAFIELD, json=body, headers=headers)
    assert (answer.status_code, answer.content) == (204, b"")
    assert metadata_of(http, headers, device["id"])["Room"] == "Kitchen"
    answer = http.get(f"/external/api/device/meta?token={device['token']}&metaFieldId=Room")
    assert answer.json() == {"type": "Text", "value": "Kitchen"}


@pytest.mark.parametrize(
    ("field", "new_value", "shown"),
    [(3, 75, 75), (3, 7.5, 7.5), (3, "-12", -12), (2, 5, "5"), (1, "", "")],
    ids=["int", "float", "numeric-text", "number-in-text", "empty-text"],
)
def test_update_takes_strings_and_numbers(
    http: httpx.Client,
    headers: dict[str, str],
    device: dict[str, Any],
    field: int,
    new_value: object,
    shown: object,
) -> None:
    """newValue is a string or a number, checked against the field's type."""
    body = {"deviceId": device["id"], "metaFieldId": field, "newValue": new_value}
    assert http.post(METAFIELD, json=body, headers=headers).status_code == 204
    fields = get_json(http, f"{METAFIELD}?deviceId={device['id']}", headers)
    assert fields[field - 1]["value"] == shown


@pytest.mark.parametrize(
    ("field", "new_value"),
    [(3, "sixty"), (3, "1e999"), (3, "1,5"), (2, "x" * 256), (2, "a\u0000b")],
    ids=["word-in-number", "infinite", "comma", "too-long", "nul"],
)
def test_invalid_values_are_refused_and_change_nothing(
    http: httpx.Client,
    headers: dict[str, str],
    untouched: dict[str, Any],
    field: int,
    new_value: object,
) -> None:
    """A value the field's rules refuse is 400 with the documented message."""
    body = {"deviceId": untouched["id"], "metaFieldId": field, "newValue": new_value}
    answer = http.post(METAFIELD, json=body, headers=headers)
    assert (answer.status_code, answer.json()) == (400, INVALID_META)
    assert metadata_of(http, headers, untouched["id"]) == {
        "Serial Number": "SN-0001",
        "Room": "",
        "Rated Power": 60,
    }


def test_fields_a_device_may_not_write_are_refused(
    http: httpx.Client, read_only: dict[str, Any]
) -> None:
    """An Email field follows DEV-10's writable kinds: 400, the value stays."""
    device_id = read_only["devices"][0]["id"]
    body = {"deviceId": device_id, "metaFieldId": 1, "newValue": "c@d.example"}
    answer = http.post(METAFIELD, json=body, headers=read_only["headers"])
    assert (answer.status_code, answer.json()) == (400, INVALID_META)
    assert metadata_of(http, read_only["headers"], device_id) == {"Contact": "a@b.example"}


def test_unknown_metafield_is_its_404(
    http: httpx.Client, headers: dict[str, str], untouched: dict[str, Any]
) -> None:
    """A metaFieldId the template lacks: 404 Meta field is not found."""
    body = {"deviceId": untouched["id"], "metaFieldId": 99, "newValue": "x"}
    answer = http.post(METAFIELD, json=body, headers=headers)
    assert (answer.status_code, answer.json()) == (404, META_NOT_FOUND)


def test_update_checks_the_device_before_the_field(
    http: httpx.Client, headers: dict[str, str]
) -> None:
    """Unknown device and unknown field: the device 404."""
    body = {"deviceId": 999, "metaFieldId": 99, "newValue": "x"}
    answer = http.post(METAFIELD, json=body, headers=headers)
    assert (answer.status_code, answer.json()) == (404, device_not_found(999))


def test_update_checks_the_field_before_the_value(
    http: httpx.Client, headers: dict[str, str], untouched: dict[str, Any]
) -> None:
    """Unknown field with a value no field takes: the field 404."""
    body = {"deviceId": untouched["id"], "metaFieldId": 99, "newValue": "x" * 300}
    answer = http.post(METAFIELD, json=body, headers=headers)
    assert (answer.status_code, answer.json()) == (404, META_NOT_FOUND)


@pytest.mark.parametrize(
    "content",
    [
        b"{broken",
        b"[]",
        b'{"deviceId":1,"metaFieldId":1}',
        b'{"deviceId":1,"newValue":"x"}',
        b'{"deviceId":1,"metaFieldId":"1","newValue":"x"}',
        b'{"deviceId":1,"metaFieldId":1,"newValue":true}',
        b'{"deviceId":1,"metaFieldId":1,"newValue":null}',
        b'{"deviceId":1,"metaFieldId":1,"newValue":["x"]}',
        b'{"deviceId":1,"metaFieldId":1,"newValue":{"v":1}}',
        b'{"deviceId":1.5,"metaFieldId":1,"newValue":"x"}',
    ],
)
def test_malformed_update_bodies_are_incorrect(
    http: httpx.Client, headers: dict[str, str], content: bytes
) -> None:
    """Broken JSON, missing fields and wrong types are 400 before the device is looked up."""
    answer = http.post(METAFIELD, content=content, headers=headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_update_takes_identifiers_from_the_query(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """deviceId and metaFieldId may come from the query string (OP-07)."""
    url = f"{METAFIELD}?deviceId={device['id']}&metaFieldId=2"
    assert http.post(url, json={"newValue": "Hall"}, headers=headers).status_code == 204
    assert metadata_of(http, headers, device["id"])["Room"] == "Hall"


# --- PLT-DEV-17 tags ----------------------------------------------------------------------


def test_an_untagged_device_has_no_tags(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """A bare empty array."""
    assert get_json(http, f"{TAGS}?deviceId={device['id']}", headers) == []


def test_tags_of_a_device_with_their_owner_organization(
    http: httpx.Client,
    headers: dict[str, str],
    device: dict[str, Any],
    pool: Pool,
    data_dir: Path,
) -> None:
    """Each tag as {id, tagOwnerOrgId, name}, by id; other devices' tags are not listed."""
    org_id = pool.created["organization"]["id"]
    suffix = device["id"]
    ids = put_tags(data_dir, org_id, device["id"], [f"Roof {suffix}", f"Pump {suffix}"])
    answer = get_json(http, f"{TAGS}?deviceId={device['id']}", headers)
    assert answer == [
        {"id": ids[0], "tagOwnerOrgId": org_id, "name": f"Roof {suffix}"},
        {"id": ids[1], "tagOwnerOrgId": org_id, "name": f"Pump {suffix}"},
    ]


# --- PLT-DEV-19 trigger event and PLT-DEV-18 timeline -------------------------------------


def trigger(
    http: httpx.Client, headers: dict[str, str], device_id: int, code: str, **extra: Any
) -> httpx.Response:
    return http.post(
        TRIGGER, json={"deviceId": device_id, "eventCode": code, **extra}, headers=headers
    )


def test_triggered_events_appear_on_the_timeline_newest_first(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any], pool: Pool
) -> None:
    """PLT-DEV-19 and the device API's DEV-07 log to one timeline, in the documented shape."""
    before = now_ms()
    answer = trigger(http, headers, device["id"], "overheat", eventDescription="82 °C")
    assert (answer.status_code, answer.content) == (204, b"")
    logged = http.get(f"/external/api/logEvent?token={device['token']}&code=door_open")
    assert logged.status_code == 200
    page = get_json(http, f"{TIMELINE}?deviceId={device['id']}", headers)
    assert page["totalElements"] == 2
    door, heat = page["content"]
    org_id = pool.created["organization"]["id"]
    assert heat == {
        "id": heat["id"],
        "eventId": 1,
        "orgId": org_id,
        "eventType": "WARNING",
        "description": "82 °C",
        "ts": heat["ts"],
        "isResolved": False,
        "resolvedAt": 0,
        "resolvedComment": None,
    }
    assert (door["eventId"], door["eventType"], door["description"]) == (2, "INFORMATION", None)
    assert before <= heat["ts"] <= door["ts"] <= now_ms()
    assert door["id"] > heat["id"]


def test_an_event_without_description_takes_the_template_text(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """No eventDescription: the event's own description is logged."""
    assert trigger(http, headers, device["id"], "overheat").status_code == 204
    page = get_json(http, f"{TIMELINE}?deviceId={device['id']}", headers)
    assert [event["description"] for event in page["content"]] == ["Too hot"]


def test_timeline_filters_by_event_type_and_pages(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """eventType keeps one type; page/size slice the newest-first list, the total counts all."""
    assert trigger(http, headers, device["id"], "overheat").status_code == 204
    assert trigger(http, headers, device["id"], "door_open").status_code == 204
    url = f"{TIMELINE}?deviceId={device['id']}"
    warnings = get_json(http, f"{url}&eventType=WARNING", headers)
    assert [e["eventType"] for e in warnings["content"]] == ["WARNING"]
    assert warnings["totalElements"] == 1
    assert get_json(http, f"{url}&eventType=CRITICAL", headers) == EMPTY_PAGE
    second = get_json(http, f"{url}&page=1&size=1", headers)
    assert [e["eventType"] for e in second["content"]] == ["WARNING"]
    assert second["totalElements"] == 2
    assert get_json(http, f"{url}&page=2&size=1", headers) == {"content": [], "totalElements": 2}


@pytest.mark.parametrize(
    "query", ["eventType=NOPE", "eventType=warning", "eventType=", "size=0", "size=1001", "page=-1"]
)
def test_bad_timeline_parameters_are_incorrect(
    http: httpx.Client, headers: dict[str, str], untouched: dict[str, Any], query: str
) -> None:
    """An unknown eventType (case counts) or a bad page is 400 Request with incorrect parameters."""
    answer = http.get(f"{TIMELINE}?deviceId={untouched['id']}&{query}", headers=headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_unknown_event_code_is_its_404(
    http: httpx.Client, headers: dict[str, str], untouched: dict[str, Any]
) -> None:
    """A code the template lacks: 404 Event with provided code is not found., nothing logged."""
    answer = trigger(http, headers, untouched["id"], "meltdown")
    assert (answer.status_code, answer.json()) == (404, EVENT_NOT_FOUND)
    assert get_json(http, f"{TIMELINE}?deviceId={untouched['id']}", headers) == EMPTY_PAGE


def test_trigger_checks_the_device_before_the_code(
    http: httpx.Client, headers: dict[str, str]
) -> None:
    """Unknown device and unknown code: the device 404."""
    answer = trigger(http, headers, 999, "meltdown")
    assert (answer.status_code, answer.json()) == (404, device_not_found(999))


def test_description_of_300_characters_is_accepted(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """The limit itself is allowed."""
    answer = trigger(http, headers, device["id"], "overheat", eventDescription="d" * 300)
    assert answer.status_code == 204


@pytest.mark.parametrize(
    "body",
    [
        {"eventCode": "overheat", "eventDescription": "d" * 301},
        {"eventCode": "c" * 725, "eventDescription": "d" * 300},
        {"eventCode": "c" * 1025},
        {"eventCode": ""},
        {"eventCode": 1},
        {"eventCode": "overheat", "eventDescription": 5},
        {"eventCode": "overheat", "eventDescription": "a\u0000b"},
        {"eventDescription": "no code"},
    ],
    ids=[
        "long-text",
        "long-total",
        "long-code",
        "empty-code",
        "int-code",
        "int-text",
        "nul",
        "no-code",
    ],
)
def test_trigger_bodies_breaking_the_limits_are_incorrect(
    http: httpx.Client, headers: dict[str, str], untouched: dict[str, Any], body: dict[str, Any]
) -> None:
    """Over 300 characters of description, over 1024 in all, or malformed: 400, nothing logged."""
    answer = http.post(TRIGGER, json={"deviceId": untouched["id"], **body}, headers=headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)
    assert get_json(http, f"{TIMELINE}?deviceId={untouched['id']}", headers) == EMPTY_PAGE


def test_trigger_shares_the_device_api_rate_limit(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """A second event of one code within a second is dropped, answered 204 like an accepted
    one (automations.md §1.9): the timeline holds one entry."""
    assert trigger(http, headers, device["id"], "door_open").status_code == 204
    assert trigger(http, headers, device["id"], "door_open").status_code == 204
    assert get_json(http, f"{TIMELINE}?deviceId={device['id']}", headers)["totalElements"] == 1


def test_trigger_takes_the_device_from_the_query(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """deviceId may come from the query string (OP-07)."""
    url = f"{TRIGGER}?deviceId={device['id']}"
    assert http.post(url, json={"eventCode": "overheat"}, headers=headers).status_code == 204
    assert get_json(http, f"{TIMELINE}?deviceId={device['id']}", headers)["totalElements"] == 1


# --- PLT-DEV-20 actions log ---------------------------------------------------------------


def actions_of(http: httpx.Client, headers: dict[str, str], device_id: int, query: str = "") -> Any:
    return get_json(http, f"{LOGS}?deviceId={device_id}{query}", headers)


def test_a_new_device_has_an_empty_actions_log(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """An empty page."""
    assert actions_of(http, headers, device["id"]) == EMPTY_PAGE


def test_platform_value_write_is_logged_as_stored(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """PLT-DS-02: one entry with the clamped value, integer pin and pin type, no e-mail."""
    before = now_ms()
    body = {"deviceId": device["id"], "dataStreamId": 1, "value": 314}
    assert http.post(VALUE, json=body, headers=headers).status_code == 204
    page = actions_of(http, headers, device["id"])
    assert page["totalElements"] == 1
    (entry,) = page["content"]
    assert before <= entry.pop("createdAt") <= now_ms()
    assert entry == {
        "triggerUserEmail": None,
        "value": 100,
        "pin": 1,
        "pinType": "VIRTUAL",
        "isOnline": False,
        "property": None,
        "client": "HTTPS API",
        "triggerName": None,
        "command": None,
    }


def test_multiple_values_are_logged_once_each_with_one_time(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """PLT-DS-03: an entry per datastream, all with the write's shared timestamp."""
    body = {"deviceId": device["id"], "values": {"4": "hello", "5": [30.5, 50.4], "10": 1}}
    assert http.post(VALUES, json=body, headers=headers).status_code == 204
    page = actions_of(http, headers, device["id"])
    assert page["totalElements"] == 3
    entries = page["content"]
    assert len({entry["createdAt"] for entry in entries}) == 1
    assert sorted((e["pinType"], e["pin"], e["value"]) for e in entries) == [
        ("DIGITAL", 13, 1),
        ("VIRTUAL", 4, "hello"),
        ("VIRTUAL", 5, [30.5, 50.4]),
    ]


def test_property_change_is_logged_with_its_name(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """PLT-DS-05: the entry carries the property's name and new value."""
    body = {"deviceId": device["id"], "dataStreamId": 3, "property": "color", "value": "#D3435C"}
    assert http.post(PROPERTY, json=body, headers=headers).status_code == 204
    (entry,) = actions_of(http, headers, device["id"])["content"]
    assert (entry["pin"], entry["property"], entry["value"]) == (3, "color", "#D3435C")


def test_device_writes_imports_and_refused_writes_are_not_actions(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """The device's own writes, imports and writes answered with an error leave no entry."""
    token = device["token"]
    assert http.get(f"/external/api/update?token={token}&v1=5").status_code == 200
    assert http.get(f"/external/api/batch/update?token={token}&v2=6").status_code == 200
    prop = http.get(f"/external/api/update/property?token={token}&pin=v1&label=Hi")
    assert prop.status_code == 200
    body: dict[str, Any] = {
        "deviceId": device["id"],
        "dataStreamId": 1,
        "values": [{"value": 3, "ts": now_ms() - 1000}],
    }
    assert http.post(IMPORT, json=body, headers=headers).status_code == 204
    body = {"deviceId": device["id"], "dataStreamId": 1, "value": "not a number"}
    assert http.post(VALUE, json=body, headers=headers).status_code == 400
    body = {"deviceId": device["id"], "values": {"1": 5, "77": 5}}
    assert http.post(VALUES, json=body, headers=headers).status_code == 404
    assert actions_of(http, headers, device["id"]) == EMPTY_PAGE


def test_actions_log_pages_newest_first(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """page/size slice the newest-first log; totalElements counts every entry."""
    for value in (1, 2, 3):
        body = {"deviceId": device["id"], "dataStreamId": 2, "value": value}
        assert http.post(VALUE, json=body, headers=headers).status_code == 204
    assert [e["value"] for e in actions_of(http, headers, device["id"])["content"]] == [3, 2, 1]
    page = actions_of(http, headers, device["id"], "&page=1&size=2")
    assert page == {"content": [page["content"][0]], "totalElements": 3}
    assert page["content"][0]["value"] == 1


@pytest.mark.parametrize("query", ["size=0", "size=x", "page=-1"])
def test_bad_actions_log_pages_are_incorrect(
    http: httpx.Client, headers: dict[str, str], untouched: dict[str, Any], query: str
) -> None:
    """A bad page or size is 400 Request with incorrect parameters."""
    answer = http.get(f"{LOGS}?deviceId={untouched['id']}&{query}", headers=headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


HW_LOGIN = 29
HEADER = struct.Struct(">BHH")


@pytest.fixture(scope="module")
def tcp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server of its own with a device listener, for a device that is connected."""
    folder = tmp_path_factory.mktemp("records-tcp")
    created = provision(load_spec(1), data_dir=folder)
    port = free_port()
    with ServerProcess(folder, "--hardware-port", str(port)) as server:
        yield {**created, "server": server, "hardware_port": port}


def test_actions_record_whether_the_device_was_online(tcp_server: dict[str, Any]) -> None:
    """isOnline is the device's presence at the time of the action."""
    device = tcp_server["devices"][0]
    with httpx.Client(base_url=tcp_server["server"].base_url, timeout=10) as http:
        headers = org_headers(http, tcp_server)
        body = {"deviceId": device["id"], "dataStreamId": 1, "value": 1}
        with socket.create_connection(("127.0.0.1", tcp_server["hardware_port"]), 5) as link:
            token = device["token"].encode()
            link.sendall(HEADER.pack(HW_LOGIN, 1, len(token)) + token)
            assert HEADER.unpack(link.recv(5)) == (0, 1, 200)
            assert http.post(VALUE, json=body, headers=headers).status_code == 204
        deadline = time.monotonic() + 5
        while http.get(f"{BASE}/online?deviceId={device['id']}", headers=headers).json()[
            "connected"
        ]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        body["value"] = 2
        assert http.post(VALUE, json=body, headers=headers).status_code == 204
        page = actions_of(http, headers, device["id"])
    assert [(e["value"], e["isOnline"]) for e in page["content"]] == [(2, False), (1, True)]


# --- organization B cannot reach organization A's devices ---------------------------------


def test_other_organization_reads_its_own_device_records(
    http: httpx.Client, other: dict[str, Any]
) -> None:
    """Positive control: B's token works on B's device, created by another process."""
    device_id = other["devices"][1]["id"]
    assert metadata_of(http, other["headers"], device_id)["Serial Number"] == "SN-0001"
    assert get_json(http, f"{TAGS}?deviceId={device_id}", other["headers"]) == []


CROSS_ORG_CALLS = [
    ("GET", METAFIELD, None),
    ("POST", METAFIELD, {"metaFieldId": 2, "newValue": "B was here"}),
    ("GET", TAGS, None),
    ("GET", TIMELINE, None),
    ("POST", TRIGGER, {"eventCode": "overheat", "eventDescription": "B was here"}),
    ("GET", LOGS, None),
]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    CROSS_ORG_CALLS,
    ids=["DEV-15", "DEV-16", "DEV-17", "DEV-18", "DEV-19", "DEV-20"],
)
def test_other_organization_gets_the_device_404(
    http: httpx.Client,
    headers: dict[str, str],
    other: dict[str, Any],
    untouched: dict[str, Any],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    """B's token on A's device answers exactly like a missing device, and changes nothing."""
    url = f"{path}?deviceId={untouched['id']}" if body is None else path
    if body is not None:
        body = {"deviceId": untouched["id"], **body}
    answer = http.request(method, url, json=body, headers=other["headers"])
    assert (answer.status_code, answer.json()) == (404, device_not_found(untouched["id"]))
    assert metadata_of(http, headers, untouched["id"])["Room"] == ""
    assert get_json(http, f"{TIMELINE}?deviceId={untouched['id']}", headers) == EMPTY_PAGE


# --- the same on PostgreSQL ---------------------------------------------------------------


async def tag_on_postgresql(url: str, org_id: int, device_id: int) -> int:
    """Tag a device straight in the database (no Pinbase API writes tags yet); the tag's id."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as db:
            tag_id = await db.scalar(
                text(
                    "INSERT INTO tags (org_id, name, created_at) VALUES (:org, 'Roof', 0) "
                    "RETURNING id"
                ),
                {"org": org_id},
            )
            await db.execute(
                text("INSERT INTO device_tags (device_id, tag_id) VALUES (:device, :tag)"),
                {"device": device_id, "tag": tag_id},
            )
    finally:
        await engine.dispose()
    return int(tag_id)


@pytest.mark.postgres
def test_device_records_on_postgresql(database_url: str, tmp_path: Path) -> None:
    """Metadata, tags, a filtered timeline page and the actions log work on PostgreSQL."""
    created = provision(load_spec(1), "--database-url", database_url, data_dir=tmp_path)
    device_id = created["devices"][0]["id"]
    org_id = created["organization"]["id"]
    tag_id = asyncio.run(tag_on_postgresql(database_url, org_id, device_id))
    with (
        ServerProcess(tmp_path, "--database-url", database_url) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        headers = org_headers(http, created)
        body: dict[str, Any] = {"deviceId": device_id, "metaFieldId": 3, "newValue": 75}
        assert http.post(METAFIELD, json=body, headers=headers).status_code == 204
        assert metadata_of(http, headers, device_id)["Rated Power"] == 75
        tags = get_json(http, f"{TAGS}?deviceId={device_id}", headers)
        assert tags == [{"id": tag_id, "tagOwnerOrgId": org_id, "name": "Roof"}]
        assert trigger(http, headers, device_id, "overheat").status_code == 204
        assert trigger(http, headers, device_id, "door_open").status_code == 204
        url = f"{TIMELINE}?deviceId={device_id}&eventType=INFORMATION&size=1"
        page = get_json(http, url, headers)
        assert [e["eventType"] for e in page["content"]] == ["INFORMATION"]
        assert page["totalElements"] == 1
        body = {"deviceId": device_id, "values": {"1": 5, "4": "hi"}}
        assert http.post(VALUES, json=body, headers=headers).status_code == 204
        page = actions_of(http, headers, device_id, "&size=1")
        assert page["totalElements"] == 2
        assert len(page["content"]) == 1
