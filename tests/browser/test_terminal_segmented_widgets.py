"""The Terminal and Segmented Switch widgets (static/widgets/terminal.js, segmented_switch.js) in
headless Chromium, mounted through the widget contract by a fixture page.

The dashboard runtime that mounts widgets on the device page lands separately, so a small
Starlette app serves the package's real static folder, fixture pages that mount one widget each
with a recording ``send``, and the real recent-values endpoint (``http/console/device_tabs.py``)
over in-process services holding a String datastream's history. Screenshots at 1280 and 375 px
go to /tmp/pinbase-screenshots/console-widget-<type>-<width>.png.
"""

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from asgi_routing import SESSION, Browsing, signed_in
from playwright.sync_api import Browser, Page, expect
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import pinbase.http.console
from inprocess import InProcessServer, in_process_server
from pinbase.domain.ids import DatastreamId, DeviceId, OrgId
from pinbase.http.console.device_tabs import device_tab_routes
from pinbase.services.console_caller import ConsoleCaller, permissions_of

SCREENSHOTS = Path(tempfile.gettempdir()) / "pinbase-screenshots"
STATIC = Path(pinbase.http.console.__file__).parent / "static"

SPEC = {
    "organization": {"name": "Widgets"},
    "users": [{"email": "admin@example.com", "name": "Admin", "roleId": 1, "password": "pw"}],
    "templates": [
        {
            "name": "Boiler",
            "datastreams": [{"id": 2, "label": "Console", "pin": 2, "type": "STRING"}],
        }
    ],
    "devices": [{"name": "Boiler 1", "template": "Boiler"}],
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/static/widgets/widgets.css">
<style>body {{ font-family: sans-serif; margin: 16px; }}</style>
</head><body><main><div id="widget"></div></main>
<script type="module">
import {{ mount }} from "/static/widgets/{module}.js";
window.sent = [];
const ctx = {ctx};
ctx.send = (value) => window.sent.push(value);
window.widget = mount(document.getElementById("widget"), ctx);
</script>
</body></html>"""

ENUM_MODE = {
    "id": 3,
    "name": "Mode",
    "label": "Mode",
    "type": "ENUM",
    "options": [
        {"value": 0, "label": "Off"},
        {"value": 1, "label": "Auto"},
        {"value": 2, "label": "On"},
    ],
}


class Site:
    """Stored terminal lines, the recent-values endpoint and the fixture pages."""

    def __init__(self, server: InProcessServer) -> None:
        self.server = server
        created = server.provision(SPEC)
        self.device_id = int(created["devices"][0]["id"])
        user = created["users"][0]
        org = OrgId(user["orgId"])
        caller = ConsoleCaller(
            user_id=user["id"],
            email=user["email"],
            name="Admin",
            role_id=1,
            org_id=org,
            scope=server.services.directory.subtree(org),
            permissions=permissions_of(1),
        )

        async def caller_of(conn: HTTPConnection) -> ConsoleCaller | None:
            return caller if conn.cookies.get("session") == SESSION else None

        server.run(self._store_lines)
        self.app = Starlette(
            routes=[
                *device_tab_routes(server.services, server.settings, caller_of),
                Mount("/static", app=StaticFiles(directory=STATIC)),
                Route("/fixture/{module}", self._page),
            ]
        )

    async def _store_lines(self) -> None:
        """``boot``, a ``clr``, then three lines: a reload shows the three."""
        services = self.server.services
        bound = services.directory.by_id(DeviceId(self.device_id))
        assert bound is not None
        console = bound.template.datastream(DatastreamId(2))
        first = services.clock() - 10_000
        for n, line in enumerate(("boot", "clr", "ready", "temp 71", "temp 72")):
            await services.telemetry.record(
                bound.device, [(console, line)], origin="device_http", ts=first + n
            )

    async def _page(self, request: Request) -> HTMLResponse:
        module = request.path_params["module"]
        ctx = orjson.loads(request.query_params["ctx"])
        if module == "terminal":
            ctx["recentUrl"] = f"/dashboard/api/devices/{self.device_id}/datastreams/2/recent"
        page = PAGE.format(title=module, module=module, ctx=orjson.dumps(ctx).decode())
        return HTMLResponse(page)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """In-process services with a terminal's stored lines, and the fixture application."""
    with in_process_server(tmp_path_factory.mktemp("widgets")) as server:
        yield Site(server)


@pytest.fixture
def browsing(browser: Browser, site: Site) -> Iterator[Browsing]:
    """A fresh context, 1280 px wide, with the session cookie."""
    with signed_in(browser, site.app, site.server.run, height=800) as browsing:
        yield browsing


def open_widget(browsing: Browsing, module: str, ctx: dict[str, Any]) -> Page:
    """The fixture page of ``module`` mounted with ``ctx`` (``send`` records into ``sent``)."""
    page = browsing.page
    page.goto(f"/fixture/{module}?ctx={quote(orjson.dumps(ctx).decode())}")
    return page


def sent(page: Page) -> list[Any]:
    """What the widget handed to ``send`` so far."""
    values: list[Any] = page.evaluate("window.sent")
    return values


def shoot(page: Page, name: str) -> None:
    """The page at 1280 px, then at 375 px (a phone), back at 1280 px afterwards."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"console-widget-{name}-1280.png", full_page=True)
    page.set_viewport_size({"width": 375, "height": 812})
    page.screenshot(path=SCREENSHOTS / f"console-widget-{name}-375.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def terminal_ctx(**settings: Any) -> dict[str, Any]:
    """A Terminal on the String datastream Console, its current value the last stored line."""
    datastream = {"id": 2, "name": "Console", "label": "Console", "type": "STRING"}
    return {"datastream": datastream, "settings": settings, "value": "temp 72", "properties": {}}


def test_terminal_shows_recent_lines_sends_typed_ones_and_clears(
    browsing: Browsing,
) -> None:
    """A reload shows the lines stored since the last ``clr``; Enter sends the typed line and
    empties the input; an update adds a line, a ``clr`` update clears the screen; a disabled
    terminal sends nothing."""
    page = open_widget(browsing, "terminal", terminal_ctx())
    log = page.get_by_role("log", name="Console")
    expect(log).to_have_attribute("aria-live", "polite")
    lines = log.locator(".terminal-line")
    expect(lines).to_have_text(["ready", "temp 71", "temp 72"])

    box = page.get_by_role("textbox", name="Console")
    expect(box).to_have_attribute("maxlength", "255")
    box.fill("set point 21")
    box.press("Enter")
    assert sent(page) == ["set point 21"]
    expect(box).to_have_value("")
    page.evaluate("widget.update('set point 21', Date.now())")  # the write's echo
    expect(lines).to_have_text(["ready", "temp 71", "temp 72", "set point 21"])
    shoot(page, "terminal")

    page.evaluate("widget.update('clr', Date.now())")
    expect(lines).to_have_count(0)
    page.evaluate("widget.setProperty('isDisabled', 'true')")
    expect(box).not_to_be_editable()
    expect(box).to_have_attribute("aria-disabled", "true")
    box.evaluate("box => { box.value = 'ignored'; }")
    box.press("Enter")
    assert sent(page) == ["set point 21"]
    page.evaluate("widget.setProperty('label', 'Boiler shell')")
    expect(page.get_by_role("log", name="Boiler shell")).to_be_visible()
    page.evaluate("widget.setProperty('isHidden', '1')")
    expect(page.get_by_role("log", name="Boiler shell")).to_be_hidden()


def test_terminal_without_new_lines_appends_to_the_last_line(browsing: Browsing) -> None:
    """With "Add new line" off, an update continues the last line."""
    page = open_widget(browsing, "terminal", terminal_ctx(newLine=False))
    lines = page.get_by_role("log", name="Console").locator(".terminal-line")
    expect(lines).to_have_text(["readytemp 71temp 72"])
    page.evaluate("widget.update('!', Date.now())")
    expect(lines).to_have_text(["readytemp 71temp 72!"])


def test_segmented_switch_sends_the_enum_row_by_mouse_and_keyboard(browsing: Browsing) -> None:
    """An Enum datastream's rows are radios named by their labels; clicking one sends its
    incoming value, arrow keys move and send; a value matching no row selects nothing."""
    ctx = {"datastream": ENUM_MODE, "settings": {}, "value": 0, "properties": {}}
    page = open_widget(browsing, "segmented_switch", ctx)
    group = page.get_by_role("radiogroup", name="Mode")
    expect(group.get_by_role("radio")).to_have_count(3)
    expect(group.get_by_role("radio", name="Off")).to_be_checked()
    group.get_by_role("radio", name="Auto").click()
    expect(group.get_by_role("radio", name="Auto")).to_be_checked()
    assert sent(page) == [1]
    page.keyboard.press("ArrowRight")
    expect(group.get_by_role("radio", name="On")).to_be_checked()
    expect(group.get_by_role("radio", name="On")).to_be_focused()
    assert sent(page) == [1, 2]
    shoot(page, "segmented-switch")

    page.evaluate("widget.update(0, Date.now())")
    expect(group.get_by_role("radio", name="Off")).to_be_checked()
    page.evaluate("widget.update(7, Date.now())")
    for name in ("Off", "Auto", "On"):
        expect(group.get_by_role("radio", name=name)).not_to_be_checked()
    page.evaluate("widget.setProperty('labels', ['Stop', 'Run', 'Boost'])")
    expect(group.get_by_role("radio", name="Boost")).to_be_visible()
    page.evaluate("widget.setProperty('isDisabled', 'true')")
    run = group.get_by_role("radio", name="Run")
    expect(run).to_be_disabled()  # aria-disabled: still focusable, refuses the change
    run.click(force=True)
    expect(group.get_by_role("radio", name="Run")).not_to_be_checked()
    assert sent(page) == [1, 2]


def test_segmented_switch_on_an_integer_sends_the_index(browsing: Browsing) -> None:
    """An Integer datastream with configured labels sends the chosen label's index; Tab then
    Space chooses from the keyboard."""
    datastream = {"id": 4, "name": "Fan", "label": "Fan", "type": "INT", "min": 0, "max": 2}
    ctx = {"datastream": datastream, "settings": {"labels": ["Low", "Mid", "High"]}}
    page = open_widget(browsing, "segmented_switch", {**ctx, "value": None, "properties": {}})
    group = page.get_by_role("radiogroup", name="Fan")
    group.get_by_role("radio", name="High").click()
    assert sent(page) == [2]
    page.reload()
    page.keyboard.press("Tab")
    expect(group.get_by_role("radio", name="Low")).to_be_focused()
    page.keyboard.press("Space")
    expect(group.get_by_role("radio", name="Low")).to_be_checked()
    assert sent(page) == [0]
