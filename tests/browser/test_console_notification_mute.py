"""End-user notification management in headless Chromium against a real ``pinbase serve``
(automations.md §1.5): the owner of a device (User role) picks a recipient and mutes an event
from the device's Info tab; the device then logs the event, and the organization's developer
finds each of its messages in the notification log as ``MUTED``. Screenshots at 1280 and 375 px
go to /tmp/pinbase-screenshots/console-device-notifications-<width>.png."""

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
ADMIN = "ada@acme.test"
OWNER = "uma@acme.test"

ACME: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [
        {"email": ADMIN, "name": "Ada Admin", "roleId": 1, "password": PASSWORD},
        {"email": OWNER, "name": "Uma User", "roleId": 3, "password": PASSWORD},
    ],
    "templates": [
        {
            "name": "Freezer",
            "events": [
                {
                    "eventCode": "too_warm",
                    "name": "Too warm",
                    "type": "CRITICAL",
                    "notifications": {
                        "enabled": True,
                        "email": [{"kind": "DEVICE_OWNER"}],
                        "allowUserManagement": True,
                    },
                },
                {
                    "eventCode": "door",
                    "name": "Door opened",
                    "notifications": {"enabled": True, "email": [{"kind": "DEVICE_OWNER"}]},
                },
            ],
        }
    ],
    "devices": [{"name": "Uma's Freezer", "template": "Freezer", "owner": OWNER}],
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    """Acme provisioned, ``pinbase serve`` started on it; the device's token."""
    data = tmp_path_factory.mktemp("notification-mute")
    created = provision(ACME, data_dir=data)
    with ServerProcess(data) as server:
        yield server, created["devices"][0]["token"]


@pytest.fixture
def browsing(browser: Browser, site: tuple[ServerProcess, str]) -> Iterator[BrowserContext]:
    """A fresh desktop browser for the site."""
    context = browser.new_context(
        base_url=site[0].base_url, viewport={"width": 1280, "height": 900}
    )
    yield context
    context.close()


def signed_in(context: BrowserContext, email: str) -> Page:
    """A new page signed in as ``email`` through the sign-in form."""
    page = context.new_page()
    page.goto("/dashboard/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log In").click()
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    return page


def shoot(page: Page, name: str) -> None:
    """The page at 1280 px, then at 375 px (a phone), back at 1280 px afterwards."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"console-{name}-1280.png", full_page=True)
    page.set_viewport_size({"width": 375, "height": 812})
    page.screenshot(path=SCREENSHOTS / f"console-{name}-375.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_owner_mutes_an_event_and_its_messages_are_logged_muted(
    browser: Browser, browsing: BrowserContext, site: tuple[ServerProcess, str]
) -> None:
    """The owner picks Ada for e-mail and mutes "Too warm" for 1 hour; "Door opened" (no user
    management) has no control. A logged occurrence is then ``MUTED`` for both recipients."""
    server, token = site
    page = signed_in(browsing, OWNER)
    page.get_by_role("link", name="Uma's Freezer").click()
    sections = page.get_by_role("navigation", name="Device sections")
    sections.get_by_role("link", name="Info & Metadata").click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    warm = page.get_by_role("region", name="Too warm")
    expect(warm.get_by_text("Not muted")).to_be_visible()
    expect(page.get_by_role("region", name="Door opened")).to_have_count(0)
    warm.get_by_role("checkbox", name="E-mail to the people chosen here").check()
    warm.get_by_role("listbox", name="E-mail recipients").select_option(
        label="Ada Admin (ada@acme.test)"
    )
    warm.get_by_label("Mute Too warm").select_option(label="For 1 hour")
    warm.get_by_role("button", name="Apply: Too warm").click()
    expect(page.get_by_role("status")).to_have_text("Notification settings saved.")
    warm = page.get_by_role("region", name="Too warm")
    expect(warm.get_by_text("Muted until")).to_be_visible()
    expect(warm.get_by_role("checkbox", name="E-mail to the people chosen here")).to_be_checked()
    shoot(page, "device-notifications")

    answer = httpx.get(
        f"{server.base_url}/external/api/logEvent",
        params={"token": token, "code": "too_warm"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text

    other = browser.new_context(base_url=server.base_url, viewport={"width": 1280, "height": 900})
    try:
        developer = signed_in(other, ADMIN)
        developer.goto("/dashboard/developer/notifications")
        table = developer.get_by_role("table", name="Notification log")
        muted = table.get_by_role("row").filter(has_text="MUTED")
        expect(muted).to_have_count(2)
        expect(muted.filter(has_text="u***@acme.test")).to_have_count(1)
        expect(muted.filter(has_text="a***@acme.test")).to_have_count(1)
    finally:
        other.close()
