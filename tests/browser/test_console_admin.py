"""The console's Organizations, Users and Developer pages in headless Chromium against a real
``pinbase serve`` (issue #9 items 2 and 3): inviting a user and handing over the link shown,
changing a role, deleting a user, creating a sub-organization, an OAuth client used and revoked,
and what Staff, User and another organization see; screenshots at 1280 and 375 px."""

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from pinbase.testing import ServerProcess, provision

SCREENSHOTS = Path(tempfile.gettempdir()) / "pinbase-screenshots"
PASSWORD = "correct horse battery"
ADMIN = "admin@acme.test"
STAFF = "staff@acme.test"
USER = "user@acme.test"
PROMOTED = "rita@acme.test"
LEAVER = "lee@acme.test"
OTHER = "admin@other.test"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
ADMIN_PAGES = ("/dashboard/organizations", "/dashboard/users", "/dashboard/developer")


def member(email: str, name: str, role: int) -> dict[str, Any]:
    """A provisioned user with the common password."""
    return {"email": email, "name": name, "roleId": role, "password": PASSWORD}


ACME: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [
        member(ADMIN, "Ada Admin", 1),
        member(STAFF, "Sam Staff", 2),
        member(USER, "Uma User", 3),
        member(PROMOTED, "Rita Riser", 3),
        member(LEAVER, "Lee Leaver", 3),
    ],
    "templates": [{"name": "Greenhouse", "datastreams": []}],
    "devices": [{"name": "Lee's Sensor", "template": "Greenhouse", "owner": LEAVER}],
}
OTHER_CORP: dict[str, Any] = {
    "organization": {"name": "Other Corp"},
    "users": [member(OTHER, "Olga Other", 1)],
    "templates": [],
    "devices": [],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Acme and Other Corp provisioned, then ``pinbase serve`` started on them."""
    data = tmp_path_factory.mktemp("console-admin")
    provision(ACME, data_dir=data)
    provision(OTHER_CORP, data_dir=data)
    with ServerProcess(data) as started:
        yield started


@pytest.fixture
def browsing(browser: Browser, server: ServerProcess) -> Iterator[BrowserContext]:
    """A fresh desktop browser (no cookies) that may use the clipboard, for the site."""
    context = browser.new_context(
        base_url=server.base_url,
        viewport=DESKTOP,
        permissions=["clipboard-read", "clipboard-write"],
    )
    yield context
    context.close()


def signed_in(context: BrowserContext, email: str, password: str = PASSWORD) -> Page:
    """A new page of ``context`` signed in as ``email`` through the sign-in form."""
    page = context.new_page()
    page.goto("/dashboard/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log In").click()
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    return page


def open_section(page: Page, label: str) -> None:
    """Follow a link of the main menu, as a person does."""
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name=label).click()
    expect(page.get_by_role("heading", name=label, exact=True)).to_be_visible()


def shoot(page: Page, name: str) -> None:
    """Keep what the page looks like now at 1280 and 375 px, outside the repository."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for width, size in (("1280", DESKTOP), ("375", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=SCREENSHOTS / f"console-{name}-{width}.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def accept_dialogs(page: Page) -> None:
    """Answer OK to the page's confirmation questions ("Delete …?")."""
    page.on("dialog", lambda dialog: dialog.accept())


def test_invited_user_sets_a_password_through_the_copied_link(
    browser: Browser, browsing: BrowserContext, server: ServerProcess
) -> None:
    """The Admin invites a user, copies the link the page shows; the link opened in another
    browser sets a password and signs the user in; the password then signs in again."""
    page = signed_in(browsing, ADMIN)
    open_section(page, "Users")
    page.get_by_label("Name").fill("Ivy Invitee")
    page.get_by_label("Email").fill("ivy@acme.test")
    page.get_by_label("Role", exact=True).select_option("Staff")
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_role("heading", name="Invitation link for Ivy Invitee")).to_be_visible()
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_text("Invitation link copied.")).to_be_visible()
    link = page.evaluate("navigator.clipboard.readText()")
    assert link.startswith(f"{server.base_url}/dashboard/invite/")
    expect(page.get_by_label("Invitation link", exact=True)).to_have_value(link)
    row = page.get_by_role("row").filter(has_text="ivy@acme.test")
    expect(row).to_contain_text("Invited")
    expect(row).to_contain_text("Never")
    shoot(page, "users-invited")

    invitee = browser.new_context(viewport=PHONE)
    try:
        fresh = invitee.new_page()
        fresh.goto(link)
        expect(fresh.get_by_text("ivy@acme.test")).to_be_visible()
        fresh.get_by_label("Password", exact=True).fill("ivy's own password")
        fresh.get_by_label("Confirm password").fill("ivy's own password")
        fresh.get_by_role("button", name="Set password").click()
        expect(fresh.get_by_role("heading", name="Devices")).to_be_visible()
        expect(fresh.get_by_text("Ivy Invitee")).to_be_visible()
        fresh.get_by_role("button", name="Sign out").click()
        fresh.get_by_label("Email").fill("ivy@acme.test")
        fresh.get_by_label("Password").fill("ivy's own password")
        fresh.get_by_role("button", name="Log In").click()
        expect(fresh.get_by_role("heading", name="Devices")).to_be_visible()
    finally:
        invitee.close()
    page.reload()
    expect(page.get_by_role("row").filter(has_text="ivy@acme.test")).to_contain_text("Active")


def test_a_changed_role_changes_the_users_menu(
    browser: Browser, browsing: BrowserContext, server: ServerProcess
) -> None:
    """Rita (User) has no Users section; the Admin makes her Admin; her next page has it."""
    rita_context = browser.new_context(base_url=server.base_url, viewport=DESKTOP)
    try:
        rita = signed_in(rita_context, PROMOTED)
        menu = rita.get_by_role("navigation", name="Main menu")
        expect(menu.get_by_role("link", name="Users")).to_have_count(0)
        admin = signed_in(browsing, ADMIN)
        open_section(admin, "Users")
        admin.get_by_label("Role of Rita Riser", exact=True).select_option("Admin")
        admin.get_by_role("button", name="Change role of Rita Riser").click()
        expect(admin.get_by_role("status")).to_have_text("The role was changed.")
        rita.reload()
        expect(menu.get_by_role("link", name="Users")).to_be_visible()
        expect(menu.get_by_role("link", name="Developer")).to_be_visible()
    finally:
        rita_context.close()


def test_a_deleted_users_session_ends(
    browser: Browser, browsing: BrowserContext, server: ServerProcess
) -> None:
    """Lee is signed in; the Admin deletes Lee (confirming); Lee's next page is the sign-in
    page, and Lee's device has no owner any more."""
    lee_context = browser.new_context(base_url=server.base_url, viewport=DESKTOP)
    try:
        lee = signed_in(lee_context, LEAVER)
        expect(lee.get_by_role("link", name="Lee's Sensor")).to_be_visible()
        admin = signed_in(browsing, ADMIN)
        open_section(admin, "Users")
        accept_dialogs(admin)
        admin.get_by_role("button", name="Delete Lee Leaver").click()
        expect(admin.get_by_role("status")).to_contain_text("The user was deleted")
        expect(admin.get_by_text(LEAVER)).to_have_count(0)
        lee.reload()
        expect(lee.get_by_role("button", name="Log In")).to_be_visible()
        open_section(admin, "Devices")
        row = admin.get_by_role("row").filter(has_text="Lee's Sensor")
        expect(row).to_contain_text("None")
    finally:
        lee_context.close()


def test_admin_creates_and_deletes_a_sub_organization(browsing: BrowserContext) -> None:
    """A new sub-organization shows in the tree below Acme with its counts; an empty one is
    deleted after confirming; Acme itself has no Delete button."""
    page = signed_in(browsing, ADMIN)
    open_section(page, "Organizations")
    page.get_by_label("Name").fill("North Branch")
    page.get_by_label("Description").fill("Farms up north")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_have_text("The organization was created.")
    table = page.get_by_role("table", name="Organizations")
    row = table.get_by_role("row").filter(has_text="North Branch")
    expect(row).to_contain_text("Farms up north")
    page.get_by_label("Name").fill("Fjord Farm")
    page.get_by_label("Parent").select_option(label="· North Branch")
    page.get_by_role("button", name="Create").click()
    expect(table.get_by_role("row").filter(has_text="Fjord Farm")).to_be_visible()
    expect(page.get_by_role("button", name="Delete Acme")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete North Branch")).to_have_count(0)
    shoot(page, "organizations")
    accept_dialogs(page)
    page.get_by_role("button", name="Delete Fjord Farm").click()
    expect(page.get_by_role("status")).to_have_text("The organization was deleted.")
    expect(table.get_by_role("row").filter(has_text="Fjord Farm")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete North Branch")).to_be_visible()


def test_oauth_client_secret_gets_a_token_until_the_client_is_revoked(
    browsing: BrowserContext, server: ServerProcess
) -> None:
    """The Admin creates a client and copies its secret (shown once); the secret gets a token
    at /oauth2/token that calls the Platform API; after Revoke the token is refused (401)."""
    page = signed_in(browsing, ADMIN)
    open_section(page, "Developer")
    page.get_by_label("Name").fill("Greenhouse robot")
    page.get_by_role("button", name="Create client").click()
    expect(page.get_by_role("heading", name="Client Greenhouse robot created")).to_be_visible()
    page.get_by_role("button", name="Copy client secret").click()
    expect(page.get_by_text("Client secret copied.")).to_be_visible()
    secret = page.evaluate("navigator.clipboard.readText()")
    client_id = page.get_by_label("Client ID", exact=True).input_value()
    expect(page.get_by_label("Client secret", exact=True)).to_have_value(secret)
    shoot(page, "developer-created")

    with httpx.Client(base_url=server.base_url) as api:
        token = api.post(
            "/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
        assert token.status_code == 200, token.text
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        profile = api.get("/api/v1/organization/profile", headers=bearer)
        assert profile.status_code == 200
        assert profile.json()["name"] == "Acme"

        open_section(page, "Developer")  # the secret is gone once the page is left
        expect(page.get_by_text(secret)).to_have_count(0)
        row = page.get_by_role("row").filter(has_text="Greenhouse robot")
        expect(row).to_contain_text(client_id)
        expect(row).to_contain_text("••••••••")
        shoot(page, "developer")
        accept_dialogs(page)
        page.get_by_role("button", name="Revoke Greenhouse robot").click()
        expect(page.get_by_role("status")).to_contain_text("The client was revoked")
        assert api.get("/api/v1/organization/profile", headers=bearer).status_code == 401


@pytest.mark.parametrize("email", [STAFF, USER])
def test_staff_and_user_see_no_admin_pages(browsing: BrowserContext, email: str) -> None:
    """Staff and User have none of the three sections in the menu, and each URL is a 404."""
    page = signed_in(browsing, email)
    menu = page.get_by_role("navigation", name="Main menu")
    for label in ("Organizations", "Users", "Developer"):
        expect(menu.get_by_role("link", name=label)).to_have_count(0)
    for path in ADMIN_PAGES:
        answer = page.goto(path)
        assert answer is not None
        assert answer.status == 404
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_another_organization_sees_none_of_acme(
    browser: Browser, browsing: BrowserContext, server: ServerProcess
) -> None:
    """Other Corp's Admin, after Acme made a client, sees only its own users, organization and
    (no) clients."""
    acme = signed_in(browsing, ADMIN)
    open_section(acme, "Developer")
    acme.get_by_label("Name").fill("Acme private robot")
    acme.get_by_role("button", name="Create client").click()
    expect(acme.get_by_role("heading", name="Client Acme private robot created")).to_be_visible()
    other_context = browser.new_context(base_url=server.base_url, viewport=DESKTOP)
    try:
        other = signed_in(other_context, OTHER)
        open_section(other, "Users")
        expect(other.get_by_role("table", name="Users")).to_contain_text(OTHER)
        expect(other.get_by_text("acme.test")).to_have_count(0)
        open_section(other, "Organizations")
        expect(other.get_by_role("table", name="Organizations")).to_contain_text("Other Corp")
        expect(other.get_by_text("Acme")).to_have_count(0)
        open_section(other, "Developer")
        expect(other.get_by_text("No OAuth2 clients yet.")).to_be_visible()
        expect(other.get_by_text("Acme private robot")).to_have_count(0)
    finally:
        other_context.close()


def test_admin_pages_look_right_at_both_widths(browsing: BrowserContext) -> None:
    """Screenshots of the three pages as they are after the other tests, for a person to look
    at."""
    page = signed_in(browsing, ADMIN)
    for label in ("Users", "Organizations", "Developer"):
        open_section(page, label)
        shoot(page, label.lower())
