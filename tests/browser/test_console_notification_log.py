"""The notification log page for developers in headless Chromium against a real ``pinbase
serve`` (automations.md §2.5, §5.4): a device's logged event shows as an e-mail to its masked
owner, suppressed ``CHANNEL_DISABLED`` (this server has no SMTP), a second one within a second
as ``RATE_1S``, the device filter narrows the table, and another organization's developer sees
none of it."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from pinbase.testing import ServerProcess, provision

PASSWORD = "correct horse battery"
ADMIN = "ada@acme.test"
OTHER = "olga@other.test"


def member(email: str, name: str) -> dict[str, Any]:
    """A provisioned Admin with the common password."""
    return {"email": email, "name": name, "roleId": 1, "password": PASSWORD}


ACME: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [member(ADMIN, "Ada Admin")],
    "templates": [
        {
            "name": "Freezer",
            "events": [
                {
                    "eventCode": "too_warm",
                    "name": "Too warm",
                    "type": "CRITICAL",
                    "notifications": {"enabled": True, "email": [{"kind": "DEVICE_OWNER"}]},
                }
            ],
        }
    ],
    "devices": [
        {"name": "Freezer 1", "template": "Freezer", "owner": ADMIN},
        {"name": "Freezer 2", "template": "Freezer", "owner": ADMIN},
    ],
}
OTHER_CORP: dict[str, Any] = {
    "organization": {"name": "Other Corp"},
    "users": [member(OTHER, "Olga")],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Acme and Other Corp provisioned; Freezer 1 logs ``too_warm`` twice within a second."""
    data: Path = tmp_path_factory.mktemp("notification-log")
    created = provision(ACME, data_dir=data)
    provision(OTHER_CORP, data_dir=data)
    token = created["devices"][0]["token"]
    with ServerProcess(data) as started:
        url = f"{started.base_url}/external/api/logEvent"
        query = {"token": token, "code": "too_warm", "description": "Minus 4"}
        assert httpx.get(url, params=query).status_code == 200
        # Dropped (one per second per code), yet answered as accepted (automations.md §1.9).
        assert httpx.get(url, params=query).status_code == 200
        yield started


@pytest.fixture
def browsing(browser: Browser, server: ServerProcess) -> Iterator[BrowserContext]:
    """A fresh desktop browser for the site."""
    context = browser.new_context(base_url=server.base_url, viewport={"width": 1280, "height": 800})
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


def test_the_log_shows_queued_and_suppressed_notifications_by_device(
    browsing: BrowserContext,
) -> None:
    """From the Developer page: an e-mail row (CHANNEL_DISABLED) and a RATE_1S row for
    Freezer 1, nothing for Freezer 2."""
    page = signed_in(browsing, ADMIN)
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Developer").click()
    page.get_by_role("link", name="Notification log").click()
    expect(page.get_by_role("heading", name="Notification log")).to_be_visible()
    table = page.get_by_role("table", name="Notification log")
    mail = table.get_by_role("row").filter(has_text="CHANNEL_DISABLED")
    expect(mail).to_have_count(1)
    expect(mail).to_contain_text("a***@acme.test")
    expect(mail).to_contain_text("EMAIL")
    expect(mail).to_contain_text("Critical: Freezer 1: Too warm")
    expect(table.get_by_role("row").filter(has_text="RATE_1S")).to_contain_text("Freezer 1")
    page.get_by_label("Device").select_option(label="Freezer 2")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("No notifications yet.")).to_be_visible()
    page.get_by_label("Device").select_option(label="Freezer 1")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("table", name="Notification log").get_by_role("row")).to_have_count(3)


def test_another_organization_sees_none_of_it(browsing: BrowserContext) -> None:
    """Other Corp's developer gets an empty log, even naming Acme's device."""
    page = signed_in(browsing, OTHER)
    page.goto("/dashboard/developer/notifications?device=1")
    expect(page.get_by_text("No notifications yet.")).to_be_visible()
    expect(page.get_by_label("Device").get_by_role("option")).to_have_count(1)
