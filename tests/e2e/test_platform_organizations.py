"""Platform API organizations over HTTP: PLT-ORG-01 profile, PLT-ORG-02 by id, PLT-ORG-03
search, PLT-ORG-04 create, PLT-ORG-05 static tokens, PLT-ORG-06 tags, PLT-ORG-07 automations,
PLT-ORG-08 delete; their errors and organization scope.
"""

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from platform_http import error

from testspec import Pool

BASE = "/api/v1/organization"
PROFILE = f"{BASE}/profile"
SEARCH = f"{BASE}/search"
CREATE = f"{BASE}/create"
STATIC_TOKENS = f"{BASE}/static-tokens"
TAGS = f"{BASE}/tags"
AUTOMATIONS = f"{BASE}/automations"
BY_OPTIONAL_ORG_ID = [STATIC_TOKENS, TAGS, AUTOMATIONS]

INCORRECT = error("Request with incorrect parameters")
ORG_NOT_FOUND = error("Organization is not found or you don't have access to it.")
PARENT_NOT_FOUND = error("Parent organization is not found or you don't have access to it.")


def org_not_found(org_id: int | str) -> dict[str, Any]:
    """The 404 body of PLT-ORG-05..08 for an organization outside the caller's scope."""
    return error(
        f"Organization with identifier {org_id} is not found or you don't have access to it."
    )


@pytest.fixture(scope="module")
def org_a(pool: Pool) -> int:
    """Organization A's id."""
    org_id: int = pool.created["organization"]["id"]
    return org_id


@pytest.fixture
def child(http: httpx.Client, headers: dict[str, str]) -> Iterator[dict[str, Any]]:
    """A sub-organization of A created through PLT-ORG-04, deleted after the test."""
    answer = http.post(CREATE, headers=headers, json={"name": "Child Org", "type": "BUSINESS"})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    yield created
    http.delete(f"{BASE}?orgId={created['id']}", headers=headers)


def root_profile(org_id: int, name: str) -> dict[str, Any]:
    """A provisioned organization as the API shows it (profile columns at their defaults)."""
    return {
        "id": org_id,
        "name": name,
        "description": None,
        "parentOrganizationId": None,
        "isActive": True,
        "tz": None,
        "unitSystem": None,
        "phoneNumber": None,
        "address": None,
        "lastModifiedTs": 0,
    }


# --- PLT-ORG-01 ---------------------------------------------------------------------------


def test_profile_is_the_callers_organization(
    http: httpx.Client, headers: dict[str, str], org_a: int
) -> None:
    """The OAuth client's home organization, in the Organization shape."""
    answer = http.get(PROFILE, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json;charset=utf-8"
    assert answer.json() == root_profile(org_a, "Test Org")


def test_profile_of_the_other_organization(http: httpx.Client, other: dict[str, Any]) -> None:
    """Each client sees its own home organization."""
    answer = http.get(PROFILE, headers=other["headers"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == root_profile(other["organization"]["id"], "Other Org")


# --- PLT-ORG-02 ---------------------------------------------------------------------------


def test_get_organization_by_id(
    http: httpx.Client, headers: dict[str, str], org_a: int, child: dict[str, Any]
) -> None:
    """The home organization and a sub-organization are both readable."""
    answer = http.get(f"{BASE}?orgId={org_a}", headers=headers)
    assert (answer.status_code, answer.json()) == (200, root_profile(org_a, "Test Org"))
    answer = http.get(f"{BASE}?orgId={child['id']}", headers=headers)
    assert (answer.status_code, answer.json()) == (200, child)


@pytest.mark.parametrize("org_id", [999999, -1, 0])
def test_get_unknown_organization(http: httpx.Client, headers: dict[str, str], org_id: int) -> None:
    """A missing organization: 404 with a message naming no identifier."""
    answer = http.get(f"{BASE}?orgId={org_id}", headers=headers)
    assert (answer.status_code, answer.json()) == (404, ORG_NOT_FOUND)


@pytest.mark.parametrize("query", ["", "orgId=abc", "orgId=1.0", "orgId=99999999999"])
def test_get_organization_refuses_bad_ids(
    http: httpx.Client, headers: dict[str, str], query: str
) -> None:
    """Missing or malformed ``orgId``: 400 Request with incorrect parameters."""
    answer = http.get(f"{BASE}?{query}", headers=headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_organizations_cannot_read_each_other(
    http: httpx.Client, headers: dict[str, str], other: dict[str, Any], org_a: int
) -> None:
    """Another organization is answered exactly like a missing one, both ways."""
    answer = http.get(f"{BASE}?orgId={other['organization']['id']}", headers=headers)
    assert (answer.status_code, answer.json()) == (404, ORG_NOT_FOUND)
    answer = http.get(f"{BASE}?orgId={org_a}", headers=other["headers"])
    assert (answer.status_code, answer.json()) == (404, ORG_NOT_FOUND)


# --- PLT-ORG-03 ---------------------------------------------------------------------------


def test_search_by_name_within_scope(
    http: httpx.Client, headers: dict[str, str], org_a: int, child: dict[str, Any]
) -> None:
    """A case-insensitive substring of the name; a page in Blynk's envelope."""
    answer = http.get(f"{SEARCH}?query=org", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "content": [root_profile(org_a, "Test Org"), child],
        "totalElements": 2,
    }
    answer = http.get(f"{SEARCH}?query=CHILD", headers=headers)
    assert answer.json() == {"content": [child], "totalElements": 1}
    answer = http.get(f"{SEARCH}?query=nothing-like-it", headers=headers)
    assert answer.json() == {"content": [], "totalElements": 0}


def test_search_sorts_and_pages(
    http: httpx.Client, headers: dict[str, str], org_a: int, child: dict[str, Any]
) -> None:
    """Every ``sortBy`` label orders the matches; ``page``/``size`` slice them."""

    def ids(query: str) -> list[int]:
        answer = http.get(f"{SEARCH}?query=Org&{query}", headers=headers)
        assert answer.status_code == 200, answer.text
        return [org["id"] for org in answer.json()["content"]]

    assert ids("sortBy=Organization%20Id&sortOrder=DESC") == [child["id"], org_a]
    assert ids("sortBy=Name") == [child["id"], org_a]  # "Child Org" < "Test Org"
    assert ids("sortBy=Name&sortOrder=DESC") == [org_a, child["id"]]
    assert ids("sortBy=Device%20Count&sortOrder=DESC") == [org_a, child["id"]]
    assert ids("sortBy=Device%20Count") == [child["id"], org_a]
    assert ids("sortBy=User%20Count") == [org_a, child["id"]]  # a tie: by id
    assert ids("sortBy=Sub%20Organizations&sortOrder=DESC") == [org_a, child["id"]]
    assert ids("page=1&size=1") == [child["id"]]
    answer = http.get(f"{SEARCH}?query=Org&page=5", headers=headers)
    assert answer.json() == {"content": [], "totalElements": 2}


@pytest.mark.parametrize(
    "query",
    [
        "",
        "query=",
        "query=" + "x" * 256,
        "query=a&sortBy=Id",
        "query=a&sortBy=name",
        "query=a&sortOrder=UP",
        "query=a&size=0",
        "query=a&size=1001",
        "query=a&page=-1",
    ],
)
def test_search_refuses_bad_parameters(
    http: httpx.Client, headers: dict[str, str], query: str
) -> None:
    """A missing or overlong query, an unknown sort label or order, bad paging: 400."""
    answer = http.get(f"{SEARCH}?{query}", headers=headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_search_stays_within_scope(
    http: httpx.Client, headers: dict[str, str], other: dict[str, Any], org_a: int
) -> None:
    """Neither organization finds the other."""
    answer = http.get(f"{SEARCH}?query=Other", headers=headers)
    assert answer.json() == {"content": [], "totalElements": 0}
    answer = http.get(f"{SEARCH}?query=Org", headers=other["headers"])
    assert answer.json() == {
        "content": [root_profile(other["organization"]["id"], "Other Org")],
        "totalElements": 1,
    }


# --- PLT-ORG-04 ---------------------------------------------------------------------------


def test_create_organization(http: httpx.Client, headers: dict[str, str], org_a: int) -> None:
    """201 with the Organization; it is in scope at once (read, search, delete)."""
    body = {
        "name": "Test Organization",
        "description": "Test Sub Organization",
        "type": "BUSINESS",
        "tz": "Europe/Kiev",
        "parentId": org_a,
        "phoneNumber": "+3801234567",
        "unitSystem": "METRIC",
    }
    answer = http.post(CREATE, headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    modified = created.pop("lastModifiedTs")
    assert isinstance(modified, int)
    assert modified > 2**31
    new_id = created.pop("id")
    assert created == {
        "name": "Test Organization",
        "description": "Test Sub Organization",
        "parentOrganizationId": org_a,
        "isActive": False,
        "tz": "Europe/Kiev",
        "unitSystem": "METRIC",
        "phoneNumber": "+3801234567",
        "address": None,
    }
    answer = http.get(f"{BASE}?orgId={new_id}", headers=headers)
    assert answer.status_code == 200
    assert answer.json()["id"] == new_id
    answer = http.get(f"{SEARCH}?query=Test%20Organization", headers=headers)
    assert [org["id"] for org in answer.json()["content"]] == [new_id]
    answer = http.delete(f"{BASE}?orgId={new_id}", headers=headers)
    assert answer.status_code == 204


def stored_type(data_dir: Path, org_id: int) -> str | None:
    """The ``type`` the server stored for an organization (not part of the Organization shape)."""
    with sqlite3.connect(f"file:{data_dir / 'pinbase.db'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT type FROM organizations WHERE id = ?", (org_id,)).fetchone()
    assert row is not None
    stored: str | None = row[0]
    return stored


def test_create_grandchild_and_personal_forcing(
    http: httpx.Client, headers: dict[str, str], child: dict[str, Any], data_dir: Path
) -> None:
    """``parentId`` may be any organization in scope, also from the query string (OP-07); a
    child of a PERSONAL organization is PERSONAL whatever type it asks for."""
    answer = http.post(
        f"{CREATE}?parentId={child['id']}",
        headers=headers,
        json={"name": "Personal O'Neil", "type": "PERSONAL"},
    )
    assert answer.status_code == 201, answer.text
    personal = answer.json()
    assert personal["parentOrganizationId"] == child["id"]
    answer = http.post(
        CREATE,
        headers=headers,
        json={"name": "Under Personal", "type": "BUSINESS", "parentId": personal["id"]},
    )
    assert answer.status_code == 201, answer.text
    grandchild = answer.json()
    assert grandchild["parentOrganizationId"] == personal["id"]
    assert stored_type(data_dir, child["id"]) == "BUSINESS"
    assert stored_type(data_dir, personal["id"]) == "PERSONAL"
    assert stored_type(data_dir, grandchild["id"]) == "PERSONAL"
    for org_id in (grandchild["id"], personal["id"]):
        assert http.delete(f"{BASE}?orgId={org_id}", headers=headers).status_code == 204


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "Valid Name"},
        {"type": "BUSINESS"},
        {"name": "ab", "type": "BUSINESS"},
        {"name": "x" * 101, "type": "BUSINESS"},
        {"name": "Bad/Name", "type": "BUSINESS"},
        {"name": "Bad_Name", "type": "BUSINESS"},
        {"name": 123, "type": "BUSINESS"},
        {"name": "Valid Name", "type": "business"},
        {"name": "Valid Name", "type": "COMPANY"},
        {"name": "Valid Name", "type": "BUSINESS", "description": "a<b"},
        {"name": "Valid Name", "type": "BUSINESS", "description": "a\\b"},
        {"name": "Valid Name", "type": "BUSINESS", "description": "x" * 1001},
        {"name": "Valid Name", "type": "BUSINESS", "phoneNumber": "3801234567"},
        {"name": "Valid Name", "type": "BUSINESS", "unitSystem": "SI"},
        {"name": "Valid Name", "type": "BUSINESS", "parentId": "1"},
        {"name": "Valid Name", "type": "BUSINESS", "tz": ""},
    ],
)
def test_create_refuses_invalid_bodies(
    http: httpx.Client, headers: dict[str, str], body: dict[str, Any]
) -> None:
    """Every rule of data-model §1.2: 400 Request with incorrect parameters."""
    answer = http.post(CREATE, headers=headers, json=body)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_create_refuses_broken_json(http: httpx.Client, headers: dict[str, str]) -> None:
    """A body that is not a JSON object: 400."""
    for content in (b"{", b"[]"):
        answer = http.post(CREATE, headers=headers, content=content)
        assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_create_under_a_parent_out_of_scope(
    http: httpx.Client, headers: dict[str, str], other: dict[str, Any], org_a: int
) -> None:
    """A missing parent and another organization's alike: the parent 404."""
    body = {"name": "Intruder", "type": "BUSINESS"}
    for parent_id in (other["organization"]["id"], 999999):
        answer = http.post(CREATE, headers=headers, json={**body, "parentId": parent_id})
        assert (answer.status_code, answer.json()) == (404, PARENT_NOT_FOUND)
    answer = http.post(CREATE, headers=other["headers"], json={**body, "parentId": org_a})
    assert (answer.status_code, answer.json()) == (404, PARENT_NOT_FOUND)


# --- PLT-ORG-05..07 ---------------------------------------------------------------------------


def test_static_tokens_are_an_empty_page(
    http: httpx.Client, headers: dict[str, str], org_a: int, child: dict[str, Any]
) -> None:
    """Pinbase has no static tokens: an empty page for any organization in scope."""
    empty = {"content": [], "totalElements": 0}
    for query in ("", f"?orgId={org_a}", f"?orgId={child['id']}&page=0&size=10"):
        answer = http.get(f"{STATIC_TOKENS}{query}", headers=headers)
        assert (answer.status_code, answer.json()) == (200, empty)


def test_tags_and_automations_are_empty_lists(
    http: httpx.Client, headers: dict[str, str], org_a: int, child: dict[str, Any]
) -> None:
    """An organization nobody tagged has no tags; nobody made automations here either.

    (Organization A's tags are not checked: the device-records tests tag its devices.)
    """
    child_query = f"?orgId={child['id']}"
    queries = {TAGS: [child_query], AUTOMATIONS: ["", f"?orgId={org_a}", child_query]}
    for path, path_queries in queries.items():
        for query in path_queries:
            answer = http.get(f"{path}{query}", headers=headers)
            assert (answer.status_code, answer.json()) == (200, [])


@pytest.mark.parametrize("path", BY_OPTIONAL_ORG_ID)
@pytest.mark.parametrize("org_id", [999999, -1])
def test_unknown_organization_404(
    http: httpx.Client, headers: dict[str, str], path: str, org_id: int
) -> None:
    """An unknown ``orgId``: the 404 naming it."""
    answer = http.get(f"{path}?orgId={org_id}", headers=headers)
    assert (answer.status_code, answer.json()) == (404, org_not_found(org_id))


@pytest.mark.parametrize("path", BY_OPTIONAL_ORG_ID)
def test_other_organization_404(
    http: httpx.Client, headers: dict[str, str], other: dict[str, Any], org_a: int, path: str
) -> None:
    """Another organization is answered like a missing one, both ways."""
    org_b = other["organization"]["id"]
    answer = http.get(f"{path}?orgId={org_b}", headers=headers)
    assert (answer.status_code, answer.json()) == (404, org_not_found(org_b))
    answer = http.get(f"{path}?orgId={org_a}", headers=other["headers"])
    assert (answer.status_code, answer.json()) == (404, org_not_found(org_a))
    answer = http.get(path, headers=other["headers"])
    assert answer.status_code == 200


@pytest.mark.parametrize("path", BY_OPTIONAL_ORG_ID)
def test_optional_org_id_must_be_an_integer(
    http: httpx.Client, headers: dict[str, str], path: str
) -> None:
    """A malformed ``orgId``: 400."""
    answer = http.get(f"{path}?orgId=abc", headers=headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


# --- PLT-ORG-08 ---------------------------------------------------------------------------


def test_delete_organization(http: httpx.Client, headers: dict[str, str]) -> None:
    """204 without a body; the organization is gone from reads, search and scope."""
    answer = http.post(CREATE, headers=headers, json={"name": "Doomed Org", "type": "BRANCH"})
    org_id = answer.json()["id"]
    answer = http.delete(f"{BASE}?orgId={org_id}", headers=headers)
    assert (answer.status_code, answer.content) == (204, b"")
    answer = http.get(f"{BASE}?orgId={org_id}", headers=headers)
    assert (answer.status_code, answer.json()) == (404, ORG_NOT_FOUND)
    answer = http.get(f"{SEARCH}?query=Doomed", headers=headers)
    assert answer.json() == {"content": [], "totalElements": 0}
    answer = http.delete(f"{BASE}?orgId={org_id}", headers=headers)
    assert (answer.status_code, answer.json()) == (404, org_not_found(org_id))
    answer = http.get(f"{TAGS}?orgId={org_id}", headers=headers)
    assert (answer.status_code, answer.json()) == (404, org_not_found(org_id))


def test_delete_refusals(
    http: httpx.Client, headers: dict[str, str], org_a: int, child: dict[str, Any]
) -> None:
    """Own (and root) organization, one with a sub-organization: 400 (OP-13)."""
    answer = http.delete(f"{BASE}?orgId={org_a}", headers=headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)
    answer = http.post(
        CREATE,
        headers=headers,
        json={"name": "Grandchild", "parentId": child["id"], "type": "ROOT"},
    )
    grandchild = answer.json()["id"]
    answer = http.delete(f"{BASE}?orgId={child['id']}", headers=headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)
    assert http.delete(f"{BASE}?orgId={grandchild}", headers=headers).status_code == 204


@pytest.mark.parametrize("query", ["", "orgId=abc", "orgId=99999999999"])
def test_delete_refuses_bad_ids(http: httpx.Client, headers: dict[str, str], query: str) -> None:
    """Missing or malformed ``orgId``: 400."""
    answer = http.delete(f"{BASE}?{query}", headers=headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_organizations_cannot_delete_each_other(
    http: httpx.Client, headers: dict[str, str], other: dict[str, Any], child: dict[str, Any]
) -> None:
    """Another organization's (sub-)organization: the 404 naming it; nothing is deleted."""
    answer = http.delete(f"{BASE}?orgId={child['id']}", headers=other["headers"])
    assert (answer.status_code, answer.json()) == (404, org_not_found(child["id"]))
    org_b = other["organization"]["id"]
    answer = http.delete(f"{BASE}?orgId={org_b}", headers=headers)
    assert (answer.status_code, answer.json()) == (404, org_not_found(org_b))
    assert http.get(f"{BASE}?orgId={child['id']}", headers=headers).status_code == 200


# --- common -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", PROFILE),
        ("GET", f"{BASE}?orgId=1"),
        ("GET", f"{SEARCH}?query=a"),
        ("POST", CREATE),
        ("GET", STATIC_TOKENS),
        ("GET", TAGS),
        ("GET", AUTOMATIONS),
        ("DELETE", f"{BASE}?orgId=1"),
    ],
)
def test_organizations_need_a_token(http: httpx.Client, method: str, path: str) -> None:
    """No bearer token: 401 Unauthorized."""
    answer = http.request(method, path)
    assert (answer.status_code, answer.json()) == (401, error("Unauthorized"))


def test_openapi_document_lists_the_organization_paths(http: httpx.Client) -> None:
    """Every endpoint of §4.4 is documented."""
    paths = http.get("/openapi.json").json()["paths"]
    assert set(paths[BASE]) == {"get", "delete"}
    for path in (PROFILE, SEARCH, STATIC_TOKENS, TAGS, AUTOMATIONS):
        assert "get" in paths[path]
    assert "post" in paths[CREATE]
