"""Platform API device lists over HTTP: PLT-DEV-01 list, PLT-DEV-02 search, PLT-DEV-03 by owner,
PLT-DEV-04 by user's organization, PLT-DEV-05 recently activated; paging, bad input and scope.

Everything runs in the fleet organization (fleet.py), whose devices no other test touches.
"""

from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
from fleet import BASE, Fleet, build_fleet, create_device
from platform_http import DEVICE_SUMMARY_KEYS, error

from pinbase.http.platform_api.device_lists import SortKey
from pinbase.testing import ServerProcess

DEVICES = f"{BASE}/devices"
SEARCH = f"{BASE}/search/devices"
BY_OWNER = f"{BASE}/device/by-owner"
BY_USER_ORG = f"{BASE}/device/by-user-org"
LAST_ACTIVATED = f"{BASE}/device/last-activated"

INCORRECT = error("Request with incorrect parameters")
BAD_PAGING = ["page=-1", "page=x", "size=0", "size=1001", "size=1.5", "size="]


@pytest.fixture(scope="module")
def fleet(server: ServerProcess, data_dir: Path) -> Fleet:
    """The fleet organization, plus one device in its branch."""
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        made = build_fleet(http, data_dir, "lists")
        branch_device = create_device(
            http, made, "Branch Unit", owner="carol", orgId=made.branch_id
        )
    made.devices["Branch Unit"] = branch_device
    return made


def page(http: httpx.Client, path: str, headers: dict[str, str]) -> dict[str, Any]:
    """A 200 page answer."""
    answer = http.get(path, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json;charset=utf-8"
    found: dict[str, Any] = answer.json()
    assert set(found) == {"content", "totalElements"}
    return found


def names(found: dict[str, Any]) -> list[str]:
    """Device names of a page, in order."""
    return [device["name"] for device in found["content"]]


HOME = ["Alpha One", "beta two", "Gamma Three"]


# --- PLT-DEV-01 -------------------------------------------------------------------------


def test_list_answers_the_home_organizations_devices_by_id(
    http: httpx.Client, fleet: Fleet
) -> None:
    """DeviceSummary objects of the home organization only, with token and owner."""
    found = page(http, DEVICES, fleet.headers)
    assert names(found) == HOME
    assert found["totalElements"] == 3
    alpha = found["content"][0]
    assert set(alpha) == DEVICE_SUMMARY_KEYS
    provisioned = fleet.devices["Alpha One"]
    assert (alpha["id"], alpha["token"], alpha["orgId"]) == (
        provisioned["id"],
        provisioned["token"],
        fleet.org_id,
    )
    assert alpha["templateId"] == fleet.template_id
    assert alpha["ownerUserId"] == fleet.users["alice"]["id"]
    assert alpha["activatedAt"] > 0
    assert found["content"][2]["ownerUserId"] is None


def test_list_includes_sub_organization_devices_on_request(
    http: httpx.Client, fleet: Fleet
) -> None:
    """includeSubOrgDevices=true adds the branch's device; false is the default."""
    found = page(http, f"{DEVICES}?includeSubOrgDevices=true", fleet.headers)
    assert names(found) == [*HOME, "Branch Unit"]
    assert found["content"][3]["orgId"] == fleet.branch_id
    assert names(page(http, f"{DEVICES}?includeSubOrgDevices=false", fleet.headers)) == HOME


def test_list_pages(http: httpx.Client, fleet: Fleet) -> None:
    """page is 0-based; totalElements counts every page; past the end is an empty page."""
    assert page(http, f"{DEVICES}?size=2", fleet.headers) == {
        "content": page(http, DEVICES, fleet.headers)["content"][:2],
        "totalElements": 3,
    }
    assert names(page(http, f"{DEVICES}?size=2&page=1", fleet.headers)) == ["Gamma Three"]
    assert page(http, f"{DEVICES}?size=2&page=5", fleet.headers) == {
        "content": [],
        "totalElements": 3,
    }


@pytest.mark.parametrize("query", [*BAD_PAGING, "includeSubOrgDevices=maybe"])
def test_list_refuses_bad_parameters(http: httpx.Client, fleet: Fleet, query: str) -> None:
    """Bad paging or flag: 400 Request with incorrect parameters."""
    answer = http.get(f"{DEVICES}?{query}", headers=fleet.headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_list_needs_a_bearer_token(http: httpx.Client) -> None:
    """Without a token: 401."""
    assert http.get(DEVICES).status_code == 401


def test_list_shows_no_other_organizations_devices(
    http: httpx.Client, fleet: Fleet, other: dict[str, Any]
) -> None:
    """Organization B sees its own devices only, and the fleet sees none of B's."""
    theirs = page(http, f"{DEVICES}?includeSubOrgDevices=true", other["headers"])
    assert names(theirs) == ["Other 0", "Other 1"]
    ours = page(http, f"{DEVICES}?includeSubOrgDevices=true&size=1000", fleet.headers)
    assert not {d["id"] for d in ours["content"]} & {d["id"] for d in other["devices"]}


# --- PLT-DEV-02 -------------------------------------------------------------------------


def test_search_matches_part_of_the_name_in_any_case(http: httpx.Client, fleet: Fleet) -> None:
    """query=ALPHA finds "Alpha One"; the search spans the branch too."""
    assert names(page(http, f"{SEARCH}?query=ALPHA", fleet.headers)) == ["Alpha One"]
    assert names(page(http, f"{SEARCH}?query=unit", fleet.headers)) == ["Branch Unit"]
    found = page(http, f"{SEARCH}?query=%20", fleet.headers)
    assert found["totalElements"] == 4
    assert set(found["content"][0]) == DEVICE_SUMMARY_KEYS
    assert page(http, f"{SEARCH}?query=nothing", fleet.headers) == {
        "content": [],
        "totalElements": 0,
    }


def test_search_sorts_by_name_and_pages(http: httpx.Client, fleet: Fleet) -> None:
    """Name sorts ignoring case, ASC by default, DESC on request; paging applies after."""
    by_name = f"{SEARCH}?query=%20&sortBy=Name"
    assert names(page(http, by_name, fleet.headers)) == [
        "Alpha One",
        "beta two",
        "Branch Unit",
        "Gamma Three",
    ]
    descending = page(http, f"{by_name}&sortOrder=DESC&size=3&page=1", fleet.headers)
    assert (names(descending), descending["totalElements"]) == (["Alpha One"], 4)


def test_search_sorts_by_owner(http: httpx.Client, fleet: Fleet) -> None:
    """Owner keys sort by the owner's id, name or e-mail; devices without owner come first."""
    owner = f"{SEARCH}?query=%20&sortBy="
    expected = ["Gamma Three", "Alpha One", "beta two", "Branch Unit"]
    for key in ("Device%20Owner", "Device%20Owner%20Name", "Activated%20By", "Owner%20Id"):
        assert names(page(http, owner + key, fleet.headers)) == expected, key
    reverse = page(http, f"{owner}Device%20Owner&sortOrder=DESC", fleet.headers)
    assert names(reverse) == expected[::-1]


def test_search_sorts_by_organization_and_template(http: httpx.Client, fleet: Fleet) -> None:
    """Organization Id puts the branch last; ties keep ascending ids in either order."""
    found = page(http, f"{SEARCH}?query=%20&sortBy=Organization%20Id", fleet.headers)
    assert names(found) == [*HOME, "Branch Unit"]
    descending = page(
        http, f"{SEARCH}?query=%20&sortBy=Organization%20Id&sortOrder=DESC", fleet.headers
    )
    assert names(descending) == ["Branch Unit", *HOME]
    same = page(http, f"{SEARCH}?query=%20&sortBy=Template%20Name&sortOrder=DESC", fleet.headers)
    assert names(same) == [*HOME, "Branch Unit"]


@pytest.mark.parametrize("key", get_args(SortKey))
@pytest.mark.parametrize("order", ["ASC", "DESC"])
def test_search_accepts_every_documented_sort_key(
    http: httpx.Client, fleet: Fleet, key: str, order: str
) -> None:
    """Each of the 15 labels sorts the same four devices."""
    found = page(
        http,
        f"{SEARCH}?query=%20&sortBy={key.replace(' ', '%20')}&sortOrder={order}",
        fleet.headers,
    )
    assert sorted(names(found)) == sorted([*HOME, "Branch Unit"])


@pytest.mark.parametrize(
    "query",
    [
        "",
        "query=",
        f"query={'a' * 256}",
        "query=a&sortBy=Colour",
        "query=a&sortBy=name",
        "query=a&sortOrder=UP",
        *(f"query=a&{bad}" for bad in BAD_PAGING),
    ],
)
def test_search_refuses_bad_parameters(http: httpx.Client, fleet: Fleet, query: str) -> None:
    """Missing or over-long query, unknown sort label or order, bad paging: 400."""
    answer = http.get(f"{SEARCH}?{query}", headers=fleet.headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_search_stays_within_the_organization(
    http: httpx.Client, fleet: Fleet, other: dict[str, Any]
) -> None:
    """Organization B finds none of the fleet's devices, and the fleet none of B's."""
    assert page(http, f"{SEARCH}?query=Alpha", other["headers"])["totalElements"] == 0
    assert page(http, f"{SEARCH}?query=Other", fleet.headers)["totalElements"] == 0


# --- PLT-DEV-03 -------------------------------------------------------------------------


def test_by_owner_lists_the_owners_devices(http: httpx.Client, fleet: Fleet) -> None:
    """The user's devices in the home organization and below; the address in any case."""
    found = page(http, f"{BY_OWNER}?ownerEmail={fleet.email('alice')}", fleet.headers)
    assert (names(found), found["totalElements"]) == (["Alpha One"], 1)
    assert set(found["content"][0]) == DEVICE_SUMMARY_KEYS
    upper = page(http, f"{BY_OWNER}?ownerEmail={fleet.email('bob').upper()}", fleet.headers)
    assert names(upper) == ["beta two"]
    carol = page(http, f"{BY_OWNER}?ownerEmail={fleet.email('carol')}", fleet.headers)
    assert names(carol) == ["Branch Unit"]


def test_by_owner_narrows_to_org_id(http: httpx.Client, fleet: Fleet) -> None:
    """orgId=branch: only the devices there; alice owns none of them."""
    branch = f"orgId={fleet.branch_id}"
    alice = page(http, f"{BY_OWNER}?ownerEmail={fleet.email('alice')}&{branch}", fleet.headers)
    assert alice == {"content": [], "totalElements": 0}
    carol = page(http, f"{BY_OWNER}?ownerEmail={fleet.email('carol')}&{branch}", fleet.headers)
    assert names(carol) == ["Branch Unit"]


def test_by_owner_stays_within_the_organization(
    http: httpx.Client, fleet: Fleet, other: dict[str, Any]
) -> None:
    """B asking for a fleet user gets nothing; the fleet naming B's organization gets a 404."""
    found = page(http, f"{BY_OWNER}?ownerEmail={fleet.email('alice')}", other["headers"])
    assert found == {"content": [], "totalElements": 0}
    org_b = other["organization"]["id"]
    answer = http.get(
        f"{BY_OWNER}?ownerEmail={fleet.email('alice')}&orgId={org_b}", headers=fleet.headers
    )
    assert (answer.status_code, answer.json()) == (
        404,
        error(f"Organization with identifier {org_b} is not found or you don't have access to it."),
    )


# --- PLT-DEV-04 -------------------------------------------------------------------------


def test_by_user_org_lists_the_devices_of_the_users_organization(
    http: httpx.Client, fleet: Fleet
) -> None:
    """Bob belongs to the home organization: its devices (not the branch's); Carol: the branch's."""
    bob = page(http, f"{BY_USER_ORG}?userEmail={fleet.email('bob')}", fleet.headers)
    assert (names(bob), bob["totalElements"]) == (HOME, 3)
    assert set(bob["content"][0]) == DEVICE_SUMMARY_KEYS
    carol = page(http, f"{BY_USER_ORG}?userEmail={fleet.email('carol')}", fleet.headers)
    assert names(carol) == ["Branch Unit"]
    second = page(
        http, f"{BY_USER_ORG}?userEmail={fleet.email('bob')}&size=1&page=1", fleet.headers
    )
    assert (names(second), second["totalElements"]) == (["beta two"], 3)


def test_by_user_org_stays_within_the_organization(
    http: httpx.Client, fleet: Fleet, other: dict[str, Any]
) -> None:
    """B naming a fleet user gets nothing."""
    found = page(http, f"{BY_USER_ORG}?userEmail={fleet.email('bob')}", other["headers"])
    assert found == {"content": [], "totalElements": 0}


# --- PLT-DEV-03 and 04 alike: devices by a user's address --------------------------------

BY_ADDRESS = [(BY_OWNER, "ownerEmail"), (BY_USER_ORG, "userEmail")]
"""Each lookup by address with its query key."""


@pytest.mark.parametrize(("path", "key"), BY_ADDRESS, ids=["by-owner", "by-user-org"])
def test_by_an_unknown_address_is_empty(
    http: httpx.Client, fleet: Fleet, path: str, key: str
) -> None:
    """No such user: an empty page, not an error."""
    found = page(http, f"{path}?{key}={fleet.email('nobody')}", fleet.headers)
    assert found == {"content": [], "totalElements": 0}


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (path, query)
        for path, key in BY_ADDRESS
        for query in ["", f"{key}=", f"{key}={'a' * 256}"]
        + [f"{key}=a%40b.c&{bad}" for bad in BAD_PAGING]
    ]
    + [(BY_OWNER, "ownerEmail=a%40b.c&orgId=x")],
)
def test_by_address_refuses_bad_parameters(
    http: httpx.Client, fleet: Fleet, path: str, query: str
) -> None:
    """Missing or overlong address, bad paging, and a bad orgId (by owner only): 400."""
    answer = http.get(f"{path}?{query}", headers=fleet.headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


# --- PLT-DEV-05 -------------------------------------------------------------------------


def activated(http: httpx.Client, query: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """A 200 PLT-DEV-05 answer: a bare JSON array."""
    answer = http.get(f"{LAST_ACTIVATED}?{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def test_last_activated_lists_new_devices_of_one_organization(
    http: httpx.Client, fleet: Fleet
) -> None:
    """A bare array, newest first, of the home organization's recent devices (no branch)."""
    found = activated(http, "", fleet.headers)
    assert sorted(item["id"] for item in found) == sorted(
        fleet.devices[name]["id"] for name in HOME
    )
    assert all(
        set(item) == {"id", "templateId", "orgId", "ownerUserId", "activationTime"}
        for item in found
    )
    times = [item["activationTime"] for item in found]
    assert times == sorted(times, reverse=True)
    assert {item["orgId"] for item in found} == {fleet.org_id}
    alpha = next(item for item in found if item["id"] == fleet.devices["Alpha One"]["id"])
    assert (alpha["templateId"], alpha["ownerUserId"]) == (
        fleet.template_id,
        fleet.users["alice"]["id"],
    )


def test_last_activated_in_a_sub_organization(http: httpx.Client, fleet: Fleet) -> None:
    """orgId=branch answers the branch's device; minutes=60 is the widest window."""
    found = activated(http, f"orgId={fleet.branch_id}&minutes=60", fleet.headers)
    assert [item["id"] for item in found] == [fleet.devices["Branch Unit"]["id"]]
    assert found[0]["activationTime"] == fleet.devices["Branch Unit"]["activatedAt"]


@pytest.mark.parametrize("query", ["minutes=0", "minutes=61", "minutes=x", "orgId=x"])
def test_last_activated_refuses_bad_parameters(
    http: httpx.Client, fleet: Fleet, query: str
) -> None:
    """minutes outside 1..60, or a non-integer: 400."""
    answer = http.get(f"{LAST_ACTIVATED}?{query}", headers=fleet.headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_last_activated_stays_within_the_organization(
    http: httpx.Client, fleet: Fleet, other: dict[str, Any]
) -> None:
    """B's own answer holds none of the fleet's devices; naming the fleet's org is a 404."""
    theirs = activated(http, "", other["headers"])
    assert {item["orgId"] for item in theirs} <= {other["organization"]["id"]}
    answer = http.get(f"{LAST_ACTIVATED}?orgId={fleet.org_id}", headers=other["headers"])
    assert (answer.status_code, answer.json()) == (
        404,
        error(
            f"Organization with identifier {fleet.org_id} is not found or you don't have "
            "access to it."
        ),
    )
