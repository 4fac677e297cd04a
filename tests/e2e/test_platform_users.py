"""Platform API users over HTTP: PLT-USR-01 list, PLT-USR-02 search, PLT-USR-03 create with a
client organization, PLT-USR-04 create in an organization, PLT-USR-05 register, PLT-USR-06
invite, PLT-USR-07 transfer, PLT-USR-08 get, PLT-USR-09 update role; their errors and scope.

Two organizations of their own keep these tests apart from the rest of the session: "quiet",
built once and only read (lists and searches compare whole pages), and "busy", where tests
create and move users. Organization B (``second_org``) plays the outsider.
"""

import base64
import hashlib
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from platform_http import FIXTURES, error, org_headers, password_hash

from pinbase.testing import ServerProcess, provision

BASE = "/api/v1/organization"
USERS = f"{BASE}/users"
SEARCH = f"{BASE}/search/users"
CREATE = f"{USERS}/create"
CREATE_IN_ORG = f"{USERS}/create-in-org"
REGISTER = f"{USERS}/register"
INVITE = f"{USERS}/invite"
TRANSFER = f"{USERS}/transfer"
USER = f"{BASE}/user"
ROLE = f"{USERS}/role"

INCORRECT = error("Request with incorrect parameters")
ORG_NOT_FOUND = error("Organization is not found or you don't have access to it.")
TARGET_NOT_FOUND = error("Target organization is not found.")
ROLE_NOT_FOUND = error("Role is not found.")
ROLE_FORBIDDEN = error(
    "You don't have permissions to access this Role. Contact administrator for details."
)
SUMMARY_KEYS = {"id", "name", "email", "roleId", "orgId", "isDev"}
FULL_KEYS = SUMMARY_KEYS | {
    "title",
    "nickName",
    "phoneNumber",
    "tz",
    "locale",
    "status",
    "lastModifiedTs",
    "lastLoggedAt",
    "registeredAt",
}


def user_not_found(user_id: int | str) -> dict[str, Any]:
    """The 404 body of PLT-USR-08 and -09."""
    return error(f"User with identifier {user_id} is not found or belong to another organization.")


def unique_email(tag: str = "user") -> str:
    """A fresh address: the session server keeps every user it ever created."""
    return f"{tag}-{uuid.uuid4().hex[:12]}@busy.example"


def summary(user: dict[str, Any]) -> dict[str, Any]:
    """The UserSummary part of a UserFull."""
    return {key: user[key] for key in SUMMARY_KEYS}


def org_spec(name: str, users: list[dict[str, Any]], owner: str | None) -> dict[str, Any]:
    """A provisioning file: organization ``name`` with a client, the test template, one device."""
    spec: dict[str, Any] = json.loads((FIXTURES / "spec.json").read_text())
    spec["organization"] = {"name": name}
    spec["oauthClients"] = [{"name": name}]
    spec["templates"][0]["name"] = f"{name} Template"
    spec["users"] = users
    device: dict[str, Any] = {"name": f"{name} Device", "template": f"{name} Template"}
    if owner is not None:
        device["owner"] = owner
    spec["devices"] = [device]
    return spec


def stored_hash(data_dir: Path, user_id: int) -> str | None:
    """The password hash the server stored for a user."""
    with sqlite3.connect(f"file:{data_dir / 'pinbase.db'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT password_hash FROM users WHERE id = ?", (user_id,)).fetchone()
    assert row is not None
    value: str | None = row[0]
    return value


def assert_stored_password(data_dir: Path, user_id: int, email: str, password: str) -> None:
    """The server stored argon2id of the client hash, never the client hash itself; checked
    with argon2-cffi directly, not through the server's code."""
    stored = stored_hash(data_dir, user_id)
    assert stored is not None
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PasswordHasher().verify(stored, password_hash(email, password))


def post_ok(http: httpx.Client, path: str, headers: dict[str, str], body: object) -> Any:
    """POST expecting 201 and a body."""
    answer = http.post(path, headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def quiet(server: ServerProcess, data_dir: Path) -> dict[str, Any]:
    """An organization built once and never changed afterwards.

    Ann (Admin, provisioned, owns the device) and Bob (Staff, phone and address) belong to it,
    Cid (User) to its sub-organization "Quiet Sub", and Dee (User) is invited to it.
    """
    created = provision(
        org_spec(
            "Users Quiet Org",
            [{"email": "Ann@Quiet.example", "name": "Ann Admin", "roleId": 1, "password": "a1"}],
            owner="ann@quiet.example",
        ),
        data_dir=data_dir,
    )
    org_id: int = created["organization"]["id"]
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        headers = org_headers(http, created)
        sub = post_ok(http, f"{BASE}/create", headers, {"name": "Quiet Sub", "type": "BUSINESS"})

        def add(body: dict[str, Any]) -> dict[str, Any]:
            email = body["email"]
            full = {"passwordHash": password_hash(email, "pw"), **body}
            user: dict[str, Any] = post_ok(http, CREATE_IN_ORG, headers, full)
            return user

        ann_id = created["users"][0]["id"]
        answer = http.get(f"{USER}?userId={ann_id}", headers=headers)
        assert answer.status_code == 200, answer.text
        users = {
            "ann": answer.json(),
            "bob": add(
                {
                    "email": "bob@quiet.example",
                    "name": "Bob Staff",
                    "orgId": org_id,
                    "roleId": 2,
                    "phoneNumber": "+2 000",
                    "address": {"country": "Zambia", "city": "Lusaka"},
                }
            ),
            "cid": add(
                {
                    "email": "cid@quiet.example",
                    "name": "Cid User",
                    "orgId": sub["id"],
                    "roleId": 3,
                    "phoneNumber": "+1 000",
                    "address": {"country": "Austria"},
                }
            ),
            "dee": post_ok(
                http,
                INVITE,
                headers,
                {"email": "dee@quiet.example", "name": "Dee Invited", "roleId": 3},
            ),
        }
    return {"created": created, "headers": headers, "org": org_id, "sub": sub, **users}


@pytest.fixture(scope="module")
def busy(server: ServerProcess, data_dir: Path) -> dict[str, Any]:
    """An organization where tests create and move users, with a sub-organization."""
    created = provision(
        org_spec(
            "Users Busy Org",
            [{"email": "eve@busy.example", "name": "Eve", "roleId": 1, "password": "e1"}],
            owner=None,
        ),
        data_dir=data_dir,
    )
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        headers = org_headers(http, created)
        sub = post_ok(http, f"{BASE}/create", headers, {"name": "Busy Sub", "type": "BUSINESS"})
    return {
        "created": created,
        "headers": headers,
        "org": created["organization"]["id"],
        "sub": sub["id"],
        "eve": created["users"][0]["id"],
    }


def new_user(
    http: httpx.Client, busy: dict[str, Any], *, org: str = "org", role: int = 3
) -> dict[str, Any]:
    """A fresh user of busy (or of its sub-organization), through PLT-USR-04."""
    email = unique_email()
    body = {
        "email": email,
        "passwordHash": password_hash(email, "pw"),
        "name": "Fresh User",
        "orgId": busy[org],
        "roleId": role,
    }
    user: dict[str, Any] = post_ok(http, CREATE_IN_ORG, busy["headers"], body)
    return user


def get_user(http: httpx.Client, headers: dict[str, str], user_id: int) -> httpx.Response:
    """PLT-USR-08."""
    return http.get(f"{USER}?userId={user_id}", headers=headers)


def find_by_email(http: httpx.Client, headers: dict[str, str], email: str) -> dict[str, Any]:
    """The one user PLT-USR-02 finds by a full address."""
    answer = http.get(SEARCH, params={"query": email}, headers=headers)
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["totalElements"] == 1, page
    found: dict[str, Any] = page["content"][0]
    return found


def count_found(http: httpx.Client, headers: dict[str, str], email: str) -> int:
    """How many users PLT-USR-02 finds by an address: 0 proves a refused request stored none."""
    answer = http.get(SEARCH, params={"query": email}, headers=headers)
    assert answer.status_code == 200, answer.text
    total: int = answer.json()["totalElements"]
    return total


def changed(valid: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """A request body: ``valid`` with ``change`` applied, where ``None`` drops the field."""
    return {key: value for key, value in {**valid, **change}.items() if value is not None}


# --- every endpoint -----------------------------------------------------------------------

ENDPOINTS = [
    ("GET", USERS),
    ("GET", f"{SEARCH}?query=a"),
    ("POST", CREATE),
    ("POST", CREATE_IN_ORG),
    ("POST", REGISTER),
    ("POST", INVITE),
    ("POST", TRANSFER),
    ("GET", f"{USER}?userId=1"),
    ("PUT", f"{ROLE}?userId=1&roleId=1"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_a_bearer_token(http: httpx.Client, method: str, path: str) -> None:
    """No token: 401 Unauthorized, before anything else is looked at."""
    answer = http.request(method, path)
    assert (answer.status_code, answer.json()) == (401, error("Unauthorized"))


@pytest.mark.parametrize("path", [CREATE, CREATE_IN_ORG, REGISTER, INVITE, TRANSFER])
@pytest.mark.parametrize("body", [b"{", b"[]", b'"text"', b"", b"null", b"\xff"])
def test_posts_refuse_broken_or_non_object_json(
    http: httpx.Client, busy: dict[str, Any], path: str, body: bytes
) -> None:
    """Broken JSON, a non-object or an empty body: 400 Request with incorrect parameters."""
    headers = {**busy["headers"], "Content-Type": "application/json"}
    answer = http.post(path, headers=headers, content=body)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


# --- PLT-USR-01 ---------------------------------------------------------------------------


def test_list_users_of_the_home_organization(http: httpx.Client, quiet: dict[str, Any]) -> None:
    """UserSummary objects of the caller's own organization only, by id."""
    answer = http.get(USERS, headers=quiet["headers"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json;charset=utf-8"
    expected = [summary(quiet[name]) for name in ("ann", "bob", "dee")]
    assert answer.json() == {"content": expected, "totalElements": 3}


def test_list_includes_sub_organization_users_on_request(
    http: httpx.Client, quiet: dict[str, Any]
) -> None:
    """``includeSubOrgUsers=true`` adds the users of the organizations below."""
    answer = http.get(f"{USERS}?includeSubOrgUsers=true", headers=quiet["headers"])
    expected = [summary(quiet[name]) for name in ("ann", "bob", "cid", "dee")]
    assert answer.json() == {"content": expected, "totalElements": 4}
    answer = http.get(f"{USERS}?includeSubOrgUsers=false", headers=quiet["headers"])
    assert answer.json()["totalElements"] == 3


def test_list_pages(http: httpx.Client, quiet: dict[str, Any]) -> None:
    """``page`` and ``size`` slice the list; the total counts every page."""
    answer = http.get(f"{USERS}?page=1&size=2", headers=quiet["headers"])
    assert answer.json() == {"content": [summary(quiet["dee"])], "totalElements": 3}
    answer = http.get(f"{USERS}?page=7&size=1000", headers=quiet["headers"])
    assert answer.json() == {"content": [], "totalElements": 3}


@pytest.mark.parametrize(
    "query",
    ["size=0", "size=1001", "page=-1", "page=a", "size=1.5", "includeSubOrgUsers=maybe"],
)
def test_list_refuses_bad_parameters(http: httpx.Client, quiet: dict[str, Any], query: str) -> None:
    """Bad paging or flag: 400 Request with incorrect parameters."""
    answer = http.get(f"{USERS}?{query}", headers=quiet["headers"])
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_list_never_shows_another_organizations_users(
    http: httpx.Client, quiet: dict[str, Any], other: dict[str, Any]
) -> None:
    """Organization B's list, even with sub-organizations, holds none of quiet's users."""
    answer = http.get(f"{USERS}?includeSubOrgUsers=true&size=1000", headers=other["headers"])
    assert answer.status_code == 200, answer.text
    emails = {user["email"] for user in answer.json()["content"]}
    assert not emails & {quiet[name]["email"] for name in ("ann", "bob", "cid", "dee")}


# --- PLT-USR-02 ---------------------------------------------------------------------------


def test_search_by_name_or_email_ignoring_case(http: httpx.Client, quiet: dict[str, Any]) -> None:
    """A substring of the name or the e-mail, any case, over the whole scope."""
    headers = quiet["headers"]
    answer = http.get(f"{SEARCH}?query=QUIET.Example", headers=headers)
    assert answer.status_code == 200, answer.text
    expected = [summary(quiet[name]) for name in ("ann", "bob", "cid", "dee")]
    assert answer.json() == {"content": expected, "totalElements": 4}
    answer = http.get(f"{SEARCH}?query=sTAFF", headers=headers)
    assert answer.json() == {"content": [summary(quiet["bob"])], "totalElements": 1}
    answer = http.get(f"{SEARCH}?query=nobody-like-that", headers=headers)
    assert answer.json() == {"content": [], "totalElements": 0}


@pytest.mark.parametrize("query", ["%25", "_", "%5C"])
def test_search_wildcards_match_themselves(
    http: httpx.Client, quiet: dict[str, Any], query: str
) -> None:
    """``%``, ``_`` and ``\\`` are plain characters, not patterns."""
    answer = http.get(f"{SEARCH}?query={query}", headers=quiet["headers"])
    assert answer.json() == {"content": [], "totalElements": 0}


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("sortBy=User%20Id", "abcd"),
        ("sortBy=User%20Id&sortOrder=DESC", "dcba"),
        ("sortBy=Name&sortOrder=DESC", "dcba"),
        ("sortBy=Email", "abcd"),
        ("sortBy=Status&sortOrder=DESC", "dabc"),  # Invited after Active; ties by id
        ("sortBy=Role&sortOrder=DESC", "cdba"),
        ("sortBy=Organization%20Name", "cabd"),  # "Quiet Sub" < "Users Quiet Org"
        ("sortBy=Devices%20Count&sortOrder=DESC", "abcd"),
        ("sortBy=Devices%20Count", "bcda"),
        ("sortBy=Country", "adcb"),  # none, none, Austria, Zambia
        ("sortBy=Registered%20At", "abcd"),
        ("sortBy=Phone%20Number", "adcb"),  # none, none, +1, +2
        ("sortOrder=DESC", "dcba"),
    ],
)
def test_search_sorts_by_every_label(
    http: httpx.Client, quiet: dict[str, Any], sort: str, expected: str
) -> None:
    """Each ``sortBy`` label orders the matches, ties by id."""
    names = {"a": "ann", "b": "bob", "c": "cid", "d": "dee"}
    answer = http.get(f"{SEARCH}?query=quiet&{sort}", headers=quiet["headers"])
    assert answer.status_code == 200, answer.text
    assert [u["id"] for u in answer.json()["content"]] == [quiet[names[c]]["id"] for c in expected]


def test_search_pages(http: httpx.Client, quiet: dict[str, Any]) -> None:
    """``page``/``size`` slice the matches; the total counts them all."""
    answer = http.get(f"{SEARCH}?query=quiet&page=1&size=1", headers=quiet["headers"])
    assert answer.json() == {"content": [summary(quiet["bob"])], "totalElements": 4}


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
        "query=a&page=x",
    ],
)
def test_search_refuses_bad_parameters(
    http: httpx.Client, quiet: dict[str, Any], query: str
) -> None:
    """Missing/long query, unknown sort label or order, bad paging: 400."""
    answer = http.get(f"{SEARCH}?{query}", headers=quiet["headers"])
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_search_never_finds_another_organizations_users(
    http: httpx.Client, quiet: dict[str, Any], other: dict[str, Any]
) -> None:
    """Organization B finds none of quiet's users, and quiet none of B's scope."""
    answer = http.get(f"{SEARCH}?query=quiet.example", headers=other["headers"])
    assert answer.json() == {"content": [], "totalElements": 0}


# --- PLT-USR-08 ---------------------------------------------------------------------------


def test_get_user_answers_user_full(
    http: httpx.Client, quiet: dict[str, Any], data_dir: Path
) -> None:
    """A provisioned user: every UserFull field; the e-mail lower-cased, first user is dev."""
    ann = quiet["ann"]
    assert set(ann) == FULL_KEYS
    assert ann == {
        **ann,
        "id": quiet["created"]["users"][0]["id"],
        "name": "Ann Admin",
        "email": "ann@quiet.example",
        "roleId": 1,
        "orgId": quiet["org"],
        "status": "Active",
        "isDev": True,
        "title": None,
        "nickName": None,
        "phoneNumber": None,
        "tz": None,
        "locale": None,
        "lastLoggedAt": 0,
    }
    assert ann["registeredAt"] == ann["lastModifiedTs"] > 0
    assert_stored_password(data_dir, ann["id"], "Ann@Quiet.example", "a1")


def test_get_user_of_a_sub_organization(http: httpx.Client, quiet: dict[str, Any]) -> None:
    """Users below the home organization are in scope."""
    answer = get_user(http, quiet["headers"], quiet["cid"]["id"])
    assert (answer.status_code, answer.json()) == (200, quiet["cid"])


@pytest.mark.parametrize("user_id", [999999, 0, -1])
def test_get_unknown_user(http: httpx.Client, quiet: dict[str, Any], user_id: int) -> None:
    """A missing user: 404 naming the identifier."""
    answer = get_user(http, quiet["headers"], user_id)
    assert (answer.status_code, answer.json()) == (404, user_not_found(user_id))


@pytest.mark.parametrize("query", ["", "userId=", "userId=abc", "userId=1.0", "userId=9" * 12])
def test_get_user_refuses_bad_ids(http: httpx.Client, quiet: dict[str, Any], query: str) -> None:
    """A missing or malformed ``userId``: 400."""
    answer = http.get(f"{USER}?{query}", headers=quiet["headers"])
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_get_user_of_another_organization_is_not_found(
    http: httpx.Client, quiet: dict[str, Any], other: dict[str, Any]
) -> None:
    """Another organization's user is answered exactly like a missing one."""
    ann = quiet["ann"]["id"]
    answer = get_user(http, other["headers"], ann)
    assert (answer.status_code, answer.json()) == (404, user_not_found(ann))


# --- PLT-USR-03 ---------------------------------------------------------------------------


def test_create_user_with_its_own_client_organization(
    http: httpx.Client, busy: dict[str, Any], data_dir: Path
) -> None:
    """204; the user is the active Admin and developer of a new PERSONAL organization.

    The organization goes below the caller's organization, or below its "Clients"
    organization once there is one.
    """
    email = unique_email("Client")
    body = {
        "email": email,
        "passwordHash": password_hash(email, "s3cret"),
        "name": "Jane O'Neil-Smith",
        "title": "Chief Tester",
        "nickName": "jane 2",
        "phoneNumber": "+380 123",
        "organizationName": "Jane's Home 1",
        "timeZone": "Europe/Kyiv",
        "address": {"fullAddress": "Khreshchatyk st.", "city": "Kyiv", "zip": "02000"},
    }
    answer = http.post(CREATE, headers=busy["headers"], json=body)
    assert (answer.status_code, answer.content) == (204, b"")
    user = get_user(http, busy["headers"], find_by_email(http, busy["headers"], email)["id"])
    jane = user.json()
    assert jane == {
        **jane,
        "email": email.lower(),
        "name": "Jane O'Neil-Smith",
        "title": "Chief Tester",
        "nickName": "jane 2",
        "phoneNumber": "+380 123",
        "tz": "Europe/Kyiv",
        "roleId": 1,
        "status": "Active",
        "isDev": True,
    }
    assert_stored_password(data_dir, jane["id"], email, "s3cret")
    org = http.get(f"{BASE}?orgId={jane['orgId']}", headers=busy["headers"]).json()
    assert (org["name"], org["parentOrganizationId"]) == ("Jane's Home 1", busy["org"])

    clients = post_ok(http, f"{BASE}/create", busy["headers"], {"name": "Clients", "type": "ROOT"})
    second = unique_email()
    body = {"email": second, "passwordHash": password_hash(second, "x"), "name": "Kim"}
    assert http.post(CREATE, headers=busy["headers"], json=body).status_code == 204
    kim = find_by_email(http, busy["headers"], second)
    org = http.get(f"{BASE}?orgId={kim['orgId']}", headers=busy["headers"]).json()
    assert (org["name"], org["parentOrganizationId"]) == ("Kim's organization", clients["id"])


def test_create_user_that_exists_changes_nothing(http: httpx.Client, busy: dict[str, Any]) -> None:
    """An address in use (in any case): still 204, and no user or organization is added."""
    email = unique_email()
    body = {"email": email, "passwordHash": password_hash(email, "x"), "name": "First"}
    assert http.post(CREATE, headers=busy["headers"], json=body).status_code == 204
    first = find_by_email(http, busy["headers"], email)
    again = {**body, "email": email.upper(), "name": "Second", "organizationName": "Never Made"}
    answer = http.post(CREATE, headers=busy["headers"], json=again)
    assert (answer.status_code, answer.content) == (204, b"")
    assert find_by_email(http, busy["headers"], email) == first
    answer = http.get(f"{BASE}/search?query=Never%20Made", headers=busy["headers"])
    assert answer.json()["totalElements"] == 0


VALID = {
    "email": "v@busy.example",
    "passwordHash": password_hash("v@busy.example", "p"),
    "name": "V",
}


@pytest.mark.parametrize(
    "change",
    [
        {"email": None},
        {"passwordHash": None},
        {"name": None},
        {"email": "not-an-address"},
        {"email": 5},
        {"email": "a b@c.example"},
        {"passwordHash": "not base64!"},
        {"passwordHash": base64.b64encode(b"x" * 31).decode()},
        {"passwordHash": base64.b64encode(b"x" * 32).decode().rstrip("=")},
        {"passwordHash": hashlib.sha256(b"x").hexdigest()},
        {"name": "R2D2"},
        {"name": "x" * 51},
        {"name": ""},
        {"name": ["V"]},
        {"title": "Boss 1"},
        {"title": "x" * 51},
        {"nickName": "nick!"},
        {"phoneNumber": "380123"},
        {"phoneNumber": "+"},
        {"organizationName": "ab"},
        {"organizationName": "Org <script>"},
        {"timeZone": ""},
        {"timeZone": 3},
        {"address": "Kyiv"},
        {"address": {"city": "x" * 51}},
        {"address": {"zip": "1234567890123"}},
        {"address": {"country": 7}},
    ],
)
def test_create_user_refuses_bad_fields(
    http: httpx.Client, busy: dict[str, Any], change: dict[str, Any]
) -> None:
    """A missing field, a wrong type, a broken length or alphabet: 400, nothing created."""
    body = changed(VALID, change)
    answer = http.post(CREATE, headers=busy["headers"], json=body)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)
    assert count_found(http, busy["headers"], "v@busy.example") == 0


def test_created_client_is_invisible_to_another_organization(
    http: httpx.Client, busy: dict[str, Any], other: dict[str, Any]
) -> None:
    """A user created by one organization cannot be read or found by another."""
    email = unique_email()
    body = {"email": email, "passwordHash": password_hash(email, "x"), "name": "Hidden"}
    assert http.post(CREATE, headers=busy["headers"], json=body).status_code == 204
    hidden = find_by_email(http, busy["headers"], email)
    answer = get_user(http, other["headers"], hidden["id"])
    assert (answer.status_code, answer.json()) == (404, user_not_found(hidden["id"]))
    assert count_found(http, other["headers"], email) == 0


# --- PLT-USR-04 ---------------------------------------------------------------------------


def test_create_user_in_an_organization(
    http: httpx.Client, busy: dict[str, Any], data_dir: Path
) -> None:
    """201 UserFull of an active user of ``orgId``; argon2id of the hash sent is stored."""
    email = unique_email("InOrg")
    body = {
        "email": email,
        "passwordHash": password_hash(email, "pässwörd"),
        "name": "Ola",
        "orgId": busy["sub"],
        "roleId": 2,
        "title": "Ms",
        "nickName": "ola",
        "phoneNumber": "+48 1",
        "tz": "Europe/Warsaw",
        "address": {"country": "Poland"},
    }
    user = post_ok(http, CREATE_IN_ORG, busy["headers"], body)
    assert set(user) == FULL_KEYS
    assert user == {
        **user,
        "email": email.lower(),
        "name": "Ola",
        "orgId": busy["sub"],
        "roleId": 2,
        "title": "Ms",
        "nickName": "ola",
        "phoneNumber": "+48 1",
        "tz": "Europe/Warsaw",
        "locale": None,
        "status": "Active",
        "lastLoggedAt": 0,
    }
    assert_stored_password(data_dir, user["id"], email, "pässwörd")
    assert get_user(http, busy["headers"], user["id"]).json() == user


def test_answers_about_users_never_carry_a_password_hash(
    http: httpx.Client, busy: dict[str, Any], data_dir: Path
) -> None:
    """Create, get, list and search answers hold neither the hash sent nor the one stored."""
    email = unique_email("Secret")
    sent = password_hash(email, "hidden")
    body = {"email": email, "passwordHash": sent, "name": "Secret", "orgId": busy["org"]}
    created = http.post(f"{CREATE_IN_ORG}?roleId=3", headers=busy["headers"], json=body)
    stored = stored_hash(data_dir, created.json()["id"])
    assert stored is not None
    answers = [
        created,
        get_user(http, busy["headers"], created.json()["id"]),
        http.get(USERS, params={"size": 1000}, headers=busy["headers"]),
        http.get(SEARCH, params={"query": email}, headers=busy["headers"]),
    ]
    for answer in answers:
        assert answer.status_code in {200, 201}, answer.text
        assert email.lower() in answer.text
        assert "password" not in answer.text.lower()
        assert sent not in answer.text
        assert stored not in answer.text


def test_create_in_org_takes_ids_from_the_query(http: httpx.Client, busy: dict[str, Any]) -> None:
    """``orgId`` and ``roleId`` missing from the body are read from the query (OP-07)."""
    email = unique_email()
    body = {"email": email, "passwordHash": password_hash(email, "x"), "name": "Query"}
    path = f"{CREATE_IN_ORG}?orgId={busy['sub']}&roleId=3"
    user = post_ok(http, path, busy["headers"], body)
    assert (user["orgId"], user["roleId"]) == (busy["sub"], 3)


def test_create_in_org_refuses_an_address_in_use(http: httpx.Client, busy: dict[str, Any]) -> None:
    """An e-mail already taken, in any case: 400 ``{email} is already in use``."""
    taken = new_user(http, busy)["email"]
    shouted = taken.upper()
    body = {
        "email": shouted,
        "passwordHash": password_hash(shouted, "x"),
        "name": "Copy",
        "orgId": busy["org"],
        "roleId": 3,
    }
    answer = http.post(CREATE_IN_ORG, headers=busy["headers"], json=body)
    assert (answer.status_code, answer.json()) == (400, error(f"{shouted} is already in use"))


@pytest.mark.parametrize(
    ("change", "status", "body"),
    [
        ({"roleId": 0}, 400, INCORRECT),
        ({"roleId": 4}, 400, INCORRECT),
        ({"roleId": "1"}, 400, INCORRECT),
        ({"roleId": None}, 400, INCORRECT),
        ({"orgId": None}, 400, INCORRECT),
        ({"orgId": "1"}, 400, INCORRECT),
        ({"orgId": 1.5}, 400, INCORRECT),
        ({"orgId": 2**31}, 400, INCORRECT),
        ({"orgId": 999999}, 404, ORG_NOT_FOUND),
        ({"name": "No_Underscores"}, 400, INCORRECT),
        ({"passwordHash": "abc"}, 400, INCORRECT),
        ({"tz": ""}, 400, INCORRECT),
    ],
)
def test_create_in_org_refusals(
    http: httpx.Client,
    busy: dict[str, Any],
    change: dict[str, Any],
    status: int,
    body: dict[str, Any],
) -> None:
    """Bad fields are 400; an organization that does not exist is 404."""
    email = unique_email()
    valid = {
        "email": email,
        "passwordHash": password_hash(email, "x"),
        "name": "Refused",
        "orgId": busy["org"],
        "roleId": 3,
    }
    sent = changed(valid, change)
    answer = http.post(CREATE_IN_ORG, headers=busy["headers"], json=sent)
    assert (answer.status_code, answer.json()) == (status, body)
    assert count_found(http, busy["headers"], email) == 0


def test_create_in_another_organization_is_not_found(
    http: httpx.Client, busy: dict[str, Any], other: dict[str, Any]
) -> None:
    """Organization B is answered like a missing organization."""
    email = unique_email()
    body = {
        "email": email,
        "passwordHash": password_hash(email, "x"),
        "name": "Intruder",
        "orgId": other["organization"]["id"],
        "roleId": 1,
    }
    answer = http.post(CREATE_IN_ORG, headers=busy["headers"], json=body)
    assert (answer.status_code, answer.json()) == (404, ORG_NOT_FOUND)


# --- PLT-USR-05 ---------------------------------------------------------------------------


def test_register_stores_a_pending_user_with_a_client_organization(
    http: httpx.Client, busy: dict[str, Any], data_dir: Path
) -> None:
    """204; no e-mail is sent: the user waits as ``Pending``, without a password."""
    email = unique_email("Reg")
    answer = http.post(REGISTER, headers=busy["headers"], json={"email": email, "locale": "uk_UA"})
    assert (answer.status_code, answer.content) == (204, b"")
    found = find_by_email(http, busy["headers"], email)
    user = get_user(http, busy["headers"], found["id"]).json()
    assert user == {
        **user,
        "email": email.lower(),
        "name": email.partition("@")[0],
        "status": "Pending",
        "locale": "uk_UA",
        "roleId": 1,
        "isDev": True,
    }
    assert user["orgId"] not in (busy["org"], busy["sub"])
    assert stored_hash(data_dir, user["id"]) is None


def test_register_an_address_in_use_changes_nothing(
    http: httpx.Client, busy: dict[str, Any]
) -> None:
    """Registering a taken address still answers 204, and the user stays as it was."""
    eve = get_user(http, busy["headers"], busy["eve"]).json()
    answer = http.post(REGISTER, headers=busy["headers"], json={"email": "EVE@busy.example"})
    assert (answer.status_code, answer.content) == (204, b"")
    assert get_user(http, busy["headers"], busy["eve"]).json() == eve


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"locale": "en_US"},
        {"email": "nope"},
        {"email": 1},
        {"email": "ok@busy.example", "locale": "en-us"},
        {"email": "ok@busy.example", "locale": "english"},
    ],
)
def test_register_refuses_bad_fields(
    http: httpx.Client, busy: dict[str, Any], body: dict[str, Any]
) -> None:
    """A missing or malformed e-mail or locale: 400."""
    answer = http.post(REGISTER, headers=busy["headers"], json=body)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_registered_user_is_invisible_to_another_organization(
    http: httpx.Client, busy: dict[str, Any], other: dict[str, Any]
) -> None:
    """Another organization neither finds nor reads a registered user."""
    email = unique_email()
    assert http.post(REGISTER, headers=busy["headers"], json={"email": email}).status_code == 204
    found = find_by_email(http, busy["headers"], email)
    answer = get_user(http, other["headers"], found["id"])
    assert (answer.status_code, answer.json()) == (404, user_not_found(found["id"]))


# --- PLT-USR-06 ---------------------------------------------------------------------------


def test_invite_into_the_home_organization(http: httpx.Client, busy: dict[str, Any]) -> None:
    """201 UserFull with status ``Invited``; ``orgId`` defaults to the caller's organization."""
    email = unique_email("Inv")
    body = {"email": email, "name": "Test User", "roleId": 1, "locale": "en_US"}
    user = post_ok(http, INVITE, busy["headers"], body)
    assert set(user) == FULL_KEYS
    assert user == {
        **user,
        "email": email.lower(),
        "name": "Test User",
        "roleId": 1,
        "orgId": busy["org"],
        "locale": "en_US",
        "status": "Invited",
        "isDev": False,  # Eve was first
    }


def test_invite_into_a_sub_organization(http: httpx.Client, busy: dict[str, Any]) -> None:
    """``orgId`` from the body, or from the query when the body lacks it (OP-07)."""
    body = {"email": unique_email(), "name": "Sub User", "roleId": 2, "orgId": busy["sub"]}
    assert post_ok(http, INVITE, busy["headers"], body)["orgId"] == busy["sub"]
    body = {"email": unique_email(), "name": "Sub User", "roleId": 2}
    assert (
        post_ok(http, f"{INVITE}?orgId={busy['sub']}", busy["headers"], body)["orgId"]
        == (busy["sub"])
    )


@pytest.mark.parametrize(
    ("change", "status", "body"),
    [
        ({"roleId": 4}, 400, ROLE_FORBIDDEN),
        ({"roleId": 0}, 400, ROLE_FORBIDDEN),
        ({"orgId": 999999}, 404, ORG_NOT_FOUND),
        ({"orgId": 999999, "roleId": 4}, 404, ORG_NOT_FOUND),
        ({"roleId": None}, 400, INCORRECT),
        ({"roleId": "1"}, 400, INCORRECT),
        ({"name": None}, 400, INCORRECT),
        ({"name": "Bad <name>"}, 400, INCORRECT),
        ({"email": "broken"}, 400, INCORRECT),
        ({"locale": "EN_us"}, 400, INCORRECT),
        ({"orgId": "x"}, 400, INCORRECT),
    ],
)
def test_invite_refusals(
    http: httpx.Client,
    busy: dict[str, Any],
    change: dict[str, Any],
    status: int,
    body: dict[str, Any],
) -> None:
    """The documented 404 and role error, and 400 for malformed fields; nothing stored."""
    email = unique_email()
    valid = {"email": email, "name": "Refused", "roleId": 3}
    sent = changed(valid, change)
    answer = http.post(INVITE, headers=busy["headers"], json=sent)
    assert (answer.status_code, answer.json()) == (status, body)
    assert count_found(http, busy["headers"], email) == 0


def test_invite_refuses_an_address_in_use(http: httpx.Client, busy: dict[str, Any]) -> None:
    """``{email} is already in use``, with the address as sent."""
    body = {"email": "Eve@Busy.example", "name": "Eve Again", "roleId": 3}
    answer = http.post(INVITE, headers=busy["headers"], json=body)
    assert (answer.status_code, answer.json()) == (
        400,
        error("Eve@Busy.example is already in use"),
    )


def test_invite_into_another_organization_is_not_found(
    http: httpx.Client, busy: dict[str, Any], other: dict[str, Any]
) -> None:
    """Organization B is answered like a missing organization."""
    body = {"email": unique_email(), "name": "Intruder", "roleId": 3}
    body["orgId"] = other["organization"]["id"]
    answer = http.post(INVITE, headers=busy["headers"], json=body)
    assert (answer.status_code, answer.json()) == (404, ORG_NOT_FOUND)


# --- PLT-USR-07 ---------------------------------------------------------------------------


def test_transfer_moves_a_user_with_a_new_role(http: httpx.Client, busy: dict[str, Any]) -> None:
    """201 UserFull in the target organization with the new role."""
    user = new_user(http, busy, role=3)
    body = {"userId": user["id"], "targetOrgId": busy["sub"], "roleId": 2}
    moved = post_ok(http, TRANSFER, busy["headers"], body)
    assert moved == {
        **user,
        "orgId": busy["sub"],
        "roleId": 2,
        "lastModifiedTs": moved["lastModifiedTs"],
    }
    assert moved["lastModifiedTs"] >= user["lastModifiedTs"]
    assert get_user(http, busy["headers"], user["id"]).json() == moved


def test_transfer_takes_ids_from_the_query(http: httpx.Client, busy: dict[str, Any]) -> None:
    """Identifiers missing from the body are read from the query (OP-07)."""
    user = new_user(http, busy, org="sub")
    path = f"{TRANSFER}?userId={user['id']}&targetOrgId={busy['org']}&roleId=1"
    moved = post_ok(http, path, busy["headers"], {})
    assert (moved["orgId"], moved["roleId"]) == (busy["org"], 1)


@pytest.mark.parametrize(
    ("change", "status", "body"),
    [
        ({"targetOrgId": 999999}, 404, TARGET_NOT_FOUND),
        ({"targetOrgId": 999999, "roleId": 9, "userId": 999999}, 404, TARGET_NOT_FOUND),
        ({"roleId": 9}, 400, INCORRECT),
        ({"roleId": 9, "userId": 999999}, 400, INCORRECT),
        ({"userId": 999999}, 400, error("User with identifier 999999 is not found.")),
        ({"userId": None}, 400, INCORRECT),
        ({"targetOrgId": None}, 400, INCORRECT),
        ({"roleId": None}, 400, INCORRECT),
        ({"userId": "1"}, 400, INCORRECT),
        ({"targetOrgId": True}, 400, INCORRECT),
    ],
)
def test_transfer_refusals(
    http: httpx.Client,
    busy: dict[str, Any],
    change: dict[str, Any],
    status: int,
    body: dict[str, Any],
) -> None:
    """Target organization first (404), then role (400), then user (400); the user stays."""
    user = new_user(http, busy)
    valid = {"userId": user["id"], "targetOrgId": busy["sub"], "roleId": 2}
    sent = changed(valid, change)
    answer = http.post(TRANSFER, headers=busy["headers"], json=sent)
    assert (answer.status_code, answer.json()) == (status, body)
    assert get_user(http, busy["headers"], user["id"]).json() == user


def test_transfer_across_organizations_is_refused(
    http: httpx.Client, busy: dict[str, Any], other: dict[str, Any]
) -> None:
    """Neither into organization B nor, for B, out of busy: each side sees nothing of the other."""
    user = new_user(http, busy)
    into_b = {"userId": user["id"], "targetOrgId": other["organization"]["id"], "roleId": 3}
    answer = http.post(TRANSFER, headers=busy["headers"], json=into_b)
    assert (answer.status_code, answer.json()) == (404, TARGET_NOT_FOUND)
    answer = http.post(TRANSFER, headers=other["headers"], json=into_b)
    expected = error(f"User with identifier {user['id']} is not found.")
    assert (answer.status_code, answer.json()) == (400, expected)
    assert get_user(http, busy["headers"], user["id"]).json() == user


# --- PLT-USR-09 ---------------------------------------------------------------------------


def test_update_role(http: httpx.Client, busy: dict[str, Any]) -> None:
    """200 UserFull with the new role; nothing else but ``lastModifiedTs`` changes."""
    user = new_user(http, busy, role=3)
    answer = http.put(f"{ROLE}?userId={user['id']}&roleId=1", headers=busy["headers"])
    assert answer.status_code == 200, answer.text
    changed = answer.json()
    assert changed == {**user, "roleId": 1, "lastModifiedTs": changed["lastModifiedTs"]}
    assert get_user(http, busy["headers"], user["id"]).json() == changed


@pytest.mark.parametrize(
    ("role", "status", "body"),
    [
        ("0", 404, ROLE_NOT_FOUND),
        ("4", 404, ROLE_NOT_FOUND),
        ("-3", 404, ROLE_NOT_FOUND),
        ("x", 400, INCORRECT),
        ("1.0", 400, INCORRECT),
        ("", 400, INCORRECT),
    ],
)
def test_update_role_refusals(
    http: httpx.Client, busy: dict[str, Any], role: str, status: int, body: dict[str, Any]
) -> None:
    """An unknown role is 404 ``Role is not found.``; a malformed one 400; the user stays."""
    user = new_user(http, busy)
    answer = http.put(f"{ROLE}?userId={user['id']}&roleId={role}", headers=busy["headers"])
    assert (answer.status_code, answer.json()) == (status, body)
    assert get_user(http, busy["headers"], user["id"]).json() == user


def test_update_role_checks_the_user_first(http: httpx.Client, busy: dict[str, Any]) -> None:
    """A missing user is reported even when the role is unknown too; no ``userId`` is 400."""
    answer = http.put(f"{ROLE}?userId=999999&roleId=9", headers=busy["headers"])
    assert (answer.status_code, answer.json()) == (404, user_not_found(999999))
    answer = http.put(f"{ROLE}?roleId=1", headers=busy["headers"])
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


def test_update_role_of_another_organizations_user_is_not_found(
    http: httpx.Client, busy: dict[str, Any], other: dict[str, Any]
) -> None:
    """Organization B cannot change busy's user, which keeps its role."""
    user = new_user(http, busy)
    answer = http.put(f"{ROLE}?userId={user['id']}&roleId=1", headers=other["headers"])
    assert (answer.status_code, answer.json()) == (404, user_not_found(user["id"]))
    assert get_user(http, busy["headers"], user["id"]).json() == user
