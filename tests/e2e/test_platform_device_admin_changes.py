"""Platform API device management over HTTP: PLT-DEV-09 create, PLT-DEV-10 rename, PLT-DEV-11
delete, PLT-DEV-12 erase all data, PLT-DEV-13 remove owner, PLT-DEV-14 transfer; every error row,
bad input, organization scope, and the device API seeing each change at once.

Devices are created by the tests themselves in the fleet organization (fleet.py), never taken
from the shared pool.
"""

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from fleet import CREATE, DEVICE, DEVICE_TABLES, Fleet, build_fleet, create_device
from platform_http import DEVICE_BASE_KEYS, DEVICE_SUMMARY_KEYS, device_not_found, error

from pinbase.testing import ServerProcess

BASE_INFO = f"{DEVICE}/baseInfo"
CLEAR = f"{DEVICE}/clear"
OWNER = f"{DEVICE}/owner"
TRANSFER = f"{DEVICE}/transfer"
PROPERTY = f"{DEVICE}/datastream/property"
HISTORY = f"{DEVICE}/datastream/history"

INCORRECT = error("Request with incorrect parameters")
INVALID_TOKEN = error("Invalid token.")
USER_NOT_FOUND = error("User is not found or you don't have access to him.")
TEMPLATE_NOT_FOUND = error("Template is not found.")
ORG_NOT_FOUND = error("Organization is not found or you don't have access to it.")
DESTINATION_NOT_FOUND = error(
    "Destination organization is not found or you don't have access to it."
)
SAME_OWNER = error("Can't transfer to the same owner")
NOT_ACTIVATED = error("The new owner's account is not activated.")


@pytest.fixture(scope="module")
def fleet(server: ServerProcess, data_dir: Path) -> Fleet:
    """The fleet organization of this module."""
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        return build_fleet(http, data_dir, "changes")


def base_info(http: httpx.Client, fleet: Fleet, device_id: int) -> dict[str, Any]:
    """PLT-DEV-07 of a fleet device."""
    answer = http.get(f"{BASE_INFO}?deviceId={device_id}", headers=fleet.headers)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def stored_rows(data_dir: Path, device_id: int) -> dict[str, int]:
    """How many rows each device table holds for ``device_id``, read from SQLite directly."""
    with sqlite3.connect(f"file:{data_dir / 'pinbase.db'}?mode=ro", uri=True) as db:
        counts = {
            table: db.execute(
                f"SELECT COUNT(*) FROM {table} WHERE device_id = ?",  # noqa: S608 - fixed names
                (device_id,),
            ).fetchone()[0]
            for table in DEVICE_TABLES
        }
        counts["devices"] = db.execute(
            "SELECT COUNT(*) FROM devices WHERE id = ?", (device_id,)
        ).fetchone()[0]
    return counts


def fill(http: httpx.Client, fleet: Fleet, device: dict[str, Any]) -> None:
    """Give a device a value, history, a property, an event, a file and an actions-log entry."""
    token = device["token"]
    assert http.get(f"/external/api/update?token={token}&v1=42").status_code == 200
    assert http.get(f"/external/api/logEvent?token={token}&code=overheat").status_code == 200
    upload = http.post(
        f"/external/api/upload?token={token}", files={"upfile": ("a.png", b"\x89PNG")}
    )
    assert upload.status_code == 200, upload.text
    written = http.post(
        PROPERTY,
        json={"deviceId": device["id"], "dataStreamId": 1, "property": "color", "value": "red"},
        headers=fleet.headers,
    )
    assert written.status_code == 204, written.text


# --- PLT-DEV-09 -------------------------------------------------------------------------


def test_create_answers_the_new_device_whose_token_works_at_once(
    http: httpx.Client, fleet: Fleet
) -> None:
    """201 DeviceBase with a fresh 32-character token, usable by the device API right away."""
    answer = http.post(
        CREATE,
        json={
            "templateId": fleet.template_code,
            "orgId": fleet.org_id,
            "name": "O'Brien_s kit-1",
            "ownerId": fleet.users["alice"]["id"],
        },
        headers=fleet.headers,
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert set(created) == DEVICE_BASE_KEYS
    assert (created["name"], created["orgId"], created["templateId"]) == (
        "O'Brien_s kit-1",
        fleet.org_id,
        fleet.template_id,
    )
    assert created["ownerUserId"] == fleet.users["alice"]["id"]
    assert len(created["token"]) == 32
    assert created["activatedAt"] > 0
    assert created["lifecycleStatus"] == {"name": "Offline"}
    token = created["token"]
    assert http.get(f"/external/api/update?token={token}&v1=7").status_code == 200
    assert http.get(f"/external/api/get?token={token}&v1").text == "7"
    assert base_info(http, fleet, created["id"]) == created


def test_create_accepts_the_misspelled_owner_field_and_a_sub_organization(
    http: httpx.Client, fleet: Fleet
) -> None:
    """``onwerId`` (OP-10) names the owner; the parent's template serves the branch."""
    answer = http.post(
        CREATE,
        json={
            "templateId": fleet.template_code,
            "orgId": fleet.branch_id,
            "name": "Branch kit",
            "onwerId": fleet.users["carol"]["id"],
        },
        headers=fleet.headers,
    )
    assert answer.status_code == 201, answer.text
    assert (answer.json()["orgId"], answer.json()["ownerUserId"]) == (
        fleet.branch_id,
        fleet.users["carol"]["id"],
    )


def test_create_takes_identifiers_from_the_query_string(http: httpx.Client, fleet: Fleet) -> None:
    """OP-07: a missing ownerId is read from the query string."""
    answer = http.post(
        f"{CREATE}?ownerId={fleet.users['bob']['id']}",
        json={"templateId": fleet.template_code, "name": "Query kit"},
        headers=fleet.headers,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["ownerUserId"] == fleet.users["bob"]["id"]


def test_create_error_rows(http: httpx.Client, fleet: Fleet, other: dict[str, Any]) -> None:
    """Unknown or foreign template, owner and organization: the documented 404s."""
    good = {
        "templateId": fleet.template_code,
        "name": "Nope",
        "ownerId": fleet.users["alice"]["id"],
    }
    their_org = other["organization"]["id"]
    their_template = other["templates"][0]["templateId"]
    cases = [
        ({"templateId": "TMPLnowhere"}, TEMPLATE_NOT_FOUND),
        ({"templateId": their_template}, TEMPLATE_NOT_FOUND),
        ({"ownerId": 987654}, USER_NOT_FOUND),
        ({"orgId": their_org}, ORG_NOT_FOUND),
        ({"orgId": 987654}, ORG_NOT_FOUND),
    ]
    for change, expected in cases:
        answer = http.post(CREATE, json={**good, **change}, headers=fleet.headers)
        assert (answer.status_code, answer.json()) == (404, expected), change
    answer = http.post(CREATE, json=good, headers=other["headers"])
    assert (answer.status_code, answer.json()) == (404, TEMPLATE_NOT_FOUND)


def test_create_refuses_an_owner_of_another_organization(
    http: httpx.Client, fleet: Fleet, other: dict[str, Any]
) -> None:
    """B may not make a fleet user the owner of its device."""
    body = {
        "templateId": other["templates"][0]["templateId"],
        "name": "Stolen owner",
        "ownerId": fleet.users["alice"]["id"],
    }
    answer = http.post(CREATE, json=body, headers=other["headers"])
    assert (answer.status_code, answer.json()) == (404, USER_NOT_FOUND)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b"",
        b'{"templateId":"TMPLx","ownerId":1}',
        b'{"templateId":"TMPLx","name":"ok"}',
        b'{"name":"ok","ownerId":1}',
        b'{"templateId":5,"name":"ok","ownerId":1}',
        b'{"templateId":"TMPLx","name":"ok","ownerId":"1"}',
        b'{"templateId":"TMPLx","name":"ok","ownerId":1,"orgId":"2"}',
        b'{"templateId":"TMPLx","name":"","ownerId":1}',
        b'{"templateId":"TMPLx","name":"   ","ownerId":1}',
        b'{"templateId":"TMPLx","name":"bad!","ownerId":1}',
        b'{"templateId":"TMPLx","name":"' + b"n" * 51 + b'","ownerId":1}',
        b'{"templateId":"TMPLx","name":7,"ownerId":1}',
    ],
)
def test_create_refuses_bad_bodies(http: httpx.Client, fleet: Fleet, body: bytes) -> None:
    """Broken JSON, missing fields, wrong types, names breaking the rules: 400."""
    answer = http.post(
        CREATE, content=body, headers={**fleet.headers, "Content-Type": "application/json"}
    )
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_create_accepts_a_fifty_character_name(http: httpx.Client, fleet: Fleet) -> None:
    """50 characters is the limit, inclusive."""
    assert create_device(http, fleet, "n" * 50)["name"] == "n" * 50


# --- PLT-DEV-10 -------------------------------------------------------------------------


def test_rename_answers_the_summary_and_the_device_keeps_working(
    http: httpx.Client, fleet: Fleet
) -> None:
    """200 DeviceSummary under the new name; base info and the token agree."""
    device = create_device(http, fleet, "Old name")
    answer = http.put(
        f"{DEVICE}?deviceId={device['id']}", json={"name": "New name"}, headers=fleet.headers
    )
    assert answer.status_code == 200, answer.text
    renamed = answer.json()
    assert set(renamed) == DEVICE_SUMMARY_KEYS
    assert (renamed["name"], renamed["token"]) == ("New name", device["token"])
    assert base_info(http, fleet, device["id"])["name"] == "New name"
    assert http.get(f"/external/api/update?token={device['token']}&v2=1").status_code == 200


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("deviceId=1", b"{"),
        ("deviceId=1", b'{"name":"bad!"}'),
        ("deviceId=1", b'{"name":5}'),
        ("deviceId=1", b"{}"),
        ("deviceId=x", b'{"name":"ok"}'),
        ("", b'{"name":"ok"}'),
    ],
)
def test_rename_refuses_bad_input(
    http: httpx.Client, fleet: Fleet, query: str, body: bytes
) -> None:
    """Broken or invalid body, missing or non-integer deviceId: 400."""
    answer = http.put(
        f"{DEVICE}?{query}",
        content=body,
        headers={**fleet.headers, "Content-Type": "application/json"},
    )
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_rename_of_another_organizations_device_is_not_found(
    http: httpx.Client, fleet: Fleet, other: dict[str, Any]
) -> None:
    """B's device, or no device at all: the device 404; B's device keeps its name."""
    theirs = other["devices"][0]
    for device_id in (theirs["id"], 987654):
        answer = http.put(
            f"{DEVICE}?deviceId={device_id}", json={"name": "Mine"}, headers=fleet.headers
        )
        assert (answer.status_code, answer.json()) == (404, device_not_found(device_id))
    kept = http.get(f"{BASE_INFO}?deviceId={theirs['id']}", headers=other["headers"])
    assert kept.json()["name"] == theirs["name"]


# --- PLT-DEV-11 -------------------------------------------------------------------------


def test_delete_removes_the_device_and_everything_it_stored(
    http: httpx.Client, fleet: Fleet, data_dir: Path
) -> None:
    """204; the device API refuses the token at once; no row and no file of it is left."""
    device = create_device(http, fleet, "Doomed")
    fill(http, fleet, device)
    before = stored_rows(data_dir, device["id"])
    assert all(before[t] for t in ("current_values", "history", "properties", "device_events"))
    assert before["device_files"]
    assert before["metafield_values"]
    assert (data_dir / "uploads" / str(device["id"])).is_dir()
    answer = http.delete(f"{DEVICE}?deviceId={device['id']}", headers=fleet.headers)
    assert (answer.status_code, answer.content) == (204, b"")
    gone = http.get(f"/external/api/get?token={device['token']}&v1")
    assert (gone.status_code, gone.json()) == (400, INVALID_TOKEN)
    assert http.get(f"/external/api/isHardwareConnected?token={device['token']}").json() == (
        INVALID_TOKEN
    )
    missing = http.get(f"{BASE_INFO}?deviceId={device['id']}", headers=fleet.headers)
    assert (missing.status_code, missing.json()) == (404, device_not_found(device["id"]))
    assert set(stored_rows(data_dir, device["id"]).values()) == {0}
    assert not (data_dir / "uploads" / str(device["id"])).exists()
    listed = http.get("/api/v1/organization/search/devices?query=Doomed", headers=fleet.headers)
    assert listed.json()["totalElements"] == 0


def test_a_deleted_devices_id_is_never_given_again(http: httpx.Client, fleet: Fleet) -> None:
    """Deleting the newest device and creating another: the new one gets a higher id."""
    newest = create_device(http, fleet, "Newest")
    assert (
        http.delete(f"{DEVICE}?deviceId={newest['id']}", headers=fleet.headers).status_code == 204
    )
    assert create_device(http, fleet, "Next")["id"] > newest["id"]


def test_delete_twice_is_not_found(http: httpx.Client, fleet: Fleet) -> None:
    """The second delete of a device is the device 404."""
    device = create_device(http, fleet, "Twice")
    assert (
        http.delete(f"{DEVICE}?deviceId={device['id']}", headers=fleet.headers).status_code == 204
    )
    again = http.delete(f"{DEVICE}?deviceId={device['id']}", headers=fleet.headers)
    assert (again.status_code, again.json()) == (404, device_not_found(device["id"]))


@pytest.mark.parametrize("query", ["", "deviceId=", "deviceId=x", "deviceId=1.0"])
@pytest.mark.parametrize("path", [DEVICE, CLEAR, OWNER])
def test_deletes_refuse_a_bad_device_id(
    http: httpx.Client, fleet: Fleet, path: str, query: str
) -> None:
    """PLT-DEV-11, 12 and 13 without a plain integer deviceId: 400."""
    answer = http.delete(f"{path}?{query}", headers=fleet.headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


@pytest.mark.parametrize("path", [DEVICE, CLEAR, OWNER])
def test_deletes_of_another_organizations_device_are_not_found(
    http: httpx.Client, fleet: Fleet, other: dict[str, Any], path: str
) -> None:
    """PLT-DEV-11, 12 and 13 on B's device: the device 404; it stays untouched and working."""
    theirs = other["devices"][1]
    answer = http.delete(f"{path}?deviceId={theirs['id']}", headers=fleet.headers)
    assert (answer.status_code, answer.json()) == (404, device_not_found(theirs["id"]))
    assert http.get(f"/external/api/isHardwareConnected?token={theirs['token']}").text == "false"


# --- PLT-DEV-12 -------------------------------------------------------------------------


def test_erase_clears_values_history_and_properties_but_keeps_the_device(
    http: httpx.Client, fleet: Fleet, data_dir: Path
) -> None:
    """204; values fall back to defaults, history and properties are gone; token, owner,
    metadata and events stay."""
    device = create_device(http, fleet, "Erased")
    fill(http, fleet, device)
    history = f"{HISTORY}?deviceId={device['id']}&pin=v1"
    assert http.get(history, headers=fleet.headers).json()["totalElements"] == 1
    answer = http.delete(f"{CLEAR}?deviceId={device['id']}", headers=fleet.headers)
    assert (answer.status_code, answer.content) == (204, b"")
    token = device["token"]
    assert http.get(f"/external/api/get?token={token}&v1").content == b""
    info = http.get(f"{DEVICE}?deviceId={device['id']}", headers=fleet.headers).json()
    assert [v["dataStreamId"] for v in info["dataStreamValues"]] == [8]  # the default only
    assert info["properties"] == {}
    assert info["metaFieldValues"][0]["value"]["value"] == "SN-0001"
    assert info["ownerUserId"] == fleet.users["alice"]["id"]
    assert http.get(history, headers=fleet.headers).json() == {"content": [], "totalElements": 0}
    rows = stored_rows(data_dir, device["id"])
    assert rows["current_values"] == rows["history"] == rows["history_minutes"] == 0
    assert rows["properties"] == 0
    assert rows["devices"] == rows["device_events"] == 1
    assert http.get(f"/external/api/update?token={token}&v1=3").status_code == 200
    assert http.get(f"/external/api/get?token={token}&v1").text == "3"


# --- PLT-DEV-13 -------------------------------------------------------------------------


def test_remove_owner_clears_the_owner(http: httpx.Client, fleet: Fleet) -> None:
    """204; the device has no owner afterwards; doing it again is still 204."""
    device = create_device(http, fleet, "Ownerless")
    for _ in range(2):
        answer = http.delete(f"{OWNER}?deviceId={device['id']}", headers=fleet.headers)
        assert (answer.status_code, answer.content) == (204, b"")
    assert base_info(http, fleet, device["id"])["ownerUserId"] is None
    by_owner = http.get(
        f"/api/v1/organization/device/by-owner?ownerEmail={fleet.email('alice')}",
        headers=fleet.headers,
    )
    assert device["id"] not in [d["id"] for d in by_owner.json()["content"]]


# --- PLT-DEV-14 -------------------------------------------------------------------------


def transfer(http: httpx.Client, fleet: Fleet, body: dict[str, Any]) -> httpx.Response:
    """POST PLT-DEV-14 as the fleet."""
    return http.post(TRANSFER, json=body, headers=fleet.headers)


def test_transfer_to_a_user_moves_the_device_to_the_users_organization(
    http: httpx.Client, fleet: Fleet
) -> None:
    """204; Carol owns it, in the branch; newOrgId is ignored when newUserId is given."""
    device = create_device(http, fleet, "Moving")
    carol = fleet.users["carol"]["id"]
    answer = transfer(http, fleet, {"deviceId": device["id"], "newUserId": carol, "newOrgId": 1})
    assert (answer.status_code, answer.content) == (204, b"")
    moved = base_info(http, fleet, device["id"])
    assert (moved["orgId"], moved["ownerUserId"]) == (fleet.branch_id, carol)
    again = transfer(http, fleet, {"deviceId": device["id"], "newUserId": carol})
    assert (again.status_code, again.json()) == (400, SAME_OWNER)
    assert http.get(f"/external/api/update?token={device['token']}&v1=1").status_code == 200


def test_transfer_to_an_organization_leaves_the_owner_behind(
    http: httpx.Client, fleet: Fleet
) -> None:
    """newOrgId alone: the device moves there without owner; to its own organization is 400."""
    device = create_device(http, fleet, "Relocated")
    body = {"deviceId": device["id"], "newOrgId": fleet.branch_id}
    assert transfer(http, fleet, body).status_code == 204
    moved = base_info(http, fleet, device["id"])
    assert (moved["orgId"], moved["ownerUserId"]) == (fleet.branch_id, None)
    answer = transfer(http, fleet, body)
    assert (answer.status_code, answer.json()) == (400, SAME_OWNER)
    home = http.get("/api/v1/organization/devices", headers=fleet.headers).json()["content"]
    assert device["id"] not in [d["id"] for d in home]


def test_transfer_takes_identifiers_from_the_query_string(http: httpx.Client, fleet: Fleet) -> None:
    """OP-07: deviceId and newUserId may come from the query string."""
    device = create_device(http, fleet, "Queried")
    answer = http.post(
        f"{TRANSFER}?deviceId={device['id']}&newUserId={fleet.users['bob']['id']}",
        json={},
        headers=fleet.headers,
    )
    assert answer.status_code == 204, answer.text
    assert base_info(http, fleet, device["id"])["ownerUserId"] == fleet.users["bob"]["id"]


def test_transfer_error_rows(http: httpx.Client, fleet: Fleet, other: dict[str, Any]) -> None:
    """Device 404, destination 404, user 404, the not-activated account and no destination."""
    device = create_device(http, fleet, "Stays")
    their_org = other["organization"]["id"]
    theirs = other["devices"][0]["id"]
    cases: list[tuple[dict[str, Any], int, dict[str, Any]]] = [
        ({"deviceId": theirs, "newOrgId": fleet.org_id}, 404, device_not_found(theirs)),
        ({"deviceId": 987654, "newOrgId": fleet.org_id}, 404, device_not_found(987654)),
        ({"deviceId": device["id"], "newOrgId": their_org}, 404, DESTINATION_NOT_FOUND),
        ({"deviceId": device["id"], "newOrgId": 987654}, 404, DESTINATION_NOT_FOUND),
        ({"deviceId": device["id"], "newUserId": 987654}, 404, USER_NOT_FOUND),
        ({"deviceId": device["id"], "newUserId": fleet.invited["id"]}, 400, NOT_ACTIVATED),
        (
            {"deviceId": device["id"], "newUserId": fleet.users["alice"]["id"]},
            400,
            SAME_OWNER,
        ),
        ({"deviceId": device["id"]}, 400, INCORRECT),
    ]
    for body, status, expected in cases:
        answer = transfer(http, fleet, body)
        assert (answer.status_code, answer.json()) == (status, expected), body
    kept = base_info(http, fleet, device["id"])
    assert (kept["orgId"], kept["ownerUserId"]) == (fleet.org_id, fleet.users["alice"]["id"])


def test_transfer_refuses_a_user_of_another_organization(
    http: httpx.Client, fleet: Fleet, other: dict[str, Any]
) -> None:
    """B cannot hand its device to a fleet user: that user is outside B's scope."""
    body = {"deviceId": other["devices"][0]["id"], "newUserId": fleet.users["bob"]["id"]}
    answer = http.post(TRANSFER, json=body, headers=other["headers"])
    assert (answer.status_code, answer.json()) == (404, USER_NOT_FOUND)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[1]",
        b'{"deviceId":"1","newOrgId":1}',
        b'{"deviceId":1,"newOrgId":"1"}',
        b'{"deviceId":1,"newUserId":1.5}',
        b'{"newOrgId":1}',
    ],
)
def test_transfer_refuses_bad_bodies(http: httpx.Client, fleet: Fleet, body: bytes) -> None:
    """Broken JSON, wrong types, a missing deviceId: 400."""
    answer = http.post(
        TRANSFER, content=body, headers={**fleet.headers, "Content-Type": "application/json"}
    )
    assert (answer.status_code, answer.json()) == (400, INCORRECT)
