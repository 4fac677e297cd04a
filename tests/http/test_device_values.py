"""DEV-01 get, DEV-02 getAll, DEV-03 update and DEV-05 timestamped upload over HTTP."""

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from inprocess import in_process_server
from stored import history
from testspec import load_spec


def error(message: str) -> dict[str, Any]:
    return {"error": {"message": message}}


def write(http: httpx.Client, token: str, query: str) -> None:
    answer = http.get(f"/external/api/batch/update?token={token}&{query}")
    assert answer.status_code == 200, answer.text


# --- DEV-01 get ---------------------------------------------------------------------------


def test_get_one_pin_answers_bare_text(http: httpx.Client, token: str) -> None:
    """A bare pin key answers the value as plain text."""
    write(http, token, "v1=42")
    answer = http.get(f"/external/api/get?token={token}&v1")
    assert (answer.status_code, answer.text) == (200, "42")
    assert answer.headers["content-type"].startswith("text/plain")


def test_get_double_uses_the_decimals_pattern(http: httpx.Client, token: str) -> None:
    """A Double with decimals #.00000 renders like Blynk's example 100.00000 (OP-22)."""
    write(http, token, "v3=21.5")
    assert http.get(f"/external/api/get?token={token}&v3").text == "21.50000"


def test_get_by_pin_parameter_and_upper_case(http: httpx.Client, token: str) -> None:
    """The 2021 form pin=V1 is accepted (OP-23, OP-21)."""
    write(http, token, "v1=9")
    assert http.get(f"/external/api/get?token={token}&pin=V1").text == "9"


def test_get_by_datastream_id(http: httpx.Client, token: str) -> None:
    """dataStreamId=4 reads the String datastream as text."""
    write(http, token, "v4=hello")
    assert http.get(f"/external/api/get?token={token}&dataStreamId=4").text == "hello"


def test_get_several_pins_answers_json_by_type(http: httpx.Client, token: str) -> None:
    """Several pins answer a JSON object whose value types follow the datastreams."""
    write(http, token, "v1=1&v3=2&v4=string%20pin&v5=12&v5=11")
    answer = http.get(f"/external/api/get?token={token}&v1&v3&v4&v5")
    assert answer.json() == {"v1": 1, "v3": 2.0, "v4": "string pin", "v5": [12.0, 11.0]}


def test_get_without_value_falls_back_to_default_or_empty(http: httpx.Client, token: str) -> None:
    """No value: the default when one is set, else an empty body (OP-17)."""
    assert http.get(f"/external/api/get?token={token}&v8").text == "21.5"
    answer = http.get(f"/external/api/get?token={token}&v9")
    assert (answer.status_code, answer.text) == (200, "")
    assert http.get(f"/external/api/get?token={token}&v8&v9").json() == {"v8": 21.5}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("v999", "Wrong pin format."),
        ("pin=x1", "Wrong pin format."),
        ("dataStreamId=abc", "Wrong pin format."),
        ("v100", "No datastream setup for that pin."),
        ("dataStreamId=77", "Requested dataStream doesn't exist in the product ESP32 QA"),
    ],
)
def test_get_errors(http: httpx.Client, token: str, query: str, message: str) -> None:
    """Bad reads answer DEV-01's documented messages."""
    answer = http.get(f"/external/api/get?token={token}&{query}")
    assert (answer.status_code, answer.json()) == (400, error(message))


def test_get_with_unknown_token(http: httpx.Client) -> None:
    """An unknown token answers Invalid token."""
    assert http.get("/external/api/get?token=unknown&v1").json() == error("Invalid token.")


# --- DEV-02 getAll ------------------------------------------------------------------------


def test_get_all_lists_only_datastreams_with_values(http: httpx.Client, token: str) -> None:
    """getAll lists pins with a value (or a default), lowercase keys, GPIO pins included."""
    assert http.get(f"/external/api/getAll?token={token}").json() == {"v8": 21.5}
    write(http, token, "v2=5&D13=1")
    assert http.get(f"/external/api/getAll?token={token}").json() == {
        "v2": 5,
        "v8": 21.5,
        "d13": 1,
    }


def test_get_all_with_unknown_token(http: httpx.Client) -> None:
    """getAll with an unknown token answers Invalid token."""
    answer = http.get("/external/api/getAll?token=unknown")
    assert (answer.status_code, answer.json()) == (400, error("Invalid token."))


# --- DEV-03 update ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["v1=55", "V1=55", "pin=v1&value=55", "pin=V1&value=55", "dataStreamId=1&value=55"]
)
def test_update_every_shape(http: httpx.Client, token: str, query: str) -> None:
    """Pin key, pin+value and dataStreamId+value all write, answering an empty 200."""
    answer = http.get(f"/external/api/update?token={token}&{query}")
    assert (answer.status_code, answer.text) == (200, "")
    assert http.get(f"/external/api/get?token={token}&v1").text == "55"


def test_update_location_with_repeated_value(http: httpx.Client, token: str) -> None:
    """A Location takes value=lon&value=lat, longitude first."""
    answer = http.get(f"/external/api/update?token={token}&pin=v5&value=30.52&value=50.45")
    assert answer.status_code == 200
    assert http.get(f"/external/api/get?token={token}&v5&v1").json() == {"v5": [30.52, 50.45]}


def test_update_clamps_to_min(http: httpx.Client, token: str) -> None:
    """-2 into an Integer with min 0 stores 0."""
    http.get(f"/external/api/update?token={token}&v1=-2")
    assert http.get(f"/external/api/get?token={token}&v1").text == "0"


def test_update_enum_unknown_value_takes_the_fallback(http: httpx.Client, token: str) -> None:
    """An integer no enum row knows is replaced by the fallback value (data-model §2.9)."""
    http.get(f"/external/api/update?token={token}&v6=7")
    assert http.get(f"/external/api/get?token={token}&v6").text == "0"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("v1=abc", "Value doesn't match the Datastream data type."),
        ("v1=12.5", "Value doesn't match the Datastream data type."),
        ("pin=v1&value=1e3", "Value doesn't match the Datastream data type."),
        ("v1=99999999999", "Value doesn't match the Datastream data type."),
        ("v3=NaN", "Value doesn't match the Datastream data type."),
        ("v7=maybe", "Value doesn't match the Datastream data type."),
        ("dataStreamId=1&value=abc", "Value doesn't match the Datastream data type"),
        ("dataStreamId=x&value=1", "Wrong dataStreamId format."),
        ("v256=1", "Wrong pin format."),
        ("pin=q1&value=1", "Wrong pin format."),
        ("v100=1", "No datastream setup for that pin."),
    ],
)
def test_update_errors(http: httpx.Client, token: str, query: str, message: str) -> None:
    """Bad writes answer DEV-03's messages, full stop or not exactly as documented."""
    answer = http.get(f"/external/api/update?token={token}&{query}")
    assert (answer.status_code, answer.json()) == (400, error(message))


def test_update_string_over_1024_bytes_is_refused(http: httpx.Client, token: str) -> None:
    """A string value over 1024 bytes answers a clear 400 and stores nothing."""
    answer = http.get(f"/external/api/update?token={token}&v4={'é' * 513}")
    assert answer.status_code == 400
    assert "1024 bytes" in answer.json()["error"]["message"]
    assert http.get(f"/external/api/get?token={token}&v4").text == ""


# --- DEV-05 timestamped upload ------------------------------------------------------------


def upload(
    http: httpx.Client, token: str, pin: str, body: object, **headers: str
) -> httpx.Response:
    return http.post(
        f"/external/api/batch/update?token={token}&pin={pin}",
        json=body,
        headers=headers or None,
    )


def test_timestamped_points_keep_their_timestamps(
    http: httpx.Client, device: dict[str, Any], data_dir: Path
) -> None:
    """[[ts, value], …] lands in history with each point's own timestamp."""
    now = int(time.time() * 1000)
    answer = upload(http, device["token"], "v3", [[now - 60_000, 36.6], [now - 30_000, 41.2]])
    assert (answer.status_code, answer.text) == (200, "OK")
    assert [(ts, num) for _, ts, num, _ in history(data_dir, device["id"])] == [
        (now - 60_000, 36.6),
        (now - 30_000, 41.2),
    ]
    assert http.get(f"/external/api/get?token={device['token']}&v3").text == "41.20000"


def test_timestamped_upload_of_every_type(http: httpx.Client, token: str) -> None:
    """String, Integer, Boolean and Location bodies parse by the datastream's type."""
    now = int(time.time() * 1000)
    for pin, value in [("v4", "text"), ("v1", 7), ("v7", True), ("v5", [32.12, 49.1])]:
        assert upload(http, token, pin, [[now, value]]).status_code == 200
    assert http.get(f"/external/api/get?token={token}&v4&v1&v7&v5").json() == {
        "v4": "text",
        "v1": 7,
        "v7": True,
        "v5": [32.12, 49.1],
    }


def test_timestamped_upload_needs_json_content_type(http: httpx.Client, token: str) -> None:
    """Without Content-Type: application/json the answer is Unknown content type."""
    answer = http.post(
        f"/external/api/batch/update?token={token}&pin=v1",
        content=b"[[1,1]]",
        headers={"content-type": "text/plain"},
    )
    assert answer.json() == error("Unknown content type.")


def test_timestamped_upload_limits_batch_size(http: httpx.Client, token: str) -> None:
    """More than 10,000 points answers the documented batch-size message."""
    now = int(time.time() * 1000)
    answer = upload(http, token, "v1", [[now, 1]] * 10_001)
    assert answer.json() == error("Too much data in batch. Maximum batch size is 10000 points.")


@pytest.mark.parametrize(
    ("pin", "body", "message"),
    [
        ("x1", [[0, 1]], "Wrong pin format."),
        ("v1", [[None, "abc"]], "Request with incorrect parameters"),
        ("v1", {"ts": 1}, "Request with incorrect parameters"),
        ("v1", [[1, 1]], "Request with incorrect parameters"),
        ("v1", "NOW", "Value doesn't match the Datastream data type"),
    ],
)
def test_timestamped_upload_errors(
    http: httpx.Client, token: str, pin: str, body: object, message: str
) -> None:
    """Malformed bodies, too-old timestamps and mismatching values change nothing."""
    if body == "NOW":
        body = [[int(time.time() * 1000), "abc"]]
    answer = upload(http, token, pin, body)
    assert (answer.status_code, answer.json()) == (400, error(message))
    assert http.get(f"/external/api/get?token={token}&v1").text == ""


def test_timestamped_upload_with_broken_json(http: httpx.Client, token: str) -> None:
    """An unparsable body answers Request with incorrect parameters."""
    answer = http.post(
        f"/external/api/batch/update?token={token}&pin=v1",
        content=b"[[1,",
        headers={"content-type": "application/json"},
    )
    assert answer.json() == error("Request with incorrect parameters")


def test_daily_import_quota_is_shared_by_every_import_path(tmp_path: Path) -> None:
    """Points imported by the device API and the legacy API count against one daily quota."""
    now = int(time.time() * 1000)
    with (
        in_process_server(tmp_path, import_points_per_day=3) as limited,
        limited.client() as client,
    ):
        token = limited.provision(load_spec(1))["devices"][0]["token"]
        assert upload(client, token, "v1", [[now - 2, 1], [now - 1, 2]]).status_code == 200
        legacy = client.put(f"/{token}/extra/pin/v1", json=[{"timestamp": now, "value": "3"}])
        assert legacy.status_code == 200
        refused = upload(client, token, "v1", [[now, 4]])
        assert refused.json() == error("Daily limit of 3 imported points reached.")
