"""The console as an installable phone app (issue #9 item 7), in headless Chromium against a real
``pinbase serve``: the manifest and its icons, the service worker and what it keeps, the offline
banner and page, and every console page at 375 px (no sideways scrolling, touch-sized controls,
readable text, reduced motion), with screenshots for a person to look at."""

import json
import struct
import tempfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from pinbase.testing import ServerProcess, provision

SCREENSHOTS = tempfile.gettempdir() + "/pinbase-screenshots"
PASSWORD = "correct horse battery"
ADMIN = "admin@acme.test"
PHONE: ViewportSize = {"width": 375, "height": 740}
TOUCH_PX = 44
MIN_TEXT_PX = 12
MIN_INPUT_TEXT_PX = 16
"""Below 16 px, Safari on iOS zooms the page into a field when it gets focus."""
OFFLINE_TEXT = "You are offline"

ACME: dict[str, Any] = {
    "organization": {"name": "Acme Greenhouses and Cold Storage International"},
    "users": [
        {
            "email": ADMIN,
            "name": "Ada Admin-Lovelace of the Long Name",
            "roleId": 1,
            "password": PASSWORD,
        }
    ],
    "templates": [
        {
            "name": "Greenhouse climate controller with a long name",
            "datastreams": [{"id": 1, "label": "Temperature", "pin": 1, "type": "DOUBLE"}],
        }
    ],
    "devices": [
        {
            "name": "Greenhouse North",
            "template": "Greenhouse climate controller with a long name",
            "owner": ADMIN,
        },
        {
            "name": "Greenhouse South-East, behind the big water tank",
            "template": "Greenhouse climate controller with a long name",
        },
    ],
}

TOO_SMALL_TARGETS = """(minHeight) => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, '
    + '[role=button], [role=switch], [role=slider], [role=tab], [tabindex]:not([tabindex="-1"])';
  const small = [];
  for (const element of document.querySelectorAll(selector)) {
    const box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    if (box.width === 0 || box.height === 0 || style.visibility === 'hidden') continue;
    // A link inside a sentence is exempt (WCAG 2.5.8's inline exception).
    const text = element.textContent.trim();
    if (element.tagName === 'A' && style.display === 'inline'
        && element.parentElement.textContent.trim() !== text) continue;
    if (box.height < minHeight) {
      const name = text || element.getAttribute('aria-label') || element.name || '';
      small.push(`${element.tagName} "${name.slice(0, 40)}" ${box.height.toFixed(1)} px`);
    }
  }
  return small;
}"""

SMALL_TEXT = """([minText, minInput]) => {
  const small = [];
  for (const element of document.body.querySelectorAll('*')) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || element.closest('.visually-hidden')) continue;
    const style = getComputedStyle(element);
    const size = parseFloat(style.fontSize);
    const field = element.matches('input, select, textarea');
    const hasText = [...element.childNodes].some(
      (node) => node.nodeType === Node.TEXT_NODE && node.textContent.trim());
    if ((field && size < minInput) || (hasText && size < minText)) {
      small.push(`${element.tagName}.${element.className} ${size} px`);
    }
  }
  return small;
}"""

MOVING = """() => [...document.querySelectorAll('*')]
  .map((element) => getComputedStyle(element))
  .filter((style) => style.transitionDuration.split(',').some((d) => parseFloat(d) > 0)
    || style.animationDuration.split(',').some((d) => parseFloat(d) > 0))
  .length"""

CACHED_URLS = """async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) urls.push(new URL(request.url).pathname);
  }
  return urls;
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Any]]:
    """Acme provisioned (long names, to stress narrow layouts), then ``pinbase serve``."""
    data = tmp_path_factory.mktemp("pwa")
    acme = provision(ACME, data_dir=data)
    with ServerProcess(data) as server:
        yield server, acme


@pytest.fixture
def context(browser: Browser, site: tuple[ServerProcess, Any]) -> Iterator[BrowserContext]:
    """A fresh phone-sized browser (no cookies, no service worker yet)."""
    server, _ = site
    context = browser.new_context(base_url=server.base_url, viewport=PHONE, has_touch=True)
    yield context
    context.close()


def signed_in(context: BrowserContext) -> Page:
    """A page of ``context`` signed in as Acme's Admin, on the device list."""
    page = context.new_page()
    page.goto("/dashboard/login")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log In").click()
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    return page


def controlled(page: Page) -> None:
    """Wait (Playwright's time limit) until the service worker is active and controls ``page``:
    ``navigator.serviceWorker.ready`` resolves then, and never for a page outside its scope."""
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header (its IHDR chunk)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_manifest_opens_the_device_list_full_screen_with_existing_icons(
    site: tuple[ServerProcess, Any],
) -> None:
    """The manifest parses, starts at the device list inside the console's scope, standalone,
    and each icon it names is served as a PNG of the size it declares (192, 512, maskable)."""
    server, _ = site
    with httpx.Client(base_url=server.base_url) as http:
        answer = http.get("/dashboard/manifest.webmanifest")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/manifest+json"
        manifest = json.loads(answer.text)
        assert manifest["name"] == "Pinbase"
        assert manifest["short_name"]
        assert manifest["start_url"] == "/dashboard/devices"
        assert manifest["scope"] == "/dashboard"
        assert manifest["display"] == "standalone"
        assert manifest["theme_color"].startswith("#")
        assert manifest["background_color"].startswith("#")
        declared = set()
        for icon in manifest["icons"]:
            image = http.get(icon["src"])
            assert image.status_code == 200, icon
            assert image.headers["content-type"] == "image/png"
            width, height = png_size(image.content)
            assert icon["sizes"] == f"{width}x{height}"
            declared.add((icon["sizes"], icon["purpose"]))
        assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= declared


def test_service_worker_registers_for_the_console_and_keeps_the_shell_only(
    context: BrowserContext, site: tuple[ServerProcess, Any]
) -> None:
    """Chromium registers ``/dashboard/sw.js`` for the scope ``/dashboard``, finds the page
    installable, and the worker's cache holds static files and the offline page, no page of
    data; the worker script itself is revalidated on every check."""
    server, _ = site
    page = signed_in(context)
    controlled(page)
    scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == f"{server.base_url}/dashboard"
    manifest_link = page.evaluate("document.querySelector('link[rel=manifest]').href")
    assert manifest_link == f"{server.base_url}/dashboard/manifest.webmanifest"
    assert page.evaluate("caches.keys()")[0].startswith("pinbase-shell-")
    cached = page.evaluate(CACHED_URLS)
    assert "/dashboard/static/app.css" in cached
    assert "/dashboard/static/pwa.js" in cached
    assert "/dashboard/offline" in cached
    assert all(
        url.startswith("/dashboard/static/") or url == "/dashboard/offline" for url in cached
    )

    cdp = context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # Playwright's contexts are incognito profiles, where Chromium offers no install at all.
    assert [error for error in errors if error["errorId"] != "in-incognito"] == []

    with httpx.Client(base_url=server.base_url) as http:
        worker = http.get("/dashboard/sw.js")
    assert worker.headers["cache-control"] == "no-cache"
    assert worker.headers["content-type"].startswith("text/javascript")


def test_offline_reload_shows_the_offline_banner_and_no_device_data(
    context: BrowserContext,
) -> None:
    """Offline, the open page shows the banner; a reload (of the device list or a device page)
    shows the offline page with the banner, never a stored copy of the devices; back online the
    page comes back by itself."""
    page = signed_in(context)
    controlled(page)
    expect(page.get_by_role("link", name="Greenhouse North")).to_be_visible()

    context.set_offline(True)
    expect(page.get_by_role("status").filter(has_text=OFFLINE_TEXT)).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name=OFFLINE_TEXT)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text=OFFLINE_TEXT)).to_be_visible()
    expect(page.get_by_text("Greenhouse North")).to_have_count(0)
    page.screenshot(path=f"{SCREENSHOTS}/console-phone-offline-reload-375.png", full_page=True)

    context.set_offline(False)
    # The offline page reloads at once, and again every 5 s while it is still shown.
    expect(page.get_by_role("link", name="Greenhouse North")).to_be_visible(timeout=15_000)
    expect(page.get_by_role("status").filter(has_text=OFFLINE_TEXT)).to_have_count(0)


def test_a_lost_live_socket_shows_a_reconnecting_banner(context: BrowserContext) -> None:
    """The banner follows the live socket's ``pinbase:live`` events: lost, then back."""
    page = signed_in(context)
    announce = (
        "(connected) => document.dispatchEvent("
        "new CustomEvent('pinbase:live', {detail: {connected}}))"
    )
    page.evaluate(announce, False)
    banner = page.get_by_role("status").filter(has_text="Reconnecting")
    expect(banner).to_be_visible()
    page.evaluate(announce, True)
    expect(banner).to_have_count(0)


def phone_pages(page: Page, acme: Any) -> list[tuple[str, str]]:
    """Every console page a signed-in Admin reaches: the menu's sections, each tab of a device
    page, an error page; as (screenshot name, path)."""
    menu = page.get_by_role("navigation", name="Main menu").get_by_role("link")
    sections = [
        (f"section-{href.rsplit('/', 1)[-1]}", href)
        for href in (link.get_attribute("href") for link in menu.all())
        if href is not None and not href.endswith("/devices")
    ]
    device = f"/dashboard/devices/{acme['devices'][1]['id']}"
    page.goto(device)
    tabs = page.get_by_role("navigation", name="Device sections").get_by_role("link")
    tab_pages = [
        (f"device-{href.split('=')[-1]}", f"{device}{href}")
        for href in (link.get_attribute("href") for link in tabs.all())
        if href is not None
    ]
    return [
        ("devices", "/dashboard/devices"),
        *tab_pages,
        *sections,
        ("not-found", "/dashboard/nothing/here"),
    ]


def audit(page: Page, name: str) -> list[str]:
    """What is wrong with the open page on a phone; takes its screenshot."""
    page.screenshot(path=f"{SCREENSHOTS}/console-phone-{name}-375.png", full_page=True)
    problems = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        problems.append(f"{name}: {width} px wide")
    problems += [f"{name}: target {small}" for small in page.evaluate(TOO_SMALL_TARGETS, TOUCH_PX)]
    small_text = page.evaluate(SMALL_TEXT, [MIN_TEXT_PX, MIN_INPUT_TEXT_PX])
    problems += [f"{name}: text {small}" for small in small_text]
    return problems


def test_every_console_page_fits_a_phone(
    context: BrowserContext, site: tuple[ServerProcess, Any]
) -> None:
    """At 375 px every page (sign-in, offline, device list, device tabs, sections, errors) has
    no sideways scrolling, controls at least 44 px tall, text of at least 12 px and fields of
    16 px; each is kept as /tmp/pinbase-screenshots/console-phone-<page>-375.png."""
    _, acme = site
    page = context.new_page()
    page.goto("/dashboard/login")
    problems = audit(page, "login")
    page.goto("/dashboard/offline")
    problems += audit(page, "offline-page")
    page = signed_in(context)
    for name, path in phone_pages(page, acme):
        page.goto(path)
        problems += audit(page, name)
    assert problems == [], "\n".join(problems)


def test_reduced_motion_stops_every_transition_and_animation(context: BrowserContext) -> None:
    """With ``prefers-reduced-motion: reduce`` nothing on the device list moves."""
    page = signed_in(context)
    page.emulate_media(reduced_motion="reduce")
    assert page.evaluate(MOVING) == 0
