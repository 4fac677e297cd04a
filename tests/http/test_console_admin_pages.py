"""The console's Organizations, Users and Developer pages over the in-process application
(issue #9 item 3): permissions per role, organization scope, CSRF, and the rules they share with
the Platform API."""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from console_site import ADMIN, OTHER, STAFF, USER, acme_and_other, sign_in

from inprocess import InProcessServer
from pinbase.domain.ids import OrgId
from pinbase.storage.users import StoredUser

PAGES = ("/dashboard/organizations", "/dashboard/users", "/dashboard/developer")
LINK = re.compile(r'id="invitation-link" value="([^"]+)"')
SECRET = re.compile(r'id="client-secret" value="([^"]+)"')
CLIENT_ID = re.compile(r'id="client-id" value="([^"]+)"')


@pytest.fixture
def site(tmp_path: Path) -> Iterator[InProcessServer]:
    """Acme (Admin, Staff, User, devices) and Other Corp, on a fresh application."""
    with acme_and_other(tmp_path) as server:
        yield server


@pytest.fixture
def http(site: InProcessServer) -> Iterator[httpx.Client]:
    """A fresh client (an empty cookie jar) for the site."""
    with site.client() as client:
        yield client


def user(server: InProcessServer, email: str) -> StoredUser | None:
    """The stored user with ``email``, or None."""

    async def find() -> StoredUser | None:
        async with server.services.store.transaction() as tx:
            return await tx.find_user_by_email(email)

    return server.run(find)


def known(server: InProcessServer, email: str) -> StoredUser:
    """The stored user with ``email``, which must exist."""
    found = user(server, email)
    assert found is not None
    return found


def staff_org(server: InProcessServer) -> OrgId:
    """Acme's organization."""
    return known(server, STAFF).org_id


def names_below(server: InProcessServer, org_id: OrgId) -> dict[str, OrgId]:
    """The organizations of ``org_id``'s subtree, by name."""
    directory = server.services.directory
    return {o.name: o.id for o in directory.organizations_in(directory.subtree(org_id))}


def admin_actions(site: InProcessServer) -> list[tuple[str, dict[str, str]]]:
    """One state-changing request of each page, aimed at Acme's things."""
    staff = known(site, STAFF)
    acme_org = staff.org_id
    return [
        ("/dashboard/users", {"name": "Eve", "email": "eve@acme.test", "role": "1"}),
        (f"/dashboard/users/{staff.id}/role", {"role": "1"}),
        (f"/dashboard/users/{staff.id}/invitation", {}),
        (f"/dashboard/users/{staff.id}/delete", {}),
        ("/dashboard/organizations", {"name": "Sneaky Branch", "parent": str(acme_org)}),
        (f"/dashboard/organizations/{acme_org}/delete", {}),
        ("/dashboard/developer/clients", {"name": "Sneaky client"}),
    ]


@pytest.mark.parametrize("email", [STAFF, USER])
def test_staff_and_user_roles_find_no_admin_page(
    site: InProcessServer, http: httpx.Client, email: str
) -> None:
    """Staff and User see none of the three sections in the menu, get 404 for each page, and
    each change they post with a valid CSRF token is a 404 that changes nothing."""
    csrf = sign_in(http, email)
    menu = http.get("/dashboard").text
    for path in PAGES:
        assert f'href="{path}"' not in menu
        assert http.get(path).status_code == 404
    for path, form in admin_actions(site):
        assert http.post(path, data={**form, "csrf_token": csrf}).status_code == 404, path
    assert user(site, "eve@acme.test") is None
    assert known(site, STAFF).role_id == 2
    assert "Sneaky Branch" not in names_below(site, staff_org(site))


def test_changes_without_the_csrf_token_are_refused(
    site: InProcessServer, http: httpx.Client
) -> None:
    """An Admin's change without the session's CSRF token, or with another one, is a 403 and
    changes nothing."""
    sign_in(http, ADMIN)
    for path, form in admin_actions(site):
        assert http.post(path, data=form).status_code == 403, path
        forged = {**form, "csrf_token": "forged"}
        assert http.post(path, data=forged).status_code == 403, path
    assert user(site, "eve@acme.test") is None
    assert known(site, STAFF).role_id == 2


def test_invited_user_gets_a_link_that_sets_its_password(
    site: InProcessServer, http: httpx.Client
) -> None:
    """Inviting shows the Admin an absolute invitation link; the link sets the password, and
    the invited user then signs in with it."""
    csrf = sign_in(http, ADMIN)
    form = {"name": "Ivy Invitee", "email": "ivy@acme.test", "role": "2", "csrf_token": csrf}
    answer = http.post("/dashboard/users", data=form)
    assert answer.status_code == 200
    found = LINK.search(answer.text)
    assert found is not None
    link = found.group(1)
    assert link.startswith("http://pinbase.test/dashboard/invite/")
    invited = known(site, "ivy@acme.test")
    assert (invited.status, invited.role_id, invited.org_id) == (
        "Invited",
        2,
        known(site, ADMIN).org_id,
    )
    listed = http.get("/dashboard/users").text
    assert "ivy@acme.test" in listed
    assert link not in listed  # shown once
    with site.client() as newcomer:
        path = link.removeprefix("http://pinbase.test")
        done = newcomer.post(
            path, data={"password": "ivy password", "confirmation": "ivy password"}
        )
        assert done.status_code == 303
    with site.client() as again:
        sign_in(again, "ivy@acme.test", "ivy password")


def test_a_new_invitation_link_replaces_the_last(site: InProcessServer, http: httpx.Client) -> None:
    """ "New invitation link" for an invited user shows a fresh link; the first one is dead."""
    csrf = sign_in(http, ADMIN)
    form = {"name": "Ivy Invitee", "email": "ivy@acme.test", "role": "3", "csrf_token": csrf}
    first = LINK.search(http.post("/dashboard/users", data=form).text)
    assert first is not None
    ivy = known(site, "ivy@acme.test")
    answer = http.post(f"/dashboard/users/{ivy.id}/invitation", data={"csrf_token": csrf})
    second = LINK.search(answer.text)
    assert second is not None
    assert second.group(1) != first.group(1)
    assert http.get(first.group(1).removeprefix("http://pinbase.test")).status_code == 404
    assert http.get(second.group(1).removeprefix("http://pinbase.test")).status_code == 200


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "Eve 2", "email": "eve@acme.test", "role": "3"}, "The name takes"),
        ({"name": "Eve", "email": "not an address", "role": "3"}, "not an e-mail"),
        ({"name": "Eve", "email": "eve@acme.test", "role": "4"}, "Choose Admin"),
        ({"name": "Eve", "email": "eve@acme.test", "role": "x"}, "Choose Admin"),
        ({"name": "Eve", "email": STAFF.upper(), "role": "3"}, "exists already"),
        ({"name": "Eve", "email": "eve@acme.test", "role": "3", "organization": "1x"}, "no longer"),
        (
            {"name": "Eve", "email": "eve@acme.test", "role": "3", "organization": "9" * 30},
            "no longer",
        ),
    ],
)
def test_invitation_form_applies_the_platform_api_rules(
    site: InProcessServer, http: httpx.Client, form: dict[str, str], message: str
) -> None:
    """PLT-USR-06's field rules, roles and unique address: a 400 page naming the problem,
    with what was typed kept, and nobody invited."""
    csrf = sign_in(http, ADMIN)
    answer = http.post("/dashboard/users", data={**form, "csrf_token": csrf})
    assert answer.status_code == 400
    assert message in answer.text
    assert user(site, "eve@acme.test") is None


def test_inviting_into_another_organization_is_refused(
    site: InProcessServer, http: httpx.Client
) -> None:
    """Other Corp's organization id is outside Acme's scope: answered like a missing one."""
    other_org = known(site, OTHER).org_id
    csrf = sign_in(http, ADMIN)
    form = {"name": "Eve", "email": "eve@acme.test", "role": "3", "organization": str(other_org)}
    answer = http.post("/dashboard/users", data={**form, "csrf_token": csrf})
    assert answer.status_code == 400
    assert user(site, "eve@acme.test") is None


def test_role_change_and_deletion_end_where_the_rules_say(
    site: InProcessServer, http: httpx.Client
) -> None:
    """An Admin changes the Staff's role (the next request of the Staff has the new menu),
    deletes the User (its session ends, its device loses its owner), and may do neither to
    itself."""
    csrf = sign_in(http, ADMIN)
    with site.client() as staff_http, site.client() as user_http:
        sign_in(staff_http, STAFF)
        sign_in(user_http, USER)
        staff, uma, admin = known(site, STAFF), known(site, USER), known(site, ADMIN)
        unknown_role = {"role": "9", "csrf_token": csrf}
        assert http.post(f"/dashboard/users/{staff.id}/role", data=unknown_role).status_code == 400
        changed = http.post(
            f"/dashboard/users/{staff.id}/role", data={"role": "1", "csrf_token": csrf}
        )
        assert changed.status_code == 303
        assert "The role was changed." in http.get(changed.headers["location"]).text
        assert 'href="/dashboard/users"' in staff_http.get("/dashboard").text
        deleted = http.post(f"/dashboard/users/{uma.id}/delete", data={"csrf_token": csrf})
        assert deleted.status_code == 303
        assert user(site, USER) is None
        assert user_http.get("/dashboard").status_code == 303  # back to the sign-in page
        owners = {b.device.owner_user_id for b in site.services.directory.devices_in({uma.org_id})}
        assert uma.id not in owners
    for path, form in [
        (f"/dashboard/users/{admin.id}/role", {"role": "3"}),
        (f"/dashboard/users/{admin.id}/delete", {}),
    ]:
        answer = http.post(path, data={**form, "csrf_token": csrf})
        assert answer.status_code == 400
        assert "your own role" in answer.text
    assert known(site, ADMIN).role_id == 1


def test_other_organization_sees_and_touches_none_of_acme(
    site: InProcessServer, http: httpx.Client
) -> None:
    """Other Corp's Admin lists none of Acme's users, organizations or clients, and its changes
    aimed at them are 404s (huge ids too) that change nothing."""
    with site.client() as acme:
        acme_csrf = sign_in(acme, ADMIN)
        created = acme.post(
            "/dashboard/developer/clients", data={"name": "Acme robot", "csrf_token": acme_csrf}
        )
        client_id = CLIENT_ID.search(created.text)
        assert client_id is not None
    csrf = sign_in(http, OTHER)
    staff = known(site, STAFF)
    users_page = http.get("/dashboard/users").text
    assert OTHER in users_page
    assert "acme.test" not in users_page
    assert "Acme" not in http.get("/dashboard/organizations").text
    assert "Acme robot" not in http.get("/dashboard/developer").text
    for path in (
        f"/dashboard/users/{staff.id}/role",
        f"/dashboard/users/{staff.id}/delete",
        f"/dashboard/users/{staff.id}/invitation",
        f"/dashboard/users/{2**40}/delete",
        f"/dashboard/organizations/{staff.org_id}/delete",
        f"/dashboard/organizations/{2**40}/delete",
        f"/dashboard/developer/clients/{client_id.group(1)}/delete",
    ):
        answer = http.post(path, data={"role": "3", "csrf_token": csrf})
        assert answer.status_code == 404, path
    assert known(site, STAFF).role_id == 2
    with site.client() as acme:
        sign_in(acme, ADMIN)
        assert "Acme robot" in acme.get("/dashboard/developer").text


def test_sub_organizations_are_created_and_deleted_when_empty(
    site: InProcessServer, http: httpx.Client
) -> None:
    """A sub-organization is created below Acme and below that one; the tree shows both with
    counts; a non-empty one and Acme itself cannot be deleted; an empty one can."""
    csrf = sign_in(http, ADMIN)
    acme_org = known(site, ADMIN).org_id
    form = {"name": "North Branch", "description": "Farms up north", "parent": str(acme_org)}
    answer = http.post("/dashboard/organizations", data={**form, "csrf_token": csrf})
    assert answer.status_code == 303
    page = http.get(answer.headers["location"]).text
    assert "The organization was created." in page
    assert "North Branch" in page
    assert "Farms up north" in page
    north = names_below(site, acme_org)["North Branch"]
    form = {"name": "Fjord Farm", "description": "", "parent": str(north), "csrf_token": csrf}
    assert http.post("/dashboard/organizations", data=form).status_code == 303
    page = http.get("/dashboard/organizations").text
    assert page.index("North Branch") < page.index("Fjord Farm")
    assert f"/dashboard/organizations/{north}/delete" not in page  # has a child
    assert f"/dashboard/organizations/{acme_org}/delete" not in page
    for org_id in (north, acme_org):
        refused = http.post(f"/dashboard/organizations/{org_id}/delete", data={"csrf_token": csrf})
        assert refused.status_code == 400
        assert "Only an empty sub-organization" in refused.text
    fjord = names_below(site, acme_org)["Fjord Farm"]
    deleted = http.post(f"/dashboard/organizations/{fjord}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 303
    assert "Fjord Farm" not in http.get("/dashboard/organizations").text


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "ab"}, "3 to 100"),
        ({"name": "Bad/Name"}, "3 to 100"),
        ({"name": "Fine Name", "description": "a < b"}, "description takes"),
        ({"name": "Fine Name", "description": "x" * 1001}, "description takes"),
        ({"name": "Fine Name", "parent": "-1"}, "no longer exists"),
        ({"name": "Fine Name", "parent": "99999999999999"}, "no longer exists"),
    ],
)
def test_organization_form_applies_the_platform_api_rules(
    site: InProcessServer, http: httpx.Client, form: dict[str, str], message: str
) -> None:
    """PLT-ORG-04's field rules and the parent's scope: a 400 page naming the problem."""
    csrf = sign_in(http, ADMIN)
    answer = http.post("/dashboard/organizations", data={**form, "csrf_token": csrf})
    assert answer.status_code == 400
    assert message in answer.text


def test_oauth_client_secret_is_shown_once_and_revoking_refuses_its_tokens(
    site: InProcessServer, http: httpx.Client
) -> None:
    """Creating a client shows its secret once; the secret gets a token that calls the
    Platform API; the page then shows the secret masked; revoking makes the token a 401."""
    csrf = sign_in(http, ADMIN)
    created = http.post("/dashboard/developer/clients", data={"name": "Robot", "csrf_token": csrf})
    assert created.status_code == 201
    secret, client_id = SECRET.search(created.text), CLIENT_ID.search(created.text)
    assert secret is not None
    assert client_id is not None
    listed = http.get("/dashboard/developer").text
    assert client_id.group(1) in listed
    assert secret.group(1) not in listed
    token = http.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id.group(1), secret.group(1)),
    )
    assert token.status_code == 200
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    profile = http.get("/api/v1/organization/profile", headers=bearer)
    assert profile.status_code == 200
    assert profile.json()["name"] == "Acme"
    revoked = http.post(
        f"/dashboard/developer/clients/{client_id.group(1)}/delete", data={"csrf_token": csrf}
    )
    assert revoked.status_code == 303
    assert "Robot" not in http.get("/dashboard/developer").text
    assert http.get("/api/v1/organization/profile", headers=bearer).status_code == 401


@pytest.mark.parametrize("name", ["", " ", "x" * 65, "tab\there"])
def test_oauth_client_names_are_checked(http: httpx.Client, name: str) -> None:
    """An empty, too long or unprintable name is a 400 page; nothing is created."""
    csrf = sign_in(http, ADMIN)
    answer = http.post("/dashboard/developer/clients", data={"name": name, "csrf_token": csrf})
    assert answer.status_code == 400
    assert "client-secret" not in answer.text
