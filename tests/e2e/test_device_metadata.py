"""DEV-09 GET /external/api/device/meta and DEV-10 GET /external/api/device/meta/update.

The "ESP32 QA" template defines metafields 1 "Serial Number" (Text, default SN-0001), 2 "Room"
(Text, no default) and 3 "Rated Power" (Number, default 60).
"""

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pinbase.testing import ServerProcess, provision
from testspec import Pool

META = "/external/api/device/meta"
UPDATE = "/external/api/device/meta/update"


def error(message: str) -> dict[str, Any]:
    return {"error": {"message": message}}


@pytest.fixture(scope="module")
def idle(pool: Pool) -> dict[str, Any]:
    """One device shared by this module's tests that change nothing (refused requests, reads)."""
    return pool.take()


def stored_metafields(data_dir: Path, device_id: int) -> dict[int, str]:
    """The device's metafield values as the server stored them (read-only, WAL allows it)."""
    with sqlite3.connect(f"file:{data_dir / 'pinbase.db'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT metafield_id, value FROM metafield_values WHERE device_id = ?", (device_id,)
        ).fetchall()
    return dict(rows)


# --- DEV-09 read --------------------------------------------------------------------------------


def test_field_by_numeric_id(http: httpx.Client, token: str) -> None:
    """metaFieldId=1 answers the typed value of the template's first field, as JSON."""
    answer = http.get(f"{META}?token={token}&metaFieldId=1")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {"type": "Text", "value": "SN-0001"}


@pytest.mark.parametrize("param", ["metaFieldId", "metaFieldName"])
def test_field_by_exact_name(http: httpx.Client, idle: dict[str, Any], param: str) -> None:
    """An exact name works in metaFieldId as well as in metaFieldName (OP-16)."""
    answer = http.get(f"{META}?token={idle['token']}&{param}=Serial%20Number")
    assert answer.json() == {"type": "Text", "value": "SN-0001"}


def test_number_field_is_a_json_number(http: httpx.Client, idle: dict[str, Any]) -> None:
    """A Number field's value is a JSON number, not text."""
    answer = http.get(f"{META}?token={idle['token']}&metaFieldName=Rated+Power")
    assert answer.json() == {"type": "Number", "value": 60}


def test_field_without_value_is_empty_text(http: httpx.Client, idle: dict[str, Any]) -> None:
    """A Text field with no value and no default answers an empty string."""
    assert http.get(f"{META}?token={idle['token']}&metaFieldId=2").json() == {
        "type": "Text",
        "value": "",
    }


def test_device_name_is_built_in(http: httpx.Client, device: dict[str, Any], token: str) -> None:
    """ "Device Name" answers the device's name with type DeviceName."""
    answer = http.get(f"{META}?token={token}&metaFieldId=Device%20Name")
    assert answer.json() == {"type": "DeviceName", "value": device["name"]}


def test_auth_token_is_built_in(http: httpx.Client, token: str) -> None:
    """ "Auth Token" answers the device's own token when the template has no such field."""
    answer = http.get(f"{META}?token={token}&metaFieldName=Auth%20Token")
    assert answer.json() == {"type": "Text", "value": token}


@pytest.mark.parametrize("key", ["99", "room", "Room%20", "loc.latlon", "0"])
def test_unknown_field_with_full_stop(http: httpx.Client, idle: dict[str, Any], key: str) -> None:
    """Unknown ids, names in the wrong case and loc.latlon answer MetaField doesn't exist."""
    answer = http.get(f"{META}?token={idle['token']}&metaFieldId={key}")
    assert (answer.status_code, answer.json()) == (400, error("MetaField doesn't exist."))


@pytest.mark.parametrize("query", ["", "&metaFieldId=", "&metaFieldName=", "&value=1"])
def test_missing_field_key_with_full_stop(
    http: httpx.Client, idle: dict[str, Any], query: str
) -> None:
    """No field named (absent or empty) answers Wrong metaField format."""
    answer = http.get(f"{META}?token={idle['token']}{query}")
    assert (answer.status_code, answer.json()) == (400, error("Wrong metaField format."))


@pytest.mark.parametrize("path", [META, UPDATE])
def test_invalid_token(http: httpx.Client, path: str) -> None:
    """An unknown token answers Invalid token. on both endpoints."""
    answer = http.get(f"{path}?token=nope&metaFieldId=1&value=x")
    assert (answer.status_code, answer.json()) == (400, error("Invalid token."))


@pytest.mark.parametrize("path", [META, UPDATE])
def test_missing_token(http: httpx.Client, path: str) -> None:
    """No token answers No token provided. on both endpoints (OP-18)."""
    answer = http.get(f"{path}?metaFieldId=1&value=x")
    assert (answer.status_code, answer.json()) == (400, error("No token provided."))


# --- DEV-10 update ------------------------------------------------------------------------------


def test_update_by_name_is_read_back_and_stored(
    http: httpx.Client, device: dict[str, Any], data_dir: Path
) -> None:
    """An update answers an empty 200; '+' and %20 decode to spaces; the value is persisted."""
    token = device["token"]
    answer = http.get(f"{UPDATE}?token={token}&metaFieldName=Room&value=Living+room%201")
    assert (answer.status_code, answer.text) == (200, "")
    assert http.get(f"{META}?token={token}&metaFieldId=2").json() == {
        "type": "Text",
        "value": "Living room 1",
    }
    assert stored_metafields(data_dir, device["id"])[2] == "Living room 1"


def test_update_by_id(http: httpx.Client, token: str) -> None:
    """metaFieldId=1 names the field to update."""
    assert http.get(f"{UPDATE}?token={token}&metaFieldId=1&value=SN-42").status_code == 200
    assert http.get(f"{META}?token={token}&metaFieldId=1").json()["value"] == "SN-42"


def test_update_number(http: httpx.Client, token: str) -> None:
    """A Number field takes a decimal number and answers it as a JSON number."""
    assert http.get(f"{UPDATE}?token={token}&metaFieldId=3&value=75.5").status_code == 200
    assert http.get(f"{META}?token={token}&metaFieldId=3").json() == {
        "type": "Number",
        "value": 75.5,
    }


def test_text_may_be_emptied(http: httpx.Client, token: str) -> None:
    """An empty value is a valid Text value."""
    assert http.get(f"{UPDATE}?token={token}&metaFieldId=1&value=").status_code == 200
    assert http.get(f"{META}?token={token}&metaFieldId=1").json()["value"] == ""


def test_longest_value_is_accepted(http: httpx.Client, token: str) -> None:
    """255 characters fit a Text field."""
    value = "x" * 255
    assert http.get(f"{UPDATE}?token={token}&metaFieldId=2&value={value}").status_code == 200
    assert http.get(f"{META}?token={token}&metaFieldId=2").json()["value"] == value


@pytest.mark.parametrize(
    "query",
    [
        "metaFieldId=2",
        "metaFieldId=2&value=" + "x" * 256,
        "metaFieldId=3&value=abc",
        "metaFieldId=3&value=",
        "metaFieldId=3&value=1e999",
        "metaFieldName=Room&value=a%00b",
    ],
)
def test_wrong_value_without_full_stop(
    http: httpx.Client, idle: dict[str, Any], query: str
) -> None:
    """A missing, too long or ill-typed value answers Wrong value, and nothing changes."""
    answer = http.get(f"{UPDATE}?token={idle['token']}&{query}")
    assert (answer.status_code, answer.json()) == (400, error("Wrong value"))
    assert http.get(f"{META}?token={idle['token']}&metaFieldId=3").json()["value"] == 60


@pytest.mark.parametrize("query", ["value=1", "metaFieldId=&value=1", "metaFieldName=&value=1"])
def test_update_without_field_key(http: httpx.Client, idle: dict[str, Any], query: str) -> None:
    """No field named answers Wrong metaField format, without a full stop."""
    answer = http.get(f"{UPDATE}?token={idle['token']}&{query}")
    assert (answer.status_code, answer.json()) == (400, error("Wrong metaField format"))


@pytest.mark.parametrize(
    "key", ["metaFieldId=99", "metaFieldName=room", "metaFieldName=loc.latlon"]
)
def test_update_unknown_field(http: httpx.Client, idle: dict[str, Any], key: str) -> None:
    """An unknown field answers MetaField doesn't exist, without a full stop."""
    answer = http.get(f"{UPDATE}?token={idle['token']}&{key}&value=1")
    assert (answer.status_code, answer.json()) == (400, error("MetaField doesn't exist"))


def test_auth_token_cannot_be_written(http: httpx.Client, token: str) -> None:
    """The built-in Auth Token is no stored field: writing it answers MetaField doesn't exist."""
    answer = http.get(f"{UPDATE}?token={token}&metaFieldName=Auth%20Token&value=x")
    assert (answer.status_code, answer.json()) == (400, error("MetaField doesn't exist"))
    assert http.get(f"{META}?token={token}&metaFieldName=Auth%20Token").json()["value"] == token


def test_device_name_is_read_only(http: httpx.Client, device: dict[str, Any]) -> None:
    """Writing the built-in Device Name is refused and leaves the name unchanged."""
    token = device["token"]
    answer = http.get(f"{UPDATE}?token={token}&metaFieldName=Device%20Name&value=New")
    assert (answer.status_code, answer.json()) == (400, error("MetaField is read-only"))
    assert http.get(f"{META}?token={token}&metaFieldId=Device%20Name").json() == {
        "type": "DeviceName",
        "value": device["name"],
    }


# --- a template of its own ----------------------------------------------------------------------

OWN_SPEC: dict[str, Any] = {
    "organization": {"name": "Metadata Org"},
    "templates": [
        {
            "name": "Meta Template",
            "metafields": [
                {"name": "Auth Token", "type": "Text", "defaultValue": "shown instead"},
                {"name": "Contact", "type": "Contact", "defaultValue": "ops@example.com"},
            ],
        }
    ],
    "devices": [{"name": "Meta Device", "template": "Meta Template"}],
}


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    """A second server whose template defines "Auth Token" and a Contact field."""
    data_dir = tmp_path_factory.mktemp("metadata")
    created = provision(OWN_SPEC, data_dir=data_dir)
    with ServerProcess(data_dir) as process:
        yield process, created["devices"][0]["token"]


def test_template_field_named_auth_token_wins(own_server: tuple[ServerProcess, str]) -> None:
    """A template field called "Auth Token" is answered instead of the token."""
    process, token = own_server
    answer = httpx.get(f"{process.base_url}{META}?token={token}&metaFieldName=Auth%20Token")
    assert answer.json() == {"type": "Text", "value": "shown instead"}


def test_kind_a_device_may_not_write(own_server: tuple[ServerProcess, str]) -> None:
    """A field of a kind outside DEV-10's writable list (Contact) is read-only."""
    process, token = own_server
    base = process.base_url
    answer = httpx.get(f"{base}{UPDATE}?token={token}&metaFieldName=Contact&value=a@b.c")
    assert (answer.status_code, answer.json()) == (400, error("MetaField is read-only"))
    assert httpx.get(f"{base}{META}?token={token}&metaFieldId=2").json() == {
        "type": "Contact",
        "value": "ops@example.com",
    }


def test_update_survives_a_restart(own_server: tuple[ServerProcess, str]) -> None:
    """A written value is read back after the server restarts."""
    process, token = own_server
    url = f"{process.base_url}{UPDATE}?token={token}&metaFieldName=Auth%20Token&value=kept"
    assert httpx.get(url).status_code == 200
    process.stop()
    process.start()
    answer = httpx.get(f"{process.base_url}{META}?token={token}&metaFieldId=1")
    assert answer.json() == {"type": "Text", "value": "kept"}
