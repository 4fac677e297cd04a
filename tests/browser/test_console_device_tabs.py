"""The device page's tabs and toolbox in headless Chromium against a real ``pinbase serve``
(issue #9 item 3): Timeline, Info & Metadata, Developer Tools (Datastreams, Actions Log), and
Rename / Erase data / Delete with confirmation. Screenshots at 1280 and 375 px go to
/tmp/pinbase-screenshots/console-device-<tab>-<width>.png.

A live timeline entry and a live value are given to ``static/device_tabs.js`` as
``static/live.js`` hands every socket message on, a ``pinbase:live`` event on ``document``; one
event also travels the whole way, from the device HTTP API through ``/dashboard/ws``.
"""

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from pinbase.testing import ServerProcess, provision

SCREENSHOTS = Path(tempfile.gettempdir()) / "pinbase-screenshots"
PASSWORD = "correct horse battery"
ADMIN = "admin@acme.test"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}

ACME: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "oauthClients": [{"name": "Integration"}],
    "users": [{"email": ADMIN, "name": "Ada Admin", "roleId": 1, "password": PASSWORD}],
    "templates": [
        {
            "name": "Greenhouse",
            "datastreams": [
                {"id": 1, "label": "Temperature", "pin": 1, "type": "DOUBLE", "units": "°C"},
                {"id": 2, "label": "Console", "pin": 2, "type": "STRING"},
            ],
            "events": [
                {"eventCode": "overheat", "name": "Overheat", "type": "WARNING"},
                {"eventCode": "door_open", "name": "Door open", "type": "INFORMATION"},
            ],
            "metafields": [
                {"name": "Serial", "type": "Text"},
                {"name": "Floor", "type": "Number"},
            ],
        }
    ],
    "devices": [
        {"name": "Greenhouse North", "template": "Greenhouse", "owner": ADMIN},
        {"name": "Spare Sensor", "template": "Greenhouse"},
    ],
}


class Site:
    """The server, what was provisioned, and a plain HTTP client for device and API calls."""

    def __init__(self, server: ServerProcess, created: dict[str, Any]) -> None:
        self.server = server
        self.north, self.spare = created["devices"]
        self.client = created["oauthClients"][0]
        self.http = httpx.Client(base_url=server.base_url, timeout=10)
        self._bearer: dict[str, str] = {}

    def device_api(self, path: str) -> None:
        """A device HTTP API call (``/external/api/…``) of Greenhouse North."""
        separator = "&" if "?" in path else "?"
        answer = self.http.get(f"/external/api/{path}{separator}token={self.north['token']}")
        assert answer.status_code == 200, answer.text

    def logs_event(self, query: str) -> bool:
        """Whether Greenhouse North's ``logEvent?{query}`` was stored (False: the one-per-second
        limit of its code dropped it, which DEV-07 answers 200 all the same, §1.9)."""
        before = self.timeline_total()
        answer = self.http.get(f"/external/api/logEvent?{query}&token={self.north['token']}")
        assert answer.status_code == 200, answer.text
        return self.timeline_total() > before

    def bearer(self) -> dict[str, str]:
        """The Authorization header of a Platform API token of Acme's OAuth client (one token,
        fetched at first use)."""
        if not self._bearer:
            auth = (self.client["clientId"], self.client["clientSecret"])
            token = self.http.post("/oauth2/token?grant_type=client_credentials", auth=auth)
            assert token.status_code == 200, token.text
            self._bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        return self._bearer

    def timeline_total(self) -> int:
        """How many entries Greenhouse North's timeline holds (PLT-DEV-18)."""
        answer = self.http.get(
            "/api/v1/organization/device/timeline",
            params={"deviceId": self.north["id"], "from": 0, "to": 2**62},
            headers=self.bearer(),
        )
        assert answer.status_code == 200, answer.text
        total: int = answer.json()["totalElements"]
        return total

    def platform_write(self, datastream_id: int, value: object) -> None:
        """PLT-DS-02 as an OAuth client of Acme."""
        answer = self.http.post(
            "/api/v1/organization/device/datastream",
            json={"deviceId": self.north["id"], "dataStreamId": datastream_id, "value": value},
            headers=self.bearer(),
        )
        assert answer.status_code == 204, answer.text


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Acme provisioned, then ``pinbase serve`` started on it."""
    data = tmp_path_factory.mktemp("tabs")
    created = provision(ACME, data_dir=data)
    with ServerProcess(data) as server:
        found = Site(server, created)
        yield found
        found.http.close()


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    """A desktop-sized page signed in as Acme's Admin."""
    context = browser.new_context(base_url=site.server.base_url, viewport=DESKTOP)
    page = context.new_page()
    page.goto("/dashboard/login")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log In").click()
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    yield page
    context.close()


def shoot(page: Page, name: str) -> None:
    """The page at 1280 px, then at 375 px (a phone), back at 1280 px afterwards."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"console-{name}-1280.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=SCREENSHOTS / f"console-{name}-375.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def open_tab(page: Page, device: dict[str, Any], tab: str) -> None:
    """Open the device from the list, then one of its tabs by name."""
    page.goto("/dashboard/devices")
    page.get_by_role("link", name=device["name"]).click()
    page.get_by_role("navigation", name="Device sections").get_by_role("link", name=tab).click()
    expect(page.get_by_role("heading", name=tab, exact=True)).to_be_visible()


def live(page: Page, message: dict[str, Any]) -> None:
    """Hand ``message`` to the page as its live module will: a ``pinbase:live`` event."""
    page.evaluate(
        "message => document.dispatchEvent(new CustomEvent('pinbase:live', {detail: message}))",
        message,
    )


def test_timeline_lists_events_newest_first_and_adds_live_ones(page: Page, site: Site) -> None:
    """Events logged through the device HTTP API show newest first with their names; the range
    switch keeps them; a live ``timeline`` entry joins the top without a reload, and so does
    an event a device logs while the page is open."""
    # Every live message of each page, so the test knows when the socket has subscribed.
    page.add_init_script(
        "window.liveMessages = [];"
        "document.addEventListener('pinbase:live', e => window.liveMessages.push(e.detail));"
    )
    site.device_api("logEvent?code=overheat&description=Too%20hot")
    site.device_api("logEvent?code=door_open")
    open_tab(page, site.north, "Timeline")
    events = page.get_by_role("list", name="Events, newest first").get_by_role("listitem")
    expect(events).to_have_count(2)
    expect(events.first).to_contain_text("Door open")
    expect(events.nth(1)).to_contain_text("Overheat")
    expect(events.nth(1)).to_contain_text("Too hot")
    ranges = page.get_by_role("navigation", name="Time range")
    expect(ranges.get_by_role("link", name="1 Day")).to_have_attribute("aria-current", "true")
    ranges.get_by_role("link", name="1 Week").click()
    expect(ranges.get_by_role("link", name="1 Week")).to_have_attribute("aria-current", "true")
    expect(events).to_have_count(2)

    now = page.evaluate("Date.now()")
    entry = {
        "id": 10_000,
        "deviceId": site.north["id"],
        "eventId": 1,
        "code": "overheat",
        "name": "Overheat",
        "type": "WARNING",
        "description": "Hotter still",
        "createdAt": now,
    }
    live(page, {"type": "timeline", "entries": [entry, {**entry, "id": 10_001, "deviceId": 0}]})
    expect(events).to_have_count(3)  # the other device's entry stays out
    expect(events.first).to_contain_text("Hotter still")
    live(page, {"type": "timeline", "entries": [entry]})
    expect(events).to_have_count(3)  # each entry once

    page.wait_for_function("window.liveMessages.some(m => m.type === 'snapshot')")
    # One event per code per second (docs/decisions.md, Events): the first call of the test was
    # within the second only on a fast machine; a drop stores nothing, so try again.
    for _ in range(20):
        if site.logs_event("code=overheat&description=Through%20the%20socket"):
            break
        page.wait_for_timeout(100)
    expect(events).to_have_count(4)
    expect(events.first).to_contain_text("Through the socket")
    shoot(page, "device-timeline")


def test_info_tab_shows_facts_and_saves_metadata(page: Page, site: Site) -> None:
    """Info & Metadata lists owner, activation and firmware facts; a metadata value typed and
    saved is kept, and a Number field refuses text with a message."""
    open_tab(page, site.north, "Info & Metadata")
    facts = page.locator("dl.info-list")
    expect(facts).to_contain_text("Ada Admin (admin@acme.test)")
    expect(facts).to_contain_text("Firmware version")
    page.get_by_role("textbox", name="Serial").fill("SN-0042")
    page.get_by_role("button", name="Save Serial").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    page.reload()
    expect(page.get_by_role("textbox", name="Serial")).to_have_value("SN-0042")
    page.get_by_role("textbox", name="Floor").fill("ground")
    page.get_by_role("textbox", name="Floor").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("does not fit")
    expect(page.get_by_role("textbox", name="Floor")).to_have_value("")
    shoot(page, "device-info")


def test_datastreams_tab_shows_values_and_raw_history(page: Page, site: Site) -> None:
    """Developer Tools lists each datastream with its value and type; a chosen datastream's
    raw history lists every stored value newest first; a live value updates its row."""
    for value in ("20.5", "21", "21.5"):
        site.device_api(f"update?v1={value}")
    site.device_api("update?v2=hello%20world")
    open_tab(page, site.north, "Developer Tools")
    table = page.get_by_role("table", name="Datastreams")
    temperature = table.get_by_role("row", name=re.compile("Temperature"))
    expect(temperature).to_contain_text("21.5 °C")
    expect(temperature).to_contain_text("Double")
    expect(temperature).to_contain_text("V1")
    expect(table.get_by_role("row", name=re.compile("Console"))).to_contain_text("hello world")

    page.get_by_role("combobox", name="Datastream").select_option(label="Temperature (V1)")
    page.get_by_role("button", name="Show raw history").click()
    history = page.get_by_role("table", name="Raw history of Temperature (V1)")
    rows = history.get_by_role("row").filter(has=page.get_by_role("cell"))
    expect(rows).to_have_count(3)
    expect(rows.first.get_by_role("cell").nth(1)).to_have_text("21.5")
    expect(rows.last.get_by_role("cell").nth(1)).to_have_text("20.5")

    now = page.evaluate("Date.now()")
    change = {"deviceId": site.north["id"], "dataStreamId": 1, "value": 23.25, "updatedAt": now}
    live(page, {"type": "values", "values": [{**change, "origin": "device_http"}]})
    expect(temperature).to_contain_text("23.25 °C")
    shoot(page, "device-datastreams")


def test_actions_log_shows_a_platform_api_write(page: Page, site: Site) -> None:
    """A value written through the Platform API appears in the Actions Log with its client,
    datastream and value; the range switch offers 1h to 3mo."""
    site.platform_write(1, 22.5)
    open_tab(page, site.north, "Developer Tools")
    page.get_by_role("navigation", name="Developer Tools").get_by_role(
        "link", name="Actions Log"
    ).click()
    log = page.get_by_role("table", name="Actions Log")
    row = log.get_by_role("row").filter(has=page.get_by_role("cell")).first
    expect(row).to_contain_text("HTTPS API")
    expect(row).to_contain_text("Temperature (V1)")
    expect(row).to_contain_text("22.5")
    ranges = page.get_by_role("navigation", name="Time range")
    for label in ("1h", "6h", "1d", "1w", "1mo", "3mo"):
        expect(ranges.get_by_role("link", name=label, exact=True)).to_be_visible()
    ranges.get_by_role("link", name="1h", exact=True).click()
    expect(row).to_contain_text("22.5")
    shoot(page, "device-actions")


def test_rename_erase_and_delete_ask_first(page: Page, site: Site) -> None:
    """Rename takes a new name; Erase data and Delete ask for confirmation (Cancel changes
    nothing); erasing clears the values; deleting removes the device from the list."""
    spare = site.spare
    token = spare["token"]
    assert site.http.get(f"/external/api/update?token={token}&v1=5").status_code == 200
    open_tab(page, spare, "Developer Tools")
    toolbox = page.get_by_role("navigation", name="Device actions")

    toolbox.get_by_role("link", name="Rename").click()
    page.get_by_label("Name").fill("Spare Sensor 2")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", name="Spare Sensor 2", level=1)).to_be_visible()

    toolbox.get_by_role("link", name="Erase data").click()
    expect(page.get_by_role("heading", name="Erase the data of Spare Sensor 2?")).to_be_visible()
    shoot(page, "device-erase")
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("navigation", name="Device sections").get_by_role(
        "link", name="Developer Tools"
    ).click()
    temperature = page.get_by_role("row", name=re.compile("Temperature"))
    expect(temperature).to_contain_text("5.0 °C")
    toolbox.get_by_role("link", name="Erase data").click()
    page.get_by_role("button", name="Erase data").click()
    page.get_by_role("navigation", name="Device sections").get_by_role(
        "link", name="Developer Tools"
    ).click()
    expect(temperature).to_contain_text("--")
    expect(temperature).to_contain_text("Never")

    toolbox.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete Spare Sensor 2?")).to_be_visible()
    page.get_by_role("button", name="Delete device").click()
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    expect(page.get_by_role("link", name="Spare Sensor 2")).to_have_count(0)
    expect(page.get_by_role("link", name="Greenhouse North")).to_be_visible()
    assert site.http.get(f"/external/api/get?token={token}&v1").status_code != 200
