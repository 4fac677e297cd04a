"""The web console in headless Chromium against a real ``pinbase serve`` (issue #9 items 1, 2):
signing in and out, the device list and its search, organization scope, invitation links,
keyboard-only use; screenshots at 1280 and 375 px for a person to look at."""

import asyncio
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from pinbase import runtime
from pinbase.domain.ids import OrgId
from pinbase.domain.users import INVITED
from pinbase.services.clock import DAY_MS, system_clock
from pinbase.services.console_caller import ConsoleCaller, permissions_of
from pinbase.services.console_sessions import ConsoleSessions
from pinbase.services.directory import Directory
from pinbase.services.invitations import Invitations
from pinbase.services.login_throttle import LoginThrottle
from pinbase.services.users import Profile, add_member
from pinbase.settings import Settings
from pinbase.testing import ServerProcess, provision

SCREENSHOTS = Path(tempfile.gettempdir()) / "pinbase-screenshots"
PASSWORD = "correct horse battery"
ADMIN = "admin@acme.test"
OTHER = "admin@other.test"
INVITEE = "invitee@acme.test"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}

ACME: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [{"email": ADMIN, "name": "Ada Admin", "roleId": 1, "password": PASSWORD}],
    "templates": [
        {
            "name": "Greenhouse",
            "datastreams": [{"id": 1, "label": "Temperature", "pin": 1, "type": "DOUBLE"}],
        }
    ],
    "devices": [
        {"name": "Greenhouse North", "template": "Greenhouse", "owner": ADMIN},
        {"name": "Greenhouse South", "template": "Greenhouse"},
        {"name": "Cold Store", "template": "Greenhouse"},
    ],
}
OTHER_CORP: dict[str, Any] = {
    "organization": {"name": "Other Corp"},
    "users": [{"email": OTHER, "name": "Olga Other", "roleId": 1, "password": PASSWORD}],
    "templates": [{"name": "Boiler", "datastreams": []}],
    "devices": [{"name": "Boiler Room", "template": "Boiler"}],
}


class Site:
    """The server and what was provisioned on it."""

    def __init__(self, server: ServerProcess, acme: dict[str, Any]) -> None:
        self.server = server
        self.acme = acme

    def invitation_path(self) -> str:
        """A link for a new invited user of Acme, made by Acme's Admin through the service,
        on the server's database (sessions and links live there, for every process)."""
        work = _invite(self.server.data_dir, self.acme["organization"]["id"])
        # Playwright's synchronous API keeps a loop running in this thread.
        with ThreadPoolExecutor(max_workers=1) as thread:
            return thread.submit(asyncio.run, work).result()


async def _invite(data_dir: Path, org_id: int) -> str:
    settings = Settings(data_dir=data_dir)
    store = await runtime.open_store(settings)
    try:
        async with store.transaction() as tx:
            admin = await tx.find_user_by_email(ADMIN)
            invitee = await tx.find_user_by_email(INVITEE)
            if invitee is None:
                invitee = await add_member(
                    tx,
                    OrgId(org_id),
                    email=INVITEE,
                    name="Ivy Invitee",
                    role_id=3,
                    status=INVITED,
                    password_hash=None,
                    profile=Profile(),
                    created_at=system_clock(),
                )
        assert admin is not None
        caller = ConsoleCaller(
            user_id=admin.id,
            email=admin.email,
            name=admin.name,
            role_id=admin.role_id,
            org_id=OrgId(org_id),
            scope=frozenset({OrgId(org_id)}),
            permissions=permissions_of(admin.role_id),
        )
        sessions = ConsoleSessions(
            store,
            Directory(store),
            system_clock,
            throttle=LoginThrottle(system_clock, free_failures=5, window_s=600, max_delay_s=1),
            ttl_ms=DAY_MS,
        )
        invitations = Invitations(store, sessions, system_clock, ttl_ms=DAY_MS)
        invitation = await invitations.invitation_link(caller, invitee.id)
    finally:
        await store.close()
    return f"/dashboard/invite/{invitation.token}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Acme and Other Corp provisioned, then ``pinbase serve`` started on them."""
    data = tmp_path_factory.mktemp("console")
    acme = provision(ACME, data_dir=data)
    provision(OTHER_CORP, data_dir=data)
    with ServerProcess(data) as server:
        yield Site(server, acme)


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    """A fresh desktop-sized page (no cookies) whose relative URLs go to the site."""
    context = browser.new_context(base_url=site.server.base_url, viewport=DESKTOP)
    yield context.new_page()
    context.close()


def shoot(page: Page, name: str) -> None:
    """Keep what the page looks like now, outside the repository."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Fill the sign-in form as a person does and press Log In."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log In").click()


def test_sign_in_see_devices_search_and_sign_out(page: Page) -> None:
    """``/`` leads to the sign-in page; after Log In the device list shows Acme's devices;
    the search narrows it; Sign out returns to the sign-in page and the list is closed."""
    page.goto("/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    shoot(page, "console-login-1280")
    log_in(page, ADMIN)
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    table = page.get_by_role("table", name="Devices")
    for name in ("Greenhouse North", "Greenhouse South", "Cold Store"):
        expect(table.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main menu")).to_contain_text("Users")
    shoot(page, "console-devices-1280")

    page.get_by_label("Search devices").fill("north")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_have_text("1 device")
    expect(table.get_by_role("link", name="Greenhouse South")).to_have_count(0)
    expect(table.get_by_role("link", name="Cold Store")).to_have_count(0)
    table.get_by_role("link", name="Greenhouse North").click()
    expect(page.get_by_role("heading", name="Greenhouse North")).to_be_visible()
    tabs = page.get_by_role("navigation", name="Device sections")
    expect(tabs.get_by_role("link", name="Info & Metadata")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Log In")).to_be_visible()
    page.goto("/dashboard/devices")
    expect(page.get_by_role("button", name="Log In")).to_be_visible()


def test_wrong_password_shows_an_error_and_does_not_sign_in(page: Page) -> None:
    """A wrong password shows the error on the form and leaves the browser signed out."""
    page.goto("/dashboard/login")
    log_in(page, ADMIN, "not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Email")).to_have_value(ADMIN)
    assert not [c for c in page.context.cookies() if c["name"] == "pinbase_session"]
    page.goto("/dashboard")
    expect(page.get_by_role("button", name="Log In")).to_be_visible()


def test_other_organization_sees_none_of_acmes_devices(page: Page, site: Site) -> None:
    """Other Corp's Admin sees its own device only, and an Acme device URL is a 404 page."""
    page.goto("/dashboard/login")
    log_in(page, OTHER)
    table = page.get_by_role("table", name="Devices")
    expect(table.get_by_role("link", name="Boiler Room")).to_be_visible()
    expect(page.get_by_text("Greenhouse")).to_have_count(0)
    acme_device = site.acme["devices"][0]["id"]
    answer = page.goto(f"/dashboard/devices/{acme_device}")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text("Greenhouse")).to_have_count(0)


def test_invitation_link_sets_a_password_and_signs_in(page: Page, site: Site) -> None:
    """An invited user opens its link, chooses a password (confirmed) and lands on the device
    list; it then signs in with that password."""
    page.goto(site.invitation_path())
    expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
    expect(page.get_by_text(INVITEE)).to_be_visible()
    page.get_by_label("Password", exact=True).fill("a fine new password")
    page.get_by_label("Confirm password").fill("a fine new password")
    shoot(page, "console-invite-1280")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    expect(page.get_by_role("banner")).to_contain_text("Ivy Invitee")
    page.get_by_role("button", name="Sign out").click()
    log_in(page, INVITEE, "a fine new password")
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()


def test_keyboard_only_sign_in(page: Page) -> None:
    """Typing and Tab alone sign in: the e-mail field has focus, Tab reaches the password,
    Enter submits."""
    page.goto("/dashboard/login")
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(ADMIN)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Log In")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()


def test_phone_width_screens(browser: Browser, site: Site) -> None:
    """At 375 px the sign-in form and the device list fit the width (no sideways scrolling) and
    their controls are at least 44 px tall."""
    context = browser.new_context(base_url=site.server.base_url, viewport=PHONE)
    page = context.new_page()
    try:
        page.goto("/dashboard/login")
        shoot(page, "console-login-375")
        for control in (page.get_by_label("Email"), page.get_by_role("button", name="Log In")):
            box = control.bounding_box()
            assert box is not None
            assert box["height"] >= 44
        log_in(page, ADMIN)
        expect(page.get_by_role("heading", name="Devices")).to_be_visible()
        shoot(page, "console-devices-375")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        for control in (
            page.get_by_role("button", name="Sign out"),
            page.get_by_role("link", name="Devices", exact=True),
            page.get_by_role("button", name="Search"),
        ):
            box = control.bounding_box()
            assert box is not None
            assert box["height"] >= 44
    finally:
        context.close()
