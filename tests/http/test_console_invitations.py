"""Invitation links: an invited user sets its password without mail and is signed in (issue #9
item 2; console.md §1.2)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from console_site import (
    ADMIN,
    OTHER,
    PASSWORD,
    USER,
    acme_and_other,
    sign_in,
)

from inprocess import InProcessServer
from pinbase.domain.ids import OrgId
from pinbase.domain.users import ACTIVE, INVITED
from pinbase.services.console_caller import ConsoleCaller, permissions_of
from pinbase.services.invitations import Invitation, InviteeNotFound
from pinbase.services.oauth import Caller
from pinbase.services.users import Users
from pinbase.storage.users import StoredUser

NEWCOMER = "newcomer@acme.test"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[InProcessServer]:
    """Acme and Other Corp, with a user invited to Acme through the Platform API's use case."""
    with acme_and_other(tmp_path) as server:
        admin = user(server, ADMIN)
        org = OrgId(admin.org_id)
        caller = Caller(client_id="test", org_id=org, scope=frozenset({org}))
        s = server.services
        users = Users(s.store, s.directory, s.bus, s.clock)
        server.run(
            lambda: users.invite(
                caller, org_id=None, role_id=3, email=NEWCOMER, name="Nia New", locale=None
            )
        )
        yield server


def user(server: InProcessServer, email: str) -> StoredUser:
    """The stored user with ``email``."""

    async def find() -> StoredUser:
        async with server.services.store.transaction() as tx:
            found = await tx.find_user_by_email(email)
        assert found is not None
        return found

    return server.run(find)


def console_caller(server: InProcessServer, email: str) -> ConsoleCaller:
    """The console caller the user with ``email`` signs in as."""
    found = user(server, email)
    return ConsoleCaller(
        user_id=found.id,
        email=found.email,
        name=found.name,
        role_id=found.role_id,
        org_id=found.org_id,
        scope=server.services.directory.subtree(found.org_id),
        permissions=permissions_of(found.role_id),
    )


def link_for(server: InProcessServer, email: str, *, by: str = ADMIN) -> Invitation:
    """A fresh invitation link for ``email``, made by ``by``."""
    caller = console_caller(server, by)
    user_id = user(server, email).id
    return server.run(lambda: server.services.invitations.invitation_link(caller, user_id))


def test_invited_user_sets_a_password_and_is_signed_in(site: InProcessServer) -> None:
    """The link's page names the user; a confirmed password of 8+ characters signs it in, makes
    it Active with a last login, and the link is used up. The password then signs in."""
    invitation = link_for(site, NEWCOMER)
    path = f"/dashboard/invite/{invitation.token}"
    assert user(site, NEWCOMER).status == INVITED
    with site.client() as http:
        page = http.get(path)
        assert page.status_code == 200
        assert NEWCOMER in page.text
        assert page.headers["referrer-policy"] == "same-origin"
        answer = http.post(
            path, data={"password": "s3cret-enough", "confirmation": "s3cret-enough"}
        )
        assert answer.status_code == 303
        assert answer.headers["set-cookie"].startswith("pinbase_session=")
        assert http.get("/dashboard").status_code == 200
        assert http.get(path).status_code == 404
    stored = user(site, NEWCOMER)
    assert stored.status == ACTIVE
    assert stored.last_logged_at > 0
    with site.client() as http:
        sign_in(http, NEWCOMER, "s3cret-enough")


def test_short_or_unconfirmed_passwords_are_refused(site: InProcessServer) -> None:
    """Fewer than 8 characters, or a confirmation that differs, re-show the form with a reason
    and leave the link valid."""
    path = f"/dashboard/invite/{link_for(site, NEWCOMER).token}"
    with site.client() as http:
        short = http.post(path, data={"password": "short", "confirmation": "short"})
        assert short.status_code == 400
        assert "8 to 1024 characters" in short.text
        differ = http.post(path, data={"password": "long enough", "confirmation": "long enougH"})
        assert differ.status_code == 400
        assert "do not match" in differ.text
        assert http.get(path).status_code == 200
        assert "set-cookie" not in differ.headers


def test_unknown_links_answer_404(site: InProcessServer) -> None:
    """A made-up token, with or without a password posted, answers the console's 404 page."""
    with site.client() as http:
        assert http.get("/dashboard/invite/made-up").status_code == 404
        posted = http.post("/dashboard/invite/made-up", data={"password": "x", "confirmation": "y"})
        assert posted.status_code == 404
        assert http.get("/dashboard/invite/%00").status_code == 404


def test_a_new_link_replaces_the_last(site: InProcessServer) -> None:
    """Only the newest link of a user works."""
    old = link_for(site, NEWCOMER)
    new = link_for(site, NEWCOMER)
    with site.client() as http:
        assert http.get(f"/dashboard/invite/{old.token}").status_code == 404
        assert http.get(f"/dashboard/invite/{new.token}").status_code == 200


def test_only_admins_in_scope_make_links(site: InProcessServer) -> None:
    """A User-role caller, and an Admin of another organization, get ``InviteeNotFound``."""
    for by in (USER, OTHER):
        with pytest.raises(InviteeNotFound):
            link_for(site, NEWCOMER, by=by)


def test_resetting_a_password_ends_the_users_other_sessions(site: InProcessServer) -> None:
    """A link used on an Active user's account (a lost password) ends its open sessions."""
    with site.client() as before:
        sign_in(before, USER)
        invitation = link_for(site, USER)
        with site.client() as http:
            path = f"/dashboard/invite/{invitation.token}"
            new = {"password": "brand new one", "confirmation": "brand new one"}
            assert http.post(path, data=new).status_code == 303
        assert before.get("/dashboard").status_code == 303
    with site.client() as http:
        answer = http.post("/dashboard/login", data={"email": USER, "password": PASSWORD})
        assert answer.status_code == 401


def test_invite_form_works_in_a_signed_in_browser(site: InProcessServer) -> None:
    """Opening a link in a browser signed in as someone else needs no CSRF token and replaces
    that session with the invitee's."""
    path = f"/dashboard/invite/{link_for(site, NEWCOMER).token}"
    with site.client() as http:
        sign_in(http, ADMIN)
        answer = http.post(
            path, data={"password": "s3cret-enough", "confirmation": "s3cret-enough"}
        )
        assert answer.status_code == 303
        page = http.get("/dashboard")
        assert NEWCOMER in page.text
