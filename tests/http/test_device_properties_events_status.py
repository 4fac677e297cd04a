"""DEV-06 property, DEV-07 logEvent, DEV-11 isHardwareConnected and DEV-12 provision."""

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest


def error(message: str) -> dict[str, Any]:
    return {"error": {"message": message}}


def stored_rows(data_dir: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{data_dir / 'pinbase.db'}?mode=ro", uri=True) as db:
        return db.execute(sql, args).fetchall()


# --- DEV-06 property ----------------------------------------------------------------------


def test_property_is_stored_per_datastream(
    http: httpx.Client, device: dict[str, Any], data_dir: Path
) -> None:
    """label, color and a repeated labels key are stored for the device's datastream."""
    token = device["token"]
    answer = http.get(
        f"/external/api/update/property?token={token}&pin=v1&label=Hi&color=%23D3435C"
        "&labels=A&labels=B"
    )
    assert (answer.status_code, answer.text) == (200, "")
    rows = stored_rows(
        data_dir,
        "SELECT name, value FROM properties WHERE device_id = ? ORDER BY name",
        device["id"],
    )
    assert rows == [("color", '"#D3435C"'), ("label", '"Hi"'), ("labels", '["A","B"]')]


def test_boolean_property_accepts_true(http: httpx.Client, token: str) -> None:
    """isDisabled=true is accepted."""
    answer = http.get(f"/external/api/update/property?token={token}&pin=v1&isDisabled=true")
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("pin=v1&isDisabled=maybe", "Value doesn't match the Datastream data type"),
        ("pin=v1&step=big", "Value doesn't match the Datastream data type"),
        ("pin=x1&label=a", "Wrong pin format."),
        ("label=a", "Wrong pin format."),
        ("pin=v100&label=a", "No datastream setup for that pin."),
        ("pin=v1", "Request with incorrect parameters"),
        ("pin=v1&bad%20name=1", "Request with incorrect parameters"),
    ],
)
def test_property_errors(http: httpx.Client, token: str, query: str, message: str) -> None:
    """Bad property requests answer DEV-06's messages."""
    answer = http.get(f"/external/api/update/property?token={token}&{query}")
    assert (answer.status_code, answer.json()) == (400, error(message))


def test_property_with_unknown_token(http: httpx.Client) -> None:
    """An unknown token answers Invalid token."""
    answer = http.get("/external/api/update/property?token=nope&pin=v1&label=a")
    assert answer.json() == error("Invalid token.")


# --- DEV-07 logEvent ----------------------------------------------------------------------


def test_event_is_logged_with_description(
    http: httpx.Client, device: dict[str, Any], data_dir: Path
) -> None:
    """A known code logs a timeline entry with the given description."""
    answer = http.get(
        f"/external/api/logEvent?token={device['token']}&code=overheat&description=90%20C"
    )
    assert (answer.status_code, answer.text) == (200, "")
    rows = stored_rows(
        data_dir,
        "SELECT code, type, description FROM device_events WHERE device_id = ?",
        device["id"],
    )
    assert rows == [("overheat", "WARNING", "90 C")]


def test_event_without_description_takes_the_templates(
    http: httpx.Client, device: dict[str, Any], data_dir: Path
) -> None:
    """Without a description the event definition's description is logged."""
    http.get(f"/external/api/logEvent?token={device['token']}&code=overheat")
    rows = stored_rows(
        data_dir, "SELECT description FROM device_events WHERE device_id = ?", device["id"]
    )
    assert rows == [("Too hot",)]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Event code is not provided."),
        ("code=", "Event code is not provided."),
        ("code=nope", "Can't find Event with this code in Product template"),
    ],
)
def test_event_errors(http: httpx.Client, token: str, query: str, message: str) -> None:
    """A missing or unknown code answers DEV-07's messages."""
    answer = http.get(f"/external/api/logEvent?token={token}&{query}")
    assert (answer.status_code, answer.json()) == (400, error(message))


def test_same_event_twice_within_a_second_is_dropped(
    http: httpx.Client, device: dict[str, Any], data_dir: Path
) -> None:
    """Events of one code are limited to one per second (blynk.console/limits.md): the second
    is dropped, yet answered 200 like an accepted one (automations.md §1.9)."""
    token = device["token"]
    for _ in range(2):
        answer = http.get(f"/external/api/logEvent?token={token}&code=door_open")
        assert (answer.status_code, answer.text) == (200, "")
    rows = stored_rows(data_dir, "SELECT code FROM device_events WHERE device_id = ?", device["id"])
    assert rows == [("door_open",)]


def test_over_long_event_description_is_refused(http: httpx.Client, token: str) -> None:
    """A description over 300 characters is refused, not cut."""
    answer = http.get(f"/external/api/logEvent?token={token}&code=overheat&description={'x' * 301}")
    assert answer.status_code == 400
    assert "300" in answer.json()["error"]["message"]


# --- DEV-11 isHardwareConnected, DEV-12 provision -----------------------------------------


def test_device_without_connection_is_not_connected(http: httpx.Client, token: str) -> None:
    """A device with no live connection answers false."""
    answer = http.get(f"/external/api/isHardwareConnected?token={token}")
    assert (answer.status_code, answer.text) == (200, "false")


def test_is_connected_with_unknown_token(http: httpx.Client) -> None:
    """An unknown token answers Invalid token."""
    answer = http.get("/external/api/isHardwareConnected?token=nope")
    assert answer.json() == error("Invalid token.")


def test_provision_records_hardware_info(
    http: httpx.Client, device: dict[str, Any], data_dir: Path, pool: Any
) -> None:
    """The firmware's facts are stored as the device's hardware info."""
    code = pool.created["templates"][0]["templateId"]
    answer = http.get(
        f"/external/api/provision?token={device['token']}&templateId={code}"
        "&build=Oct+1&ver=1.0.0&type=MCU&fwType=edgent&blVer=1.3.2&boType=ESP32"
    )
    assert (answer.status_code, answer.text) == (200, "")
    (info,) = stored_rows(data_dir, "SELECT hardware_info FROM devices WHERE id = ?", device["id"])
    assert '"version":"1.0.0"' in info[0]
    assert '"board_type":"ESP32"' in info[0]
    assert '"build":"Oct 1"' in info[0]


def test_provision_with_another_template_is_refused(http: httpx.Client, token: str) -> None:
    """A device claiming another template's code is refused."""
    answer = http.get(f"/external/api/provision?token={token}&templateId=TMPLother123")
    assert answer.status_code == 400


def test_provision_without_template_is_refused(http: httpx.Client, token: str) -> None:
    """templateId is required."""
    answer = http.get(f"/external/api/provision?token={token}")
    assert answer.json() == error("Request with incorrect parameters")
