"""DEV-04 ★ seed: GET /external/api/batch/update, every test vector of http-api.md over HTTP."""

from pathlib import Path
from typing import Any

import httpx
import pytest

from stored import history

BATCH = "/external/api/batch/update"


def error(message: str) -> dict[str, Any]:
    return {"error": {"message": message}}


def test_two_pins_are_stored_with_one_timestamp(
    http: httpx.Client, device: dict[str, Any], data_dir: Path
) -> None:
    """v1=33&v2=44 answers 200 OK and stores both values under the same timestamp."""
    answer = http.get(f"{BATCH}?token={device['token']}&v1=33&v2=44")
    assert (answer.status_code, answer.text) == (200, "OK")
    assert answer.headers["content-type"].startswith("text/plain")
    points = history(data_dir, device["id"])
    assert [(ds, num) for ds, _, num, _ in points] == [(1, 33.0), (2, 44.0)]
    assert points[0][1] == points[1][1]
    assert http.get(f"/external/api/get?token={device['token']}&v1&v2").json() == {
        "v1": 33,
        "v2": 44,
    }


def test_unknown_token_is_refused(http: httpx.Client) -> None:
    """An unknown token answers 400 Invalid token."""
    answer = http.get(f"{BATCH}?token=nope&v1=33")
    assert answer.status_code == 400
    assert answer.json() == error("Invalid token.")
    assert answer.headers["content-type"].startswith("application/json")


def test_missing_token_is_refused(http: httpx.Client) -> None:
    """No token at all answers 400 No token provided. (OP-18)."""
    answer = http.get(f"{BATCH}?v1=33")
    assert (answer.status_code, answer.json()) == (400, error("No token provided."))


@pytest.mark.parametrize("query", ["x1=33", "v256=1", "v=1", "v1.5=2", "vv1=3", "v-1=3"])
def test_malformed_pin_is_refused(http: httpx.Client, token: str, query: str) -> None:
    """A key that is not letter + 0..255 answers Wrong pin format."""
    answer = http.get(f"{BATCH}?token={token}&{query}")
    assert (answer.status_code, answer.json()) == (400, error("Wrong pin format."))


def test_value_of_wrong_type_is_refused_without_full_stop(http: httpx.Client, token: str) -> None:
    """v1=abc on an Integer datastream answers the message without a final full stop."""
    answer = http.get(f"{BATCH}?token={token}&v1=abc")
    assert answer.status_code == 400
    assert answer.json() == error("Value doesn't match the Datastream data type")


def test_value_above_max_is_clamped(http: httpx.Client, token: str) -> None:
    """v1=500 with max 100 answers OK and stores 100."""
    answer = http.get(f"{BATCH}?token={token}&v1=500")
    assert (answer.status_code, answer.text) == (200, "OK")
    assert http.get(f"/external/api/get?token={token}&v1").text == "100"


def test_failed_batch_changes_nothing(
    http: httpx.Client, device: dict[str, Any], data_dir: Path
) -> None:
    """One bad value rejects the whole batch: nothing is stored (OP-05)."""
    token = device["token"]
    answer = http.get(f"{BATCH}?token={token}&v1=10&v2=abc")
    assert answer.status_code == 400
    assert history(data_dir, device["id"]) == []
    assert http.get(f"/external/api/get?token={token}&v1").text == ""


def test_pin_without_datastream_is_refused(http: httpx.Client, token: str) -> None:
    """A well-formed pin with no datastream answers No datastream setup for that pin."""
    answer = http.get(f"{BATCH}?token={token}&v1=5&v200=1")
    assert answer.json() == error("No datastream setup for that pin.")


def test_pin_names_are_checked_before_values(http: httpx.Client, token: str) -> None:
    """A bad value before a bad pin name still reports the pin name (token, pins, values)."""
    answer = http.get(f"{BATCH}?token={token}&v1=abc&x9=1")
    assert answer.json() == error("Wrong pin format.")


def test_upper_case_pins_and_every_type(http: httpx.Client, token: str) -> None:
    """V-pins in either case, and values of every type, land in one batch."""
    answer = http.get(
        f"{BATCH}?token={token}&V1=7&v3=21.123456&v4=hello%20world&v5=-73.987&v5=40.725"
        "&v6=2&v7=true&d13=1&A0=512"
    )
    assert (answer.status_code, answer.text) == (200, "OK")
    assert http.get(f"/external/api/getAll?token={token}").json() == {
        "v1": 7,
        "v3": 21.12345,  # truncated to its "#.00000" decimals (decisions.md, Rendering a DOUBLE)
        "v4": "hello world",
        "v5": [-73.987, 40.725],
        "v6": 2,
        "v7": True,
        "v8": 21.5,
        "d13": 1,
        "a0": 512,
    }


def test_batch_without_pins_is_refused(http: httpx.Client, token: str) -> None:
    """A batch naming no pin at all answers Wrong pin format."""
    answer = http.get(f"{BATCH}?token={token}")
    assert (answer.status_code, answer.json()) == (400, error("Wrong pin format."))
