"""Web Push in the console (automations.md §5.3), in headless Chromium against a real
``pinbase serve``: the Notifications page offers "Enable notifications on this device", and the
service worker shows a pushed message as a notification and opens its link on a click.

Headless Chromium has no push service to subscribe to (``PushManager.subscribe`` needs Google's
servers), so the subscription itself is tested by tests/http/test_channels_web_push.py,
which plays the browser. Here the push is delivered to the worker through the DevTools protocol
(``ServiceWorker.deliverPushMessage``), which runs the worker's real ``push`` handler.
"""

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from pinbase.testing import ServerProcess, provision
from push_browser import PUSH_MESSAGE

PASSWORD = "correct horse battery"
ADMIN = "admin@acme.test"
ACME: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [{"email": ADMIN, "name": "Ada Admin", "roleId": 1, "password": PASSWORD}],
}

SHOWN = """async () => {
  const registration = await navigator.serviceWorker.ready;
  return (await registration.getNotifications()).map((n) => ({
    title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url,
    requireInteraction: n.requireInteraction,
  }));
}"""


def shown_when(
    page: Page, ready: Callable[[list[dict[str, Any]]], bool], timeout_s: float = 10.0
) -> list[dict[str, Any]]:
    """The notifications on screen once ``ready`` holds of them, read in the same poll.

    Not ``page.wait_for_function``: it takes the promise an async predicate returns for a truthy
    answer without awaiting it, and a second read can miss a notification Chromium has already
    closed by itself (one that does not require interaction goes after a few seconds).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        shown: list[dict[str, Any]] = page.evaluate(SHOWN)
        if ready(shown) or time.monotonic() > deadline:
            return shown
        time.sleep(0.05)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``pinbase serve`` with Acme's Admin."""
    data = tmp_path_factory.mktemp("push-pages")
    provision(ACME, data_dir=data)
    with ServerProcess(data) as running:
        yield running


@pytest.fixture
def context(browser: Browser, server: ServerProcess) -> Iterator[BrowserContext]:
    """A fresh browser that has allowed this site's notifications."""
    context = browser.new_context(base_url=server.base_url)
    context.grant_permissions(["notifications"], origin=server.base_url)
    yield context
    context.close()


def notifications_page(context: BrowserContext) -> Page:
    """Signed in as the Admin, on the Notifications page, controlled by the service worker."""
    page = context.new_page()
    page.goto("/dashboard/login")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log In").click()
    page.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name="Notifications"
    ).click()
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    return page


def test_the_page_offers_to_enable_notifications(context: BrowserContext) -> None:
    """Chromium has Web Push, so the page offers the control and says they are off."""
    page = notifications_page(context)
    expect(page.get_by_role("button", name="Enable notifications on this device")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="this device")).to_have_text(
        "Notifications are off for this device."
    )


def test_a_push_shows_a_notification_that_opens_its_link(
    context: BrowserContext, server: ServerProcess
) -> None:
    """A push delivered to the worker shows its title, body and tag, stays up when it is an
    alert, and links into the console."""
    page = notifications_page(context)
    registration = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
    cdp = context.new_cdp_session(page)
    versions: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: versions.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    page.evaluate("navigator.serviceWorker.ready")  # a round trip: the events above arrive
    [found] = [r for r in versions if r["scopeURL"] == registration]

    def deliver(payload: dict[str, Any]) -> None:
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": server.base_url,
                "registrationId": found["registrationId"],
                "data": json.dumps(payload),
            },
        )

    deliver(PUSH_MESSAGE)
    assert shown_when(page, lambda shown: len(shown) > 0) == [
        {
            "title": "Freezer",
            "body": "Too warm: 12 °C",
            "tag": "d7-e3",
            "url": f"{server.base_url}/dashboard/devices/7/timeline?entry=981",
            "requireInteraction": True,
        }
    ]
    # Another site's link is never opened: the notification links to the Notifications page.
    deliver({**PUSH_MESSAGE, "tag": "elsewhere", "alert": False, "url": "https://example.com/x"})
    shown = shown_when(page, lambda shown: any(n["tag"] == "elsewhere" for n in shown))
    [elsewhere] = [n for n in shown if n["tag"] == "elsewhere"]
    assert elsewhere["url"] == f"{server.base_url}/dashboard/notifications"
    assert elsewhere["requireInteraction"] is False


def test_the_page_fits_a_phone(browser: Browser, server: ServerProcess) -> None:
    """At 375 px the Notifications page does not scroll sideways and its control is
    touch-sized (44 px)."""
    context = browser.new_context(
        base_url=server.base_url, viewport={"width": 375, "height": 740}, has_touch=True
    )
    try:
        page = notifications_page(context)
        button = page.get_by_role("button", name="Enable notifications on this device")
        expect(button).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        box = button.bounding_box()
        assert box is not None
        assert box["height"] >= 44
    finally:
        context.close()
