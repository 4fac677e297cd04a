"""Platform API datastreams over HTTP: ★ PLT-DS-05 first, then PLT-DS-01 to 04 and 06, and the
property read-back extension. Tokens come from ``/oauth2/token``; organization B's token must
never reach organization A's devices.
"""

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from platform_http import bearer, client_of, device_not_found, error, issue_token, org_headers

from pinbase.testing import ServerProcess, provision
from stored import history
from testspec import load_spec

PROPERTY = "/api/v1/organization/device/datastream/property"
VALUE = "/api/v1/organization/device/datastream"
VALUES = "/api/v1/organization/device/datastreams"
IMPORT = "/api/v1/organization/device/import/batch"
HISTORY = "/api/v1/organization/device/datastream/history"

INCORRECT = error("Request with incorrect parameters")
MISMATCH = error("Value doesn't match the Datastream data type")
DAY_MS = 86_400_000


def datastream_not_found(datastream_id: object) -> dict[str, Any]:
    return error(f"Data stream with identifier {datastream_id} is not found!")


def stored_properties(data_dir: Path, device_id: int) -> list[tuple[int, str, str]]:
    with sqlite3.connect(f"file:{data_dir / 'pinbase.db'}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT datastream_id, name, value FROM properties WHERE device_id = ? "
            "ORDER BY datastream_id, name",
            (device_id,),
        ).fetchall()


def values_of(http: httpx.Client, headers: dict[str, str], device_id: int) -> dict[str, Any]:
    answer = http.get(f"{VALUES}?deviceId={device_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


# --- ★ PLT-DS-05: the seed's test vectors -------------------------------------------------


def test_seed_vector_1_stores_the_property(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any], data_dir: Path
) -> None:
    """Both exist: 204 with an empty body, and the property is stored."""
    body = {"deviceId": device["id"], "dataStreamId": 1, "property": "color", "value": "#D3435C"}
    answer = http.post(PROPERTY, json=body, headers=headers)
    assert (answer.status_code, answer.content) == (204, b"")
    assert stored_properties(data_dir, device["id"]) == [(1, "color", '"#D3435C"')]


def test_seed_vector_2_unknown_device(http: httpx.Client, headers: dict[str, str]) -> None:
    """deviceId 999: 404 with the device message."""
    body = {"deviceId": 999, "dataStreamId": 1, "property": "label", "value": "x"}
    answer = http.post(PROPERTY, json=body, headers=headers)
    assert (answer.status_code, answer.json()) == (404, device_not_found(999))


def test_seed_vector_3_unknown_datastream(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any], data_dir: Path
) -> None:
    """dataStreamId 77 on an existing device: 404 with the datastream message, nothing stored."""
    body = {"deviceId": device["id"], "dataStreamId": 77, "property": "label", "value": "x"}
    answer = http.post(PROPERTY, json=body, headers=headers)
    assert (answer.status_code, answer.json()) == (404, datastream_not_found(77))
    assert stored_properties(data_dir, device["id"]) == []


# --- PLT-DS-05: check order ---------------------------------------------------------------


def test_token_is_checked_before_the_body(http: httpx.Client) -> None:
    """A broken body without a token is 401, not 400."""
    answer = http.post(PROPERTY, content=b"{broken")
    assert (answer.status_code, answer.json()) == (401, error("Unauthorized"))


def test_body_is_checked_before_the_device(http: httpx.Client, headers: dict[str, str]) -> None:
    """An unknown property for an unknown device is 400, not 404."""
    body = {"deviceId": 999, "dataStreamId": 1, "property": "nope", "value": "x"}
    answer = http.post(PROPERTY, json=body, headers=headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_device_is_checked_before_the_datastream(
    http: httpx.Client, headers: dict[str, str]
) -> None:
    """Unknown device and unknown datastream: the device 404."""
    body = {"deviceId": 999, "dataStreamId": 77, "property": "label", "value": "x"}
    answer = http.post(PROPERTY, json=body, headers=headers)
    assert answer.json() == device_not_found(999)


def test_datastream_is_checked_before_the_value(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """Unknown datastream and a bad boolean: the datastream 404."""
    body = {"deviceId": device["id"], "dataStreamId": 77, "property": "isDisabled", "value": "?"}
    answer = http.post(PROPERTY, json=body, headers=headers)
    assert (answer.status_code, answer.json()) == (404, datastream_not_found(77))


# --- PLT-DS-05: bodies --------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{broken",
        b"[]",
        b'"text"',
        b"",
        b'{"dataStreamId":1,"property":"label","value":"x"}',
        b'{"deviceId":DEVICE,"property":"label","value":"x"}',
        b'{"deviceId":DEVICE,"dataStreamId":1,"value":"x"}',
        b'{"deviceId":DEVICE,"dataStreamId":1,"property":"label"}',
        b'{"deviceId":"DEVICE","dataStreamId":1,"property":"label","value":"x"}',
        b'{"deviceId":DEVICE,"dataStreamId":1.5,"property":"label","value":"x"}',
        b'{"deviceId":true,"dataStreamId":1,"property":"label","value":"x"}',
        b'{"deviceId":99999999999,"dataStreamId":1,"property":"label","value":"x"}',
        b'{"deviceId":DEVICE,"dataStreamId":1,"property":"fontSize","value":"x"}',
        b'{"deviceId":DEVICE,"dataStreamId":1,"property":7,"value":"x"}',
        b'{"deviceId":DEVICE,"dataStreamId":1,"property":"label","value":null}',
        b'{"deviceId":DEVICE,"dataStreamId":1,"property":"label","value":{"a":1}}',
        b'{"deviceId":DEVICE,"dataStreamId":1,"property":"labels","value":[]}',
        b'{"deviceId":DEVICE,"dataStreamId":1,"property":"labels","value":[1,2]}',
    ],
    ids=[
        "broken-json",
        "array",
        "string",
        "empty",
        "no-device",
        "no-datastream",
        "no-property",
        "no-value",
        "device-as-text",
        "fractional-id",
        "boolean-id",
        "huge-id",
        "unknown-property",
        "property-not-text",
        "null-value",
        "object-value",
        "empty-list",
        "list-of-numbers",
    ],
)
def test_malformed_bodies_are_incorrect_parameters(
    http: httpx.Client,
    headers: dict[str, str],
    device: dict[str, Any],
    data_dir: Path,
    body: bytes,
) -> None:
    """Broken JSON, missing fields, wrong types, unknown properties: 400, nothing stored."""
    content = body.replace(b"DEVICE", str(device["id"]).encode())
    answer = http.post(
        PROPERTY, content=content, headers={**headers, "Content-Type": "application/json"}
    )
    assert (answer.status_code, answer.json()) == (400, INCORRECT)
    assert stored_properties(data_dir, device["id"]) == []


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (5, '"5"'),
        (2.5, '"2.5"'),
        (True, '"true"'),
        ("plain", '"plain"'),
        (["A", "B"], '["A","B"]'),
    ],
)
def test_values_are_stored_as_text(
    http: httpx.Client,
    headers: dict[str, str],
    device: dict[str, Any],
    data_dir: Path,
    value: object,
    stored: str,
) -> None:
    """Numbers and booleans become text (OP-14); a list of strings is a multi-value property."""
    name = "labels" if isinstance(value, list) else "label"
    body = {"deviceId": device["id"], "dataStreamId": 6, "property": name, "value": value}
    assert http.post(PROPERTY, json=body, headers=headers).status_code == 204
    assert stored_properties(data_dir, device["id"]) == [(6, name, stored)]


@pytest.mark.parametrize(
    ("name", "value"),
    [("isDisabled", "maybe"), ("step", "big"), ("label", "x" * 1025), ("label", "a\u0000b")],
)
def test_values_in_the_wrong_format_mismatch(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any], name: str, value: str
) -> None:
    """Booleans, numbers, length and NUL are checked as DEV-06 checks them."""
    body = {"deviceId": device["id"], "dataStreamId": 1, "property": name, "value": value}
    answer = http.post(PROPERTY, json=body, headers=headers)
    assert (answer.status_code, answer.json()) == (400, MISMATCH)


def test_identifiers_may_come_from_the_query(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any], data_dir: Path
) -> None:
    """deviceId and dataStreamId missing from the body are read from the query (OP-07)."""
    answer = http.post(
        f"{PROPERTY}?deviceId={device['id']}&dataStreamId=2",
        json={"property": "label", "value": "From query"},
        headers=headers,
    )
    assert answer.status_code == 204
    assert stored_properties(data_dir, device["id"]) == [(2, "label", '"From query"')]


def test_body_identifiers_win_over_the_query(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any], data_dir: Path
) -> None:
    """When both carry an identifier, the body's counts."""
    body = {"deviceId": device["id"], "dataStreamId": 3, "property": "label", "value": "Body"}
    answer = http.post(f"{PROPERTY}?deviceId=999&dataStreamId=77", json=body, headers=headers)
    assert answer.status_code == 204
    assert stored_properties(data_dir, device["id"]) == [(3, "label", '"Body"')]


def test_a_new_value_overwrites_the_property(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """Setting a property again replaces it; the read-back shows the newest of each."""
    for value in ("First", "Second"):
        body = {"deviceId": device["id"], "dataStreamId": 1, "property": "label", "value": value}
        http.post(PROPERTY, json=body, headers=headers)
    body = {"deviceId": device["id"], "dataStreamId": 1, "property": "isHidden", "value": False}
    http.post(PROPERTY, json=body, headers=headers)
    answer = http.get(f"{PROPERTY}?deviceId={device['id']}&dataStreamId=1", headers=headers)
    assert answer.json() == {"isHidden": "false", "label": "Second"}


def test_read_back_follows_later_changes(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """A read before any change, then changes by both APIs: every read shows the newest state."""
    url = f"{PROPERTY}?deviceId={device['id']}&dataStreamId=2"
    assert http.get(url, headers=headers).json() == {}
    body = {"deviceId": device["id"], "dataStreamId": 2, "property": "label", "value": "One"}
    http.post(PROPERTY, json=body, headers=headers)
    assert http.get(url, headers=headers).json() == {"label": "One"}
    http.get(f"/external/api/update/property?token={device['token']}&pin=v2&label=Two")
    assert http.get(url, headers=headers).json() == {"label": "Two"}
    info = http.get(f"/api/v1/organization/device?deviceId={device['id']}", headers=headers)
    assert info.json()["properties"] == {"2": {"label": "Two"}}


def test_property_set_by_the_device_api_is_read_back(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """DEV-06 and PLT-DS-05 share one store."""
    http.get(
        f"/external/api/update/property?token={device['token']}&pin=v4&label=Dev&urls=a&urls=b"
    )
    answer = http.get(f"{PROPERTY}?deviceId={device['id']}&dataStreamId=4", headers=headers)
    assert (answer.status_code, answer.json()) == (200, {"label": "Dev", "urls": ["a", "b"]})


@pytest.mark.parametrize(
    ("query", "status", "body"),
    [
        ("deviceId=999&dataStreamId=1", 404, device_not_found(999)),
        ("deviceId=DEVICE&dataStreamId=77", 404, datastream_not_found(77)),
        ("deviceId=DEVICE", 400, INCORRECT),
        ("dataStreamId=1", 400, INCORRECT),
        ("deviceId=x&dataStreamId=1", 400, INCORRECT),
        ("deviceId=DEVICE&dataStreamId=1", 200, {}),
    ],
)
def test_property_read_back_errors(
    http: httpx.Client,
    headers: dict[str, str],
    device: dict[str, Any],
    query: str,
    status: int,
    body: object,
) -> None:
    """The read-back extension answers the PLT-DS-05 404s; no property yet is ``{}``."""
    answer = http.get(f"{PROPERTY}?{query.replace('DEVICE', str(device['id']))}", headers=headers)
    assert (answer.status_code, answer.json()) == (status, body)


# --- PLT-DS-02 ----------------------------------------------------------------------------


def test_value_write_is_typed_clamped_and_stored(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any], data_dir: Path
) -> None:
    """314 on Counter (0..100) is stored as 100, in history and as the current value."""
    body = {"deviceId": device["id"], "dataStreamId": 1, "value": 314}
    answer = http.post(VALUE, json=body, headers=headers)
    assert (answer.status_code, answer.content) == (204, b"")
    assert values_of(http, headers, device["id"])["v1"] == 100
    assert [(row[0], row[2]) for row in history(data_dir, device["id"])] == [(1, 100.0)]
    assert http.get(f"/external/api/get?token={device['token']}&v1").text == "100"


@pytest.mark.parametrize(
    ("datastream_id", "value", "expected"),
    [
        (3, 21.5, 21.5),
        (3, -100, -40.0),
        (4, "hello", "hello"),
        (4, "a\u0000b", "a\u0000b"),  # a multi-value string (docs/storage.md, "Text and NUL")
        (5, [30.52, 50.45], [30.52, 50.45]),
        (6, 1, 1),
        (7, True, True),
    ],
)
def test_every_type_is_written_as_json(
    http: httpx.Client,
    headers: dict[str, str],
    device: dict[str, Any],
    datastream_id: int,
    value: object,
    expected: object,
) -> None:
    """Double (clamped), String, Location, Enum and Boolean take their JSON forms."""
    body = {"deviceId": device["id"], "dataStreamId": datastream_id, "value": value}
    assert http.post(VALUE, json=body, headers=headers).status_code == 204
    assert values_of(http, headers, device["id"])[f"v{datastream_id}"] == expected


@pytest.mark.parametrize(
    ("datastream_id", "value", "message"),
    [
        (1, "12", MISMATCH),
        (1, 1.5, MISMATCH),
        (1, 2**40, MISMATCH),
        (1, None, MISMATCH),
        (7, "true", MISMATCH),
        (5, [1], MISMATCH),
        (4, 5, MISMATCH),
        (4, "x" * 1025, error("Value is too long. The maximum is 1024 bytes.")),
    ],
)
def test_mismatching_values_are_refused(
    http: httpx.Client,
    headers: dict[str, str],
    device: dict[str, Any],
    data_dir: Path,
    datastream_id: int,
    value: object,
    message: dict[str, Any],
) -> None:
    """A value of the wrong type is 400 with the mismatch message (OP-15); nothing stored."""
    body = {"deviceId": device["id"], "dataStreamId": datastream_id, "value": value}
    answer = http.post(VALUE, json=body, headers=headers)
    assert (answer.status_code, answer.json()) == (400, message)
    assert history(data_dir, device["id"]) == []


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        ({"deviceId": 999, "dataStreamId": 1, "value": 1}, 404, device_not_found(999)),
        ({"deviceId": "DEVICE", "dataStreamId": 77, "value": 1}, 404, datastream_not_found(77)),
        ({"deviceId": "DEVICE", "dataStreamId": 1}, 400, INCORRECT),
        ({"deviceId": "DEVICE", "value": 1}, 400, INCORRECT),
    ],
)
def test_value_write_errors(
    http: httpx.Client,
    headers: dict[str, str],
    device: dict[str, Any],
    body: dict[str, Any],
    status: int,
    expected: dict[str, Any],
) -> None:
    """Unknown device or datastream: their 404s; a missing field: 400."""
    body = {k: device["id"] if v == "DEVICE" else v for k, v in body.items()}
    answer = http.post(VALUE, json=body, headers=headers)
    assert (answer.status_code, answer.json()) == (status, expected)


def test_value_write_takes_identifiers_from_the_query(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """OP-07 holds for PLT-DS-02 too."""
    answer = http.post(
        f"{VALUE}?deviceId={device['id']}&dataStreamId=2", json={"value": 7}, headers=headers
    )
    assert answer.status_code == 204
    assert values_of(http, headers, device["id"])["v2"] == 7


# --- PLT-DS-03 ----------------------------------------------------------------------------


def test_multiple_values_share_one_timestamp(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any], data_dir: Path
) -> None:
    """Every value of one request is stored with the same timestamp."""
    body = {"deviceId": device["id"], "values": {"1": 5, "4": "new value", "3": 20}}
    answer = http.post(VALUES, json=body, headers=headers)
    assert (answer.status_code, answer.content) == (204, b"")
    rows = history(data_dir, device["id"])
    assert sorted(row[0] for row in rows) == [1, 3, 4]
    assert len({row[1] for row in rows}) == 1
    assert values_of(http, headers, device["id"]) == {
        "v1": 5,
        "v3": 20.0,
        "v4": "new value",
        "v8": 21.5,
    }


@pytest.mark.parametrize(
    ("values", "status", "expected"),
    [
        ({"1": 5, "77": 1}, 404, datastream_not_found(77)),
        ({"1": 5, "4": 6}, 400, MISMATCH),
        ({"v1": 5}, 400, INCORRECT),
        ({"01": 5}, 400, INCORRECT),
        ({"-1": 5}, 400, INCORRECT),
        ({}, 400, INCORRECT),
    ],
)
def test_multiple_values_are_all_or_nothing(
    http: httpx.Client,
    headers: dict[str, str],
    device: dict[str, Any],
    data_dir: Path,
    values: dict[str, Any],
    status: int,
    expected: dict[str, Any],
) -> None:
    """One unknown datastream, bad value or bad key stores nothing."""
    answer = http.post(VALUES, json={"deviceId": device["id"], "values": values}, headers=headers)
    assert (answer.status_code, answer.json()) == (status, expected)
    assert history(data_dir, device["id"]) == []


def test_multiple_values_of_an_unknown_device(http: httpx.Client, headers: dict[str, str]) -> None:
    """An unknown device is the device 404."""
    answer = http.post(VALUES, json={"deviceId": 999, "values": {"1": 1}}, headers=headers)
    assert (answer.status_code, answer.json()) == (404, device_not_found(999))


# --- PLT-DS-04 ----------------------------------------------------------------------------


def test_import_keeps_each_point_timestamp(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any], data_dir: Path
) -> None:
    """Imported points land in history at their own times; the newest becomes current."""
    now = int(time.time() * 1000)
    points = [{"value": 5, "ts": now - 2000}, {"value": 200, "ts": now - 1000}]
    body = {"deviceId": device["id"], "dataStreamId": 1, "values": points}
    answer = http.post(IMPORT, json=body, headers=headers)
    assert (answer.status_code, answer.content) == (204, b"")
    assert [(row[1], row[2]) for row in history(data_dir, device["id"])] == [
        (now - 2000, 5.0),
        (now - 1000, 100.0),
    ]
    assert values_of(http, headers, device["id"])["v1"] == 100


@pytest.mark.parametrize(
    ("values", "status", "expected"),
    [
        ([{"value": 1, "ts": "OLD"}], 400, INCORRECT),
        ([{"value": 1, "ts": "FUTURE"}], 400, INCORRECT),
        ([{"value": 1}], 400, INCORRECT),
        ([{"ts": "NOW"}], 400, INCORRECT),
        ([{"value": "x", "ts": "NOW"}], 400, MISMATCH),
        ([{"value": 1, "ts": 1.5}], 400, INCORRECT),
        ([], 400, INCORRECT),
    ],
)
def test_import_errors(
    http: httpx.Client,
    headers: dict[str, str],
    device: dict[str, Any],
    data_dir: Path,
    values: list[dict[str, Any]],
    status: int,
    expected: dict[str, Any],
) -> None:
    """Points outside now ± 31 days, without a timestamp or of the wrong type: nothing stored."""
    now = int(time.time() * 1000)
    stamps = {"OLD": now - 32 * DAY_MS, "FUTURE": now + 32 * DAY_MS, "NOW": now}
    points = [
        {k: stamps.get(v, v) if k == "ts" else v for k, v in point.items()} for point in values
    ]
    body = {"deviceId": device["id"], "dataStreamId": 1, "values": points}
    answer = http.post(IMPORT, json=body, headers=headers)
    assert (answer.status_code, answer.json()) == (status, expected)
    assert history(data_dir, device["id"]) == []


def test_import_of_too_many_points(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """More than 10,000 points in one request: DEV-05's batch message."""
    now = int(time.time() * 1000)
    points = [{"value": n % 100, "ts": now - n} for n in range(10_001)]
    body = {"deviceId": device["id"], "dataStreamId": 1, "values": points}
    answer = http.post(IMPORT, json=body, headers=headers)
    expected = error("Too much data in batch. Maximum batch size is 10000 points.")
    assert (answer.status_code, answer.json()) == (400, expected)


def test_import_of_unknown_device_and_datastream(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """Unknown device, then unknown datastream: their 404s."""
    now = int(time.time() * 1000)
    points = [{"value": 1, "ts": now}]
    answer = http.post(
        IMPORT, json={"deviceId": 999, "dataStreamId": 1, "values": points}, headers=headers
    )
    assert (answer.status_code, answer.json()) == (404, device_not_found(999))
    answer = http.post(
        IMPORT,
        json={"deviceId": device["id"], "dataStreamId": 77, "values": points},
        headers=headers,
    )
    assert (answer.status_code, answer.json()) == (404, datastream_not_found(77))


@pytest.fixture(scope="module")
def quota_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """A server allowing 3 imported points per device per day."""
    data_dir = tmp_path_factory.mktemp("quota")
    created = provision(load_spec(1), data_dir=data_dir)
    with ServerProcess(data_dir, env={"PINBASE_IMPORT_POINTS_PER_DAY": "3"}) as server:
        yield server.base_url, created


def test_import_shares_the_daily_quota_with_the_device_api(
    quota_server: tuple[str, dict[str, Any]],
) -> None:
    """Points imported by DEV-05 and PLT-DS-04 count against one allowance per device."""
    base_url, created = quota_server
    device = created["devices"][0]
    now = int(time.time() * 1000)
    with httpx.Client(base_url=base_url, timeout=10) as http:
        headers = org_headers(http, created)
        uploaded = http.post(
            f"/external/api/batch/update?token={device['token']}&pin=v1",
            json=[[now - 10, 1], [now - 9, 2]],
        )
        assert uploaded.status_code == 200, uploaded.text
        points = [{"value": 3, "ts": now - 8}, {"value": 4, "ts": now - 7}]
        body = {"deviceId": device["id"], "dataStreamId": 1, "values": points}
        answer = http.post(IMPORT, json=body, headers=headers)
        expected = error("Daily limit of 3 imported points reached.")
        assert (answer.status_code, answer.json()) == (400, expected)
        body["values"] = points[:1]
        assert http.post(IMPORT, json=body, headers=headers).status_code == 204


# --- PLT-DS-01 ----------------------------------------------------------------------------


def test_values_by_pin(http: httpx.Client, headers: dict[str, str], device: dict[str, Any]) -> None:
    """All values (defaults included) by default; ``pins`` filters, unknown pins are left out."""
    http.get(f"/external/api/batch/update?token={device['token']}&v1=1&v4=Some%20value&v3=1.223")
    assert values_of(http, headers, device["id"]) == {
        "v1": 1,
        "v3": 1.223,
        "v4": "Some value",
        "v8": 21.5,
    }
    answer = http.get(f"{VALUES}?deviceId={device['id']}&pins=V4,v1,v99,d13", headers=headers)
    assert answer.json() == {"v4": "Some value", "v1": 1}


@pytest.mark.parametrize(
    ("query", "status", "expected"),
    [
        ("deviceId=999", 404, device_not_found(999)),
        ("deviceId=DEVICE&pins=x1", 400, INCORRECT),
        ("deviceId=DEVICE&pins=", 400, INCORRECT),
        ("deviceId=DEVICE&pins=v1,,v2", 400, INCORRECT),
        ("deviceId=abc", 400, INCORRECT),
        ("", 400, INCORRECT),
    ],
)
def test_values_errors(
    http: httpx.Client,
    headers: dict[str, str],
    device: dict[str, Any],
    query: str,
    status: int,
    expected: dict[str, Any],
) -> None:
    """An unknown device is 404; malformed parameters are 400."""
    answer = http.get(f"{VALUES}?{query.replace('DEVICE', str(device['id']))}", headers=headers)
    assert (answer.status_code, answer.json()) == (status, expected)


# --- PLT-DS-06 ----------------------------------------------------------------------------


def test_history_pages_newest_first(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """Raw points page newest first; ``from`` is inclusive, ``to`` exclusive."""
    now = int(time.time() * 1000)
    points = [{"value": n, "ts": now - 10_000 + n} for n in range(5)]
    body = {"deviceId": device["id"], "dataStreamId": 1, "values": points}
    assert http.post(IMPORT, json=body, headers=headers).status_code == 204

    def page(query: str) -> dict[str, Any]:
        answer = http.get(f"{HISTORY}?deviceId={device['id']}&pin=v1&{query}", headers=headers)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    first = page("size=2")
    assert first == {
        "content": [
            {"createdAt": now - 9_996, "value": 4},
            {"createdAt": now - 9_997, "value": 3},
        ],
        "totalElements": 5,
    }
    assert [p["value"] for p in page("size=2&page=2")["content"]] == [0]
    assert page("size=2&page=3") == {"content": [], "totalElements": 5}
    bounded = page(f"from={now - 9_999}&to={now - 9_996}")
    assert ([p["value"] for p in bounded["content"]], bounded["totalElements"]) == ([3, 2, 1], 3)


def test_history_of_every_type(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """History values keep their JSON type: text, location, boolean."""
    writes = {"4": "text", "5": [1.5, 2.5], "7": True}
    http.post(VALUES, json={"deviceId": device["id"], "values": writes}, headers=headers)
    for pin, expected in (("v4", "text"), ("v5", [1.5, 2.5]), ("v7", True)):
        answer = http.get(f"{HISTORY}?deviceId={device['id']}&pin={pin}", headers=headers)
        assert [p["value"] for p in answer.json()["content"]] == [expected]


@pytest.mark.parametrize(
    ("query", "status", "expected"),
    [
        ("deviceId=999&pin=v1", 404, device_not_found(999)),
        ("deviceId=DEVICE&pin=v99", 404, datastream_not_found("v99")),
        ("deviceId=DEVICE&pin=x1", 400, INCORRECT),
        ("deviceId=DEVICE", 400, INCORRECT),
        ("deviceId=DEVICE&pin=v1&size=0", 400, INCORRECT),
        ("deviceId=DEVICE&pin=v1&size=1001", 400, INCORRECT),
        ("deviceId=DEVICE&pin=v1&size=ten", 400, INCORRECT),
        ("deviceId=DEVICE&pin=v1&page=-1", 400, INCORRECT),
        ("deviceId=DEVICE&pin=v1&page=99999999999", 400, INCORRECT),
        ("deviceId=DEVICE&pin=v1&from=-5", 400, INCORRECT),
        ("deviceId=DEVICE&pin=v1&to=soon", 400, INCORRECT),
        ("deviceId=DEVICE&pin=v1&size=1000&page=2147483647", 200, None),
    ],
)
def test_history_errors(
    http: httpx.Client,
    headers: dict[str, str],
    device: dict[str, Any],
    query: str,
    status: int,
    expected: dict[str, Any] | None,
) -> None:
    """Unknown device or pin: 404; page, size, from and to out of range: 400 (OP-06)."""
    answer = http.get(f"{HISTORY}?{query.replace('DEVICE', str(device['id']))}", headers=headers)
    assert answer.status_code == status, answer.text
    if expected is not None:
        assert answer.json() == expected


# --- organization B cannot reach organization A's devices ---------------------------------


def test_other_organization_reads_its_own_device(http: httpx.Client, other: dict[str, Any]) -> None:
    """Positive control: B's token works on B's device, created by another process."""
    device_id = other["devices"][0]["id"]
    body = {"deviceId": device_id, "dataStreamId": 1, "value": 3}
    assert http.post(VALUE, json=body, headers=other["headers"]).status_code == 204
    assert values_of(http, other["headers"], device_id) == {"v1": 3, "v8": 21.5}


CROSS_ORG_CALLS = [
    ("POST", PROPERTY, {"dataStreamId": 1, "property": "label", "value": "B was here"}),
    ("GET", f"{PROPERTY}?dataStreamId=1", None),
    ("POST", VALUE, {"dataStreamId": 1, "value": 66}),
    ("POST", VALUES, {"values": {"1": 66, "4": "B was here"}}),
    ("POST", IMPORT, {"dataStreamId": 1, "values": [{"value": 66, "ts": "NOW"}]}),
    ("GET", VALUES, None),
    ("GET", f"{HISTORY}?pin=v1", None),
]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    CROSS_ORG_CALLS,
    ids=["DS-05", "property-read", "DS-02", "DS-03", "DS-04", "DS-01", "DS-06"],
)
def test_other_organization_gets_the_device_404(
    http: httpx.Client,
    headers: dict[str, str],
    other: dict[str, Any],
    device: dict[str, Any],
    data_dir: Path,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    """B's token on A's device answers exactly like a missing device, and changes nothing."""
    http.get(f"/external/api/batch/update?token={device['token']}&v1=7")
    separator = "&" if "?" in path else "?"
    url = f"{path}{separator}deviceId={device['id']}" if body is None else path
    if body is not None:
        now = int(time.time() * 1000)
        body = {"deviceId": device["id"], **body}
        if "values" in body and isinstance(body["values"], list):
            body["values"] = [{"value": 66, "ts": now}]
    answer = http.request(method, url, json=body, headers=other["headers"])
    assert (answer.status_code, answer.json()) == (404, device_not_found(device["id"]))
    assert values_of(http, headers, device["id"])["v1"] == 7
    assert stored_properties(data_dir, device["id"]) == []
    assert [row[2] for row in history(data_dir, device["id"])] == [7.0]


# --- the same on PostgreSQL ---------------------------------------------------------------


@pytest.mark.postgres
def test_seed_and_tokens_on_postgresql(database_url: str, tmp_path: Path) -> None:
    """Token, ★ PLT-DS-05, a value write and its history work on PostgreSQL, and an access
    token survives a restart."""
    created = provision(load_spec(1), "--database-url", database_url, data_dir=tmp_path)
    device_id = created["devices"][0]["id"]
    with (
        ServerProcess(tmp_path, "--database-url", database_url) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        pair = issue_token(http, client_of(created))
        headers = bearer(pair["access_token"])
        body = {"deviceId": device_id, "dataStreamId": 1, "property": "color", "value": "red"}
        assert http.post(PROPERTY, json=body, headers=headers).status_code == 204
        body = {"deviceId": device_id, "dataStreamId": 1, "value": 5}
        assert http.post(VALUE, json=body, headers=headers).status_code == 204
        answer = http.get(f"{HISTORY}?deviceId={device_id}&pin=v1", headers=headers)
        assert [p["value"] for p in answer.json()["content"]] == [5]
        refreshed = http.post(
            "/oauth2/token",
            params={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
            auth=client_of(created),
        )
        assert refreshed.status_code == 200
    with (
        ServerProcess(tmp_path, "--database-url", database_url) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        answer = http.get(f"{PROPERTY}?deviceId={device_id}&dataStreamId=1", headers=headers)
        assert (answer.status_code, answer.json()) == (200, {"color": "red"})
