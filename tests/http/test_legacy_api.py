"""Legacy Blynk 1.0 API (http-api.md §5) in process, every message byte-exact."""

import gzip
import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pinbase.testing import provision
from stored import history, put_tags
from testspec import FIXTURES

TEXT = "text/plain;charset=utf-8"
JSON = "application/json;charset=utf-8"
JSON_BODY = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def idle_token(pool: Any) -> str:
    """One device shared by tests that only provoke errors and never look at stored values."""
    return str(pool.take()["token"])


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def assert_plain_error(answer: httpx.Response, message: str, status: int = 400) -> None:
    """A legacy error: the status, the exact text, plain text, CORS-open."""
    assert (answer.status_code, answer.text) == (status, message)
    assert answer.headers["content-type"] == TEXT
    assert answer.headers["access-control-allow-origin"] == "*"


def assert_empty_ok(answer: httpx.Response) -> None:
    """A legacy write success: 200 with an empty body (blynkapi treats anything else as JSON)."""
    assert (answer.status_code, answer.content) == (200, b"")
    assert answer.headers["content-length"] == "0"
    assert answer.headers["access-control-allow-origin"] == "*"


def device_get(http: httpx.Client, token: str, pin: str) -> str:
    """A pin's value through the Device HTTPS API (DEV-01)."""
    return http.get(f"/external/api/get?token={token}&{pin}").text


def put_json(http: httpx.Client, path: str, body: str) -> httpx.Response:
    return http.put(path, content=body, headers=JSON_BODY)


def properties(data_dir: Path, device_id: int) -> dict[str, str]:
    """Stored properties of a device as ``{name: JSON text}``."""
    with sqlite3.connect(f"file:{data_dir / 'pinbase.db'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT name, value FROM properties WHERE device_id = ?", (device_id,)
        ).fetchall()
    return dict(rows)


# LEG-01 read


def test_read_answers_device_api_writes_as_json_array(http: httpx.Client, token: str) -> None:
    """A value written via /external/api/update reads back as ["42"] in JSON, CORS-open."""
    http.get(f"/external/api/update?token={token}&v1=42")
    answer = http.get(f"/{token}/get/v1")
    assert (answer.status_code, answer.json()) == (200, ["42"])
    assert answer.headers["content-type"] == JSON
    assert answer.headers["access-control-allow-origin"] == "*"


def test_read_keeps_multi_value_items_in_order(http: httpx.Client, token: str) -> None:
    """A location reads back as its two items, longitude first."""
    http.get(f"/external/api/update?token={token}&v5=-73.987&v5=40.725")
    assert http.get(f"/{token}/get/V5").json() == ["-73.987", "40.725"]


def test_read_of_empty_pin_is_empty_array(http: httpx.Client, token: str) -> None:
    """A datastream without value or default answers []."""
    assert http.get(f"/{token}/get/v2").json() == []


def test_read_of_empty_pin_answers_default(http: httpx.Client, token: str) -> None:
    """A datastream without value answers its default value (21.5 on v8)."""
    assert http.get(f"/{token}/get/v8").json() == ["21.5"]


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        ("x1", "Wrong pin format."),
        ("v256", "Wrong pin format."),
        ("v", "Wrong pin format."),
        ("v200", "Requested pin doesn't exist in the app."),
        ("d1", "Requested pin doesn't exist in the app."),
    ],
)
def test_read_refuses_bad_pins(http: httpx.Client, idle_token: str, pin: str, message: str) -> None:
    """Malformed pins and pins without datastream answer their legacy messages."""
    assert_plain_error(http.get(f"/{idle_token}/get/{pin}"), message)


def test_read_refuses_unknown_token(http: httpx.Client) -> None:
    """An unknown token answers 400 Invalid token. in plain text."""
    assert_plain_error(http.get("/0123456789abcdef0123456789abcdef/get/v1"), "Invalid token.")


# LEG-02 write via GET


def test_get_update_writes_through_the_pipeline(
    http: httpx.Client, device: dict[str, Any], data_dir: Path
) -> None:
    """?value=33 answers an empty 200, stores history and is readable via the device API."""
    token = device["token"]
    assert_empty_ok(http.get(f"/{token}/update/v1?value=33"))
    assert [(ds, num) for ds, _, num, _ in history(data_dir, device["id"])] == [(1, 33.0)]
    assert device_get(http, token, "v1") == "33"


def test_get_update_clamps_to_max(http: httpx.Client, token: str) -> None:
    """v1=500 with max 100 stores 100, as every write path does."""
    assert_empty_ok(http.get(f"/{token}/update/V1?value=500"))
    assert http.get(f"/{token}/get/v1").json() == ["100"]


def test_get_update_repeated_value_is_multi_value(http: httpx.Client, token: str) -> None:
    """value=lon&value=lat writes a location."""
    assert_empty_ok(http.get(f"/{token}/update/v5?value=30.5&value=50.45"))
    assert device_get(http, token, "v5") == "30.5,50.45"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("value=abc", "Value doesn't match the Datastream data type."),
        ("value=1.5", "Value doesn't match the Datastream data type."),
        ("value=1&value=2", "Value doesn't match the Datastream data type."),
    ],
)
def test_get_update_refuses_mismatch(
    http: httpx.Client, token: str, query: str, message: str
) -> None:
    """A value that does not fit the Integer datastream answers 400 and stores nothing."""
    assert_plain_error(http.get(f"/{token}/update/v1?{query}"), message)
    assert http.get(f"/{token}/get/v1").json() == []


def test_get_update_refuses_overlong_string(http: httpx.Client, idle_token: str) -> None:
    """A string over 1024 bytes answers Value is too long."""
    answer = http.get(f"/{idle_token}/update/v4?value={'x' * 1025}")
    assert_plain_error(answer, "Value is too long. The maximum is 1024 bytes.")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/nope/update/v1?value=1", "Invalid token."),
        ("/{token}/update/q1?value=1", "Wrong pin format."),
        ("/{token}/update/v99?value=1", "Requested pin doesn't exist in the app."),
    ],
)
def test_get_update_refuses_bad_token_and_pins(
    http: httpx.Client, idle_token: str, path: str, message: str
) -> None:
    """Token, pin format and datastream are checked with the legacy messages."""
    assert_plain_error(http.get(path.format(token=idle_token)), message)


def test_get_update_sets_properties(
    http: httpx.Client, device: dict[str, Any], data_dir: Path
) -> None:
    """Without value, known property parameters are stored; %23 encodes the colour's #."""
    token = device["token"]
    assert_empty_ok(http.get(f"/{token}/update/v1?label=Boiler&color=%2323C48E&onLabel=ON"))
    assert properties(data_dir, device["id"]) == {
        "label": '"Boiler"',
        "color": '"#23C48E"',
        "onLabel": '"ON"',
    }


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/{token}/update/v1", "Wrong request format."),
        ("/{token}/update/v1?colour=red", "Wrong request format."),
        ("/{token}/update/v1?label", "No properties for update provided."),
        ("/{token}/update/v99?label=x", "No widget for SetWidgetProperty command."),
        ("/{token}/update/v1?min=abc", "Error setting widget property."),
        ("/{token}/update/v1?isOnPlay=maybe", "Error setting widget property."),
    ],
)
def test_property_mode_errors(http: httpx.Client, idle_token: str, path: str, message: str) -> None:
    """Property mode answers each legacy message for its failure."""
    assert_plain_error(http.get(path.format(token=idle_token)), message)


# LEG-03 / LEG-04 write via PUT


def test_put_update_writes_and_device_api_reads(http: httpx.Client, token: str) -> None:
    """PUT ["55"] answers an empty 200 and the value is readable via /external/api/get."""
    assert_empty_ok(put_json(http, f"/{token}/update/v2", '["55"]'))
    assert device_get(http, token, "v2") == "55"


def test_put_pin_alias_writes_digital_pin(http: httpx.Client, token: str) -> None:
    """PUT /pin/D13 with ["1"] (blynkapi's on()) writes the digital pin."""
    assert_empty_ok(put_json(http, f"/{token}/pin/D13", '["1"]'))
    assert http.get(f"/{token}/get/d13").json() == ["1"]


def test_put_accepts_multi_value_and_json_scalars(http: httpx.Client, token: str) -> None:
    """["lon","lat"] writes a location; numbers and booleans in the array are read as text."""
    assert_empty_ok(put_json(http, f"/{token}/update/v5", '["1.5", 2.5]'))
    assert http.get(f"/{token}/get/v5").json() == ["1.5", "2.5"]
    assert_empty_ok(put_json(http, f"/{token}/update/v7", "[true]"))
    assert http.get(f"/{token}/get/v7").json() == ["1"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{oops", "Error parsing body param. {oops"),
        ('"100"', 'Error parsing body param. "100"'),
        ('{"value": "1"}', 'Error parsing body param. {"value": "1"}'),
        ('[["1"]]', 'Error parsing body param. [["1"]]'),
        ("", "Error parsing body param. "),
        ("[]", "No pin for update provided."),
        ('["abc"]', "Value doesn't match the Datastream data type."),
    ],
)
def test_put_refuses_bad_bodies_with_400(
    http: httpx.Client, idle_token: str, body: str, message: str
) -> None:
    """Unparsable or misshapen bodies echo the raw body; the spec's 500 is a 400 here."""
    assert_plain_error(put_json(http, f"/{idle_token}/update/v1", body), message)


def test_put_refuses_missing_content_type(http: httpx.Client, idle_token: str) -> None:
    """A body without Content-Type application/json answers 400 Unexpected content type."""
    answer = http.put(
        f"/{idle_token}/pin/v1", content='["1"]', headers={"Content-Type": "text/plain"}
    )
    assert_plain_error(answer, "Unexpected content type. Expecting application/json.")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/nope/update/v1", "Invalid token."),
        ("/{token}/update/v1000", "Wrong pin format."),
        ("/{token}/pin/a7", "Requested pin doesn't exist in the app."),
    ],
)
def test_put_refuses_bad_token_and_pins(
    http: httpx.Client, idle_token: str, path: str, message: str
) -> None:
    """A valid body to a bad token or pin answers the legacy message."""
    assert_plain_error(put_json(http, path.format(token=idle_token), '["1"]'), message)


def test_oversize_body_is_413_plain_text(http: httpx.Client, idle_token: str) -> None:
    """A body over the request limit answers 413 in plain text on a legacy path."""
    body = '["' + "x" * (2 * 1024 * 1024) + '"]'
    answer = put_json(http, f"/{idle_token}/update/v4", body)
    assert answer.status_code == 413
    assert answer.headers["content-type"] == TEXT


# LEG-05 timestamped write


def test_timestamped_points_keep_their_timestamps(
    http: httpx.Client, device: dict[str, Any], data_dir: Path
) -> None:
    """Each element lands in history at its own ts; the first (newest) one becomes current."""
    token, ts = device["token"], now_ms()
    body = f'[{{"timestamp":{ts - 1000},"value":"30"}},{{"timestamp":{ts - 2000},"value":"20"}}]'
    assert_empty_ok(put_json(http, f"/{token}/extra/pin/v2", body))
    points = history(data_dir, device["id"])
    assert sorted((ds, at, num) for ds, at, num, _ in points) == [
        (2, ts - 2000, 20.0),
        (2, ts - 1000, 30.0),
    ]
    assert device_get(http, token, "v2") == "30"


def test_timestamped_first_element_becomes_current_even_if_older(
    http: httpx.Client, device: dict[str, Any], data_dir: Path
) -> None:
    """When the first element is not the newest, its value is recorded again at server time."""
    token, ts = device["token"], now_ms()
    body = f'[{{"timestamp":{ts - 2000},"value":"10"}},{{"timestamp":{ts - 1000},"value":"20"}}]'
    assert_empty_ok(put_json(http, f"/{token}/extra/pin/v2", body))
    points = [(at, num) for _, at, num, _ in history(data_dir, device["id"])]
    assert points[:2] == [(ts - 2000, 10.0), (ts - 1000, 20.0)]
    assert len(points) == 3
    assert points[2][0] >= ts
    assert points[2][1] == 10.0
    assert http.get(f"/{token}/get/v2").json() == ["10"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[]", "No pin for update provided."),
        ('[{"value":"1"}]', 'Error parsing body param. [{"value":"1"}]'),
        (
            '[{"timestamp":1.5,"value":"1"}]',
            'Error parsing body param. [{"timestamp":1.5,"value":"1"}]',
        ),
        ('["1"]', 'Error parsing body param. ["1"]'),
        ('[{"timestamp":{ts},"value":"x"}]', "Value doesn't match the Datastream data type."),
        ('[{"timestamp":1000,"value":"1"}]', "Timestamp 1000 is more than 31 days away from now."),
    ],
)
def test_timestamped_write_refuses_bad_bodies(
    http: httpx.Client, token: str, body: str, message: str
) -> None:
    """Misshapen elements, bad values and timestamps outside ±31 days are refused."""
    body = body.replace("{ts}", str(now_ms()))
    assert_plain_error(put_json(http, f"/{token}/extra/pin/v1", body), message)
    assert http.get(f"/{token}/get/v1").json() == []


def test_timestamped_write_checks_token(http: httpx.Client) -> None:
    """A valid body with an unknown token answers Invalid token."""
    body = f'[{{"timestamp":{now_ms()},"value":"1"}}]'
    assert_plain_error(put_json(http, "/nope/extra/pin/v1", body), "Invalid token.")


# LEG-06 / LEG-07 connection status


def test_is_hardware_connected_is_json_false_without_connection(
    http: httpx.Client, idle_token: str
) -> None:
    """A device with no live connection answers JSON false."""
    answer = http.get(f"/{idle_token}/isHardwareConnected")
    assert (answer.status_code, answer.text) == (200, "false")
    assert answer.headers["content-type"] == JSON
    assert answer.headers["access-control-allow-origin"] == "*"


def test_is_app_connected_is_false(http: httpx.Client, idle_token: str) -> None:
    """No app sessions exist, so isAppConnected answers JSON false."""
    answer = http.get(f"/{idle_token}/isAppConnected")
    assert (answer.status_code, answer.json()) == (200, False)


@pytest.mark.parametrize(
    "action", ["isHardwareConnected", "isAppConnected", "project", "rtc", "qr", "data/v1"]
)
def test_token_only_endpoints_refuse_unknown_token(http: httpx.Client, action: str) -> None:
    """Every read-only endpoint checks the token first."""
    assert_plain_error(http.get(f"/nope/{action}"), "Invalid token.")


# LEG-08 / LEG-09 notification and e-mail


def test_notify_accepts_valid_body(http: httpx.Client, idle_token: str) -> None:
    """{"body": "…"} answers an empty 200 (the message goes to the server log)."""
    assert_empty_ok(http.post(f"/{idle_token}/notify", json={"body": "Door opened"}))


@pytest.mark.parametrize("body", ['{"body":""}', "{}", "null", '{"body":"' + "x" * 256 + '"}'])
def test_notify_refuses_empty_or_long_body(http: httpx.Client, idle_token: str, body: str) -> None:
    """Missing, empty or over-255-character bodies answer the legacy message."""
    answer = http.post(f"/{idle_token}/notify", content=body, headers=JSON_BODY)
    assert_plain_error(answer, "Body is empty or larger than 255 chars.")


def test_notify_checks_token_before_body(http: httpx.Client) -> None:
    """An unknown token with an empty body answers Invalid token. (check order of LEG-08)."""
    answer = http.post("/nope/notify", json={"body": ""})
    assert_plain_error(answer, "Invalid token.")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"content": '{"body":"x"}'}, "Unexpected content type. Expecting application/json."),
        ({"content": "[1]", "headers": JSON_BODY}, "Error parsing body param. [1]"),
        ({"content": '{"body":{}}', "headers": JSON_BODY}, 'Error parsing body param. {"body":{}}'),
    ],
)
def test_notify_refuses_bad_content(
    http: httpx.Client, idle_token: str, kwargs: dict[str, Any], message: str
) -> None:
    """Content-type and parse errors answer 400 with the legacy text."""
    assert_plain_error(http.post(f"/{idle_token}/notify", **kwargs), message)


def test_email_accepts_to_and_subject(http: httpx.Client, idle_token: str) -> None:
    """{"to", "subj", "title"} answers an empty 200."""
    body = {"to": "ops@example.com", "subj": "Alarm", "title": "Boiler is hot"}
    assert_empty_ok(http.post(f"/{idle_token}/email", json=body))


@pytest.mark.parametrize(
    "body", [{"to": "ops@example.com"}, {"subj": "Alarm"}, {"to": "", "subj": "Alarm"}, {}]
)
def test_email_refuses_missing_fields(
    http: httpx.Client, idle_token: str, body: dict[str, str]
) -> None:
    """A missing or empty to or subj answers the legacy message."""
    answer = http.post(f"/{idle_token}/email", json=body)
    assert_plain_error(answer, "Email body is wrong. Missing or empty fields 'to', 'subj'.")


def test_email_refuses_wrong_content_type(http: httpx.Client, idle_token: str) -> None:
    """A form body answers Unexpected content type with 400."""
    answer = http.post(f"/{idle_token}/email", data={"to": "a@b.c", "subj": "s"})
    assert_plain_error(answer, "Unexpected content type. Expecting application/json.")


# LEG-10 history download


def test_data_redirects_to_gzipped_csv(http: httpx.Client, device: dict[str, Any]) -> None:
    """data/v1 answers 301 to a .csv.gz on this host holding value,ts,deviceId rows."""
    token = device["token"]
    http.get(f"/{token}/update/v1?value=11")
    http.get(f"/{token}/update/v1?value=12")
    answer = http.get(f"/{token}/data/V1")
    assert (answer.status_code, answer.content) == (301, b"")
    assert answer.headers["access-control-allow-origin"] == "*"
    location = answer.headers["location"]
    assert re.fullmatch(rf"/{device['id']}_v1_[0-9a-f]{{32}}\.csv\.gz", location)
    download = http.get(location)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/gzip"
    rows = [line.split(",") for line in gzip.decompress(download.content).decode().splitlines()]
    assert [(value, device_id) for value, _, device_id in rows] == [
        ("11", str(device["id"])),
        ("12", str(device["id"])),
    ]
    assert all(int(ts) > now_ms() - 60_000 for _, ts, _ in rows)


def test_data_of_pin_without_history_is_no_data(http: httpx.Client, token: str) -> None:
    """A pin that never received a value answers No data."""
    assert_plain_error(http.get(f"/{token}/data/v9"), "No data.")


@pytest.mark.parametrize(
    ("pin", "message"),
    [("z1", "Wrong pin format."), ("v42", "Requested pin doesn't exist in the app.")],
)
def test_data_refuses_bad_pins(http: httpx.Client, idle_token: str, pin: str, message: str) -> None:
    """Pins are checked as on every other pin endpoint."""
    assert_plain_error(http.get(f"/{idle_token}/data/{pin}"), message)


def test_unknown_export_file_is_404(http: httpx.Client) -> None:
    """A well-formed export name that was never generated answers an empty 404."""
    answer = http.get(f"/1_v1_{'0' * 32}.csv.gz")
    assert (answer.status_code, answer.content) == (404, b"")
    assert answer.headers["access-control-allow-origin"] == "*"


# LEG-11 / LEG-12 / LEG-13


def test_qr_is_not_served(http: httpx.Client, idle_token: str) -> None:
    """Clone QR codes are not supported: an empty 404, CORS-open."""
    answer = http.get(f"/{idle_token}/qr")
    assert (answer.status_code, answer.content) == (404, b"")
    assert answer.headers["access-control-allow-origin"] == "*"


def test_project_has_one_widget_per_datastream(http: httpx.Client, token: str) -> None:
    """The project is the template: one widget per datastream, holding the device's values."""
    http.get(f"/{token}/update/v1?value=7")
    answer = http.get(f"/{token}/project")
    assert answer.headers["content-type"] == JSON
    project = answer.json()
    assert (project["name"], project["isActive"], project["isShared"]) == ("ESP32 QA", True, False)
    widgets = {(w["pinType"], w["pin"]): w for w in project["widgets"]}
    assert len(widgets) == 11
    counter = widgets[("VIRTUAL", 1)]
    assert (counter["min"], counter["max"], counter["value"]) == (0, 100, "7")
    assert widgets[("VIRTUAL", 2)]["value"] is None
    assert widgets[("DIGITAL", 13)]["max"] == 1
    assert project["updatedAt"] >= project["createdAt"]


def test_rtc_does_not_exist(http: httpx.Client, idle_token: str) -> None:
    """Templates have no RTC widget: Requested rtc not exists in app."""
    assert_plain_error(http.get(f"/{idle_token}/rtc"), "Requested rtc not exists in app.")


# Routing


@pytest.mark.parametrize("path", ["/{token}/query?pin=v1", "/{token}/get", "/external/get/v1"])
def test_unknown_actions_fall_through_to_json_404(
    http: httpx.Client, token: str, path: str
) -> None:
    """No catch-all: unknown actions and modern prefixes answer the app's JSON 404."""
    answer = http.get(path.format(token=token))
    assert (answer.status_code, answer.json()) == (404, {"error": {"message": "Not found."}})


def test_legacy_writes_are_visible_to_device_api_and_back(http: httpx.Client, token: str) -> None:
    """Values cross both ways between /{token}/update and /external/api/get|update."""
    assert_empty_ok(http.get(f"/{token}/update/v4?value=from%20legacy"))
    assert device_get(http, token, "v4") == "from legacy"
    http.get(f"/external/api/update?token={token}&v4=from%20device")
    assert http.get(f"/{token}/get/v4").json() == ["from device"]


# No input causes a 5xx

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=9), inner, max_size=3)
    ),
    max_leaves=10,
)
BODIES = JSON_VALUES.map(json.dumps) | st.binary(max_size=64).map(lambda raw: raw.decode("latin-1"))
PINS = st.sampled_from(["v1", "V4", "v5", "v7", "d13", "a0", "v256"]) | st.text(max_size=5)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    action=st.sampled_from(["update/{pin}", "pin/{pin}", "extra/pin/{pin}", "notify", "email"]),
    pin=PINS,
    body=BODIES,
)
def test_random_bodies_never_answer_5xx(
    http: httpx.Client, token: str, action: str, pin: str, body: str
) -> None:
    """Any JSON or junk body on a body endpoint is stored or refused below 500."""
    path = f"/{token}/{action.format(pin=quote(pin, safe=''))}"
    method = "POST" if action in ("notify", "email") else "PUT"
    answer = http.request(method, path, content=body.encode(), headers=JSON_BODY)
    assert answer.status_code < 500, answer.text


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    action=st.sampled_from(["get", "update", "data"]),
    pin=PINS,
    raw=st.binary(max_size=60).map(lambda raw: quote(raw, safe="=&%+;")),
)
def test_random_pins_and_queries_never_answer_5xx(
    http: httpx.Client, token: str, action: str, pin: str, raw: str
) -> None:
    """Any pin segment and query string on a GET pin endpoint is answered below 500."""
    answer = http.get(f"/{token}/{action}/{quote(pin, safe='')}?{raw}")
    assert answer.status_code < 500, answer.text


def test_project_lists_the_devices_of_one_owner_and_their_tags(
    http: httpx.Client, data_dir: Path
) -> None:
    """LEG-12 devices[] and tags[]: the devices of the token's template, organization and owner,
    as Blynk 1.0's DashBoard listed them; another owner's device stays out."""
    spec = json.loads((FIXTURES / "spec.json").read_text())
    spec["organization"] = {"name": "Project owners"}
    spec["templates"][0].update(name="Owned Template", templateId="TMPLowned")
    spec["users"] = [
        {"email": f"{name}@owners.test", "name": name, "roleId": 1, "password": "pw"}
        for name in ("alice", "bob")
    ]
    spec["devices"] = [
        {"name": name, "template": "Owned Template", "owner": f"{owner}@owners.test"}
        for name, owner in (("Alpha", "alice"), ("Beta", "alice"), ("Gamma", "bob"))
    ]
    created = provision(spec, data_dir=data_dir)
    alpha, beta, gamma = created["devices"]
    for device in created["devices"]:  # made by another process: the server learns each token
        assert http.get(f"/{device['token']}/isHardwareConnected").status_code == 200
    org_id = created["organization"]["id"]
    (roof,) = put_tags(data_dir, org_id, alpha["id"], ["Roof"])
    (pump,) = put_tags(data_dir, org_id, gamma["id"], ["Pump"])
    with sqlite3.connect(data_dir / "pinbase.db", timeout=10) as db:
        db.execute("INSERT INTO device_tags (device_id, tag_id) VALUES (?, ?)", (beta["id"], roof))
    project = http.get(f"/{beta['token']}/project").json()
    assert project["devices"] == [
        {"id": alpha["id"], "name": "Alpha", "boardType": "Generic Board"},
        {"id": beta["id"], "name": "Beta", "boardType": "Generic Board"},
    ]
    assert project["tags"] == [{"id": roof, "name": "Roof", "deviceIds": [alpha["id"], beta["id"]]}]
    assert {widget["deviceId"] for widget in project["widgets"]} == {beta["id"]}
    bobs = http.get(f"/{gamma['token']}/project").json()
    assert [device["id"] for device in bobs["devices"]] == [gamma["id"]]
    assert bobs["tags"] == [{"id": pump, "name": "Pump", "deviceIds": [gamma["id"]]}]
