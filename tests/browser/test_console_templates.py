"""Templates and New Device in headless Chromium against a real ``pinbase serve`` (issue #9 item
3 and its "Done when" flow): an Admin creates a template with datastreams, makes a device from
it, reads the token from the firmware snippet, and a real ``blynklib`` device connects with that
token and writes values; a datastream added in the editor takes the device's writes at once.
Staff views without editing; another organization gets 404. Screenshots at 1280 and 375 px go to
/tmp/pinbase-screenshots/console-templates-*.png and console-new-device-*.png.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_flow import (
    add_datastream,
    create_device,
    create_template,
    log_in,
    shoot,
    snippet_token,
)
from playwright.sync_api import Browser, Page, expect

from interop.interop_driver import BLYNKLIB, DeviceClient, eventually
from pinbase.testing import ServerProcess, free_port, provision

PASSWORD = "correct horse battery"
ADMIN = "admin@acme.test"
STAFF = "staff@acme.test"
OTHER = "admin@other.test"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}

ACME: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [
        {"email": ADMIN, "name": "Ada Admin", "roleId": 1, "password": PASSWORD},
        {"email": STAFF, "name": "Sam Staff", "roleId": 2, "password": PASSWORD},
    ],
    "templates": [],
    "devices": [],
}
OTHER_CORP: dict[str, Any] = {
    "organization": {"name": "Other Corp"},
    "users": [{"email": OTHER, "name": "Olga Other", "roleId": 1, "password": PASSWORD}],
    "templates": [],
    "devices": [],
}


class Site:
    """The server, its device port, and what the tests made through the pages."""

    def __init__(self, server: ServerProcess, hardware_port: int) -> None:
        self.server = server
        self.hardware_port = hardware_port
        self.editor = ""
        """The path of the template the flow test created."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Acme and Other Corp provisioned, then ``pinbase serve`` with its binary device port."""
    data = tmp_path_factory.mktemp("templates")
    provision(ACME, data_dir=data)
    provision(OTHER_CORP, data_dir=data)
    port = free_port()
    with ServerProcess(data, env={"PINBASE_HARDWARE_PORT": str(port)}) as server:
        yield Site(server, port)


def new_page(browser: Browser, site: Site, viewport: dict[str, int] = DESKTOP) -> Page:
    """A fresh page (no cookies) whose relative URLs go to the site."""
    return browser.new_context(base_url=site.server.base_url, viewport=viewport).new_page()


def value_of(site: Site, token: str, pin: str) -> str | None:
    """``GET /external/api/get`` of a pin, or None when it has no value yet."""
    answer = httpx.get(f"{site.server.base_url}/external/api/get?token={token}&{pin}")
    return answer.text if answer.status_code == 200 else None


def test_template_device_and_blynklib_flow(browser: Browser, site: Site, tmp_path: Path) -> None:
    """Create a template with Relay (INT 0..1, V1) and Temperature (DOUBLE, °C, V2), create a
    device from it, read the token from the snippet, connect blynklib with it: its writes are
    stored; add Humidity (V3) in the editor and the connected device's write to V3 is stored."""
    page = new_page(browser, site)
    log_in(page, ADMIN, PASSWORD)
    create_template(page, "Relay Board", "A relay and a thermometer")
    site.editor = page.url.split("?")[0].removeprefix(site.server.base_url)
    add_datastream(page, "Relay", 1, "INT", Min="0", Max="1")
    add_datastream(page, "Temperature", 2, "DOUBLE", Units="°C", **{"Decimals (Double)": "#.#"})
    shoot(page, "console-templates-datastreams-1280")
    page.get_by_role("link", name="Info").click()
    firmware = page.get_by_label("Firmware configuration")
    expect(firmware).to_contain_text('#define BLYNK_TEMPLATE_NAME "Relay Board"')
    shoot(page, "console-templates-info-1280")

    text = create_device(page, "Relay Board", "Bench Relay")
    token = snippet_token(text)
    begin = f'Blynk.begin(BLYNK_AUTH_TOKEN, ssid, pass, "127.0.0.1", {site.hardware_port});'
    assert begin in text
    assert 'BLYNK_TEMPLATE_ID "TMPL' in text
    page.get_by_role("button", name="Copy").click()
    copied = re.compile("Copied|Selected")
    expect(page.get_by_role("status").filter(has_text=copied)).to_be_visible()
    shoot(page, "console-new-device-token-1280")

    with DeviceClient(
        BLYNKLIB, token, port=site.hardware_port, log_dir=tmp_path
    ).started() as device:
        device.command("write", pin=2, values=["21.5"])
        device.command("write", pin=1, values=["1"])
        assert eventually(lambda: value_of(site, token, "v2") == "21.5")
        assert value_of(site, token, "v1") == "1"
        page.goto(f"{site.editor}?tab=datastreams")
        add_datastream(page, "Humidity", 3, "DOUBLE", Units="%")
        device.command("write", pin=3, values=["40"])
        assert eventually(lambda: value_of(site, token, "v3") in ("40", "40.0"))
    listing = page.goto("/dashboard/devices")
    assert listing is not None
    expect(page.get_by_role("link", name="Bench Relay")).to_be_visible()
    assert token not in page.content()
    page.context.close()


def test_dashboard_layout_editor_by_keyboard(browser: Browser, site: Site) -> None:
    """Add a Switch for Relay from the Web Dashboard tab, move it one cell right with the arrow
    key in the preview and save: the stored layout has it at x 1; its width changes with
    Shift+Right."""
    if not site.editor:
        pytest.skip("needs the template of the flow test")
    page = new_page(browser, site)
    log_in(page, ADMIN, PASSWORD)
    page.goto(f"{site.editor}?tab=dashboard")
    page.get_by_label("Widget and datastream").select_option(label="Switch — Relay (V1)")
    page.get_by_role("button", name="Save layout").click()
    tile = page.get_by_role("group", name="Dashboard preview").locator(".grid-widget").first
    expect(tile).to_be_visible()
    tile.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    row = page.get_by_role("group", name="Switch")
    expect(row.get_by_label("x", exact=True)).to_have_value("1")
    expect(row.get_by_label("Width")).to_have_value("3")
    row.get_by_label("Title").fill("Pump power")
    page.get_by_role("button", name="Save layout").click()
    row = page.get_by_role("group", name="Switch: Pump power")
    expect(row.get_by_label("x", exact=True)).to_have_value("1")
    expect(row.get_by_label("Width")).to_have_value("3")
    page.get_by_label("Widget and datastream").select_option(label="Gauge — Temperature (V2)")
    page.get_by_label("New widget x").fill("0")
    page.get_by_label("New widget y").fill("0")
    page.get_by_role("button", name="Save layout").click()
    expect(page.get_by_role("alert")).to_contain_text("correct the widget marked below")
    expect(page.get_by_role("group", name="Gauge", exact=True)).to_contain_text("overlap")
    shoot(page, "console-templates-dashboard-1280")
    page.context.close()


def test_staff_views_and_another_organization_gets_404(browser: Browser, site: Site) -> None:
    """Staff opens the template read-only (no New datastream, no Save); Other Corp's Admin
    neither lists it nor opens it (404)."""
    if not site.editor:
        pytest.skip("needs the template of the flow test")
    page = new_page(browser, site)
    log_in(page, STAFF, PASSWORD)
    page.goto(f"{site.editor}?tab=datastreams")
    expect(page.get_by_text("View only")).to_be_visible()
    expect(page.get_by_role("link", name="New datastream")).to_have_count(0)
    page.goto(f"{site.editor}?tab=info")
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    page.context.close()
    page = new_page(browser, site)
    log_in(page, OTHER, PASSWORD)
    page.goto("/dashboard/templates")
    expect(page.get_by_text("Relay Board")).to_have_count(0)
    answer = page.goto(site.editor)
    assert answer is not None
    assert answer.status == 404
    page.context.close()


def test_phone_width_screens(browser: Browser, site: Site) -> None:
    """At 375 px the list, the editor tabs and New Device fit the width (no sideways scroll)."""
    if not site.editor:
        pytest.skip("needs the template of the flow test")
    page = new_page(browser, site, PHONE)
    log_in(page, ADMIN, PASSWORD)
    for path, name in (
        ("/dashboard/templates", "console-templates-list-375"),
        (f"{site.editor}?tab=info", "console-templates-info-375"),
        (f"{site.editor}?tab=datastreams&edit=1", "console-templates-datastream-375"),
        (f"{site.editor}?tab=dashboard", "console-templates-dashboard-375"),
        ("/dashboard/devices/new", "console-new-device-375"),
    ):
        page.goto(path)
        shoot(page, name)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
    page.goto("/dashboard/devices/new")
    page.get_by_label("Device name").fill("Phone Relay")
    page.get_by_role("button", name="Create device").click()
    expect(page.get_by_label("Firmware snippet")).to_be_visible()
    shoot(page, "console-new-device-token-375")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.context.close()
    desktop = new_page(browser, site)
    log_in(desktop, ADMIN, PASSWORD)
    desktop.goto("/dashboard/templates")
    shoot(desktop, "console-templates-list-1280")
    desktop.goto(f"{site.editor}?tab=events&edit=new")
    shoot(desktop, "console-templates-events-1280")
    desktop.context.close()
