"""The Chart and Map widgets (static/widgets/chart.js, map.js) in headless Chromium.

The console's pages are not merged yet, so a fixture page served by a small Starlette app mounts
each widget. That app serves the package's real static folder and the real chart endpoint over
in-process services holding stored history (tests/inprocess.py); the browser reaches it through
Playwright's request routing (no socket), and every other host is unreachable, as on a server
without internet. ``caller_of`` maps the fixture's cookie to the caller of a provisioned user
(the console's sessions are not merged yet either). Screenshots at 1280 and 375 px go to
/tmp/pinbase-screenshots/.
"""

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from asgi_routing import SESSION, Browsing, signed_in
from playwright.sync_api import Browser, Page, expect
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.routing import Route as StarletteRoute
from starlette.staticfiles import StaticFiles

import pinbase.http.console
from inprocess import InProcessServer, in_process_server
from pinbase.domain.ids import DatastreamId, DeviceId, OrgId
from pinbase.domain.points import Point
from pinbase.http.console.chart_data import chart_routes
from pinbase.services.oauth import Caller

SCREENSHOTS = Path(tempfile.gettempdir()) / "pinbase-screenshots"
STATIC = Path(pinbase.http.console.__file__).parent / "static"
MINUTE_MS = 60_000
TRACK = [(-73.9870 + n * 0.002, 40.7250 + n * 0.001) for n in range(5)]

SPEC = {
    "organization": {"name": "Widgets"},
    "users": [{"email": "viewer@example.com", "name": "Viewer", "roleId": 1, "password": "pw"}],
    "templates": [
        {
            "name": "Tank",
            "datastreams": [
                {"id": 1, "label": "Level", "pin": 1, "type": "DOUBLE"},
                {"id": 2, "label": "Flow", "pin": 2, "type": "DOUBLE"},
            ],
        }
    ],
    "devices": [{"name": "Tank 1", "template": "Tank"}],
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/static/widgets/widgets.css">
<style>body {{ font-family: sans-serif; margin: 16px; }}</style>
</head><body><main><div id="widget"></div></main>
<script type="module">{script}</script>
</body></html>"""

CHART_SCRIPT = """
import {{ mountChart }} from "/static/widgets/chart.js";
window.widget = mountChart(document.getElementById("widget"), {{
  url: "/dashboard/api/devices/{device_id}/chart",
  title: "Tank levels",
  range: "1h",
  series: [
    {{ dataStreamId: 1, label: "Level", units: "%", decimals: "#.##" }},
    {{ dataStreamId: 2, label: "Flow", units: "l/min", decimals: "#.#" }},
  ],
}});
"""

MAP_SCRIPT = """
import {{ mountMap }} from "/static/widgets/map.js";
window.widget = mountMap(document.getElementById("widget"), {{
  title: "Truck position",
  tileUrl: {tile_url},
  points: {points},
}});
"""


class Site:
    """The fixture pages, the static folder and the chart endpoint over stored history."""

    def __init__(self, server: InProcessServer) -> None:
        self.server = server
        created = server.provision(SPEC)
        self.device_id = int(created["devices"][0]["id"])
        org_id = OrgId(created["users"][0]["orgId"])
        caller = Caller(
            client_id="browser-test", org_id=org_id, scope=server.services.directory.subtree(org_id)
        )
        self.now = server.services.clock()
        self._store_history()

        async def caller_of(conn: HTTPConnection) -> Caller | None:
            return caller if conn.cookies.get("session") == SESSION else None

        self.app = Starlette(
            routes=[
                *chart_routes(server.services, server.settings, caller_of),
                Mount("/static", app=StaticFiles(directory=STATIC)),
                StarletteRoute("/fixture/chart", self._chart_page),
                StarletteRoute("/fixture/map", self._map_page),
            ]
        )

    def _store_history(self) -> None:
        """Two hours of points every 10 s: Level the minute of the hour, Flow its half."""
        device = DeviceId(self.device_id)
        first = self.now - 2 * 3_600_000
        points = []
        self.stamps = range(first - first % 10_000, self.now, 10_000)
        for ts in self.stamps:
            minute = ts // MINUTE_MS % 60
            points.append(Point(device, DatastreamId(1), ts, float(minute)))
            points.append(Point(device, DatastreamId(2), ts, minute / 2))
        self.server.run(lambda: self.server.services.store.append_points(points, current=[]))

    async def _chart_page(self, request: Request) -> HTMLResponse:
        script = CHART_SCRIPT.format(device_id=self.device_id)
        return HTMLResponse(PAGE.format(title="Chart widget", script=script))

    async def _map_page(self, request: Request) -> HTMLResponse:
        points = [[self.now - (5 - n) * MINUTE_MS, lon, lat] for n, (lon, lat) in enumerate(TRACK)]
        tile_url = request.query_params.get("tiles", "")
        script = MAP_SCRIPT.format(
            tile_url=orjson.dumps(tile_url).decode(), points=orjson.dumps(points).decode()
        )
        return HTMLResponse(PAGE.format(title="Map widget", script=script))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """In-process services with a device's stored history, and the fixture application."""
    with in_process_server(tmp_path_factory.mktemp("widgets")) as server:
        yield Site(server)


@pytest.fixture
def browsing(browser: Browser, site: Site) -> Iterator[Browsing]:
    """A fresh context, 1280 px wide, with the session cookie."""
    with signed_in(browser, site.app, site.server.run, height=900) as browsing:
        yield browsing


def screenshot(page: Page, name: str) -> None:
    """The page at 1280 px, then at 375 px (a phone), into SCREENSHOTS."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-1280.png", full_page=True)
    page.set_viewport_size({"width": 375, "height": 812})
    page.wait_for_timeout(300)  # the plot follows its box on the next frame (ResizeObserver)
    page.screenshot(path=SCREENSHOTS / f"{name}-375.png", full_page=True)


def body_rows(page: Page) -> Any:
    """The data table's body rows (the header row is the first of all rows)."""
    table = page.get_by_role("table", name=re.compile(r"^Tank levels, "))
    return table.get_by_role("row").filter(has=page.get_by_role("cell"))


def buckets(site: Site, width_ms: int) -> int:
    """How many buckets of ``width_ms`` (aligned to UTC) hold stored points."""
    return len({ts // width_ms for ts in site.stamps})


def test_chart_shows_stored_history_with_ranges_and_a_data_table(
    browsing: Browsing, site: Site
) -> None:
    """The chart loads an hour of two stored series; its radiogroup switches ranges by mouse and
    arrow keys; its data table lists one row per minute with exact Avg/Min/Max."""
    page = browsing.page
    page.goto("/fixture/chart")
    chart = page.get_by_role("figure", name="Tank levels")
    expect(chart).to_be_visible()
    ranges = chart.get_by_role("radiogroup", name="Time range of Tank levels")
    expect(ranges.get_by_role("radio")).to_have_count(7)
    expect(ranges.get_by_role("radio", name="1h")).to_have_attribute("aria-checked", "true")
    expect(chart.get_by_role("img", name="Tank levels: Level, Flow")).to_be_visible()
    expect(chart.locator("canvas")).to_be_visible()

    chart.get_by_role("button", name="Show data table").click()
    table = chart.get_by_role("table", name="Tank levels, 1h")
    expect(table.get_by_role("columnheader", name="Level Avg")).to_be_visible()
    expect(body_rows(page).first).to_be_visible()
    # The window is 60 whole minutes ending with the current one, which holds no point once the
    # clock has passed the minute the history was stored in.
    assert body_rows(page).count() in (59, 60)
    # Level is the minute of the hour at every point of that minute, so Avg = Min = Max.
    first = body_rows(page).first.get_by_role("cell")
    expect(first.nth(0)).to_have_text(re.compile(r"^\d{1,2}\.00 %$"))
    expect(first.nth(3)).to_have_text(re.compile(r"^\d{1,2}\.\d l/min$"))
    screenshot(page, "chart-widget")

    page.set_viewport_size({"width": 1280, "height": 900})
    ranges.get_by_role("radio", name="6h").click()
    expect(ranges.get_by_role("radio", name="6h")).to_have_attribute("aria-checked", "true")
    expect(body_rows(page)).to_have_count(buckets(site, MINUTE_MS))  # two hours of minutes
    page.keyboard.press("ArrowRight")
    expect(ranges.get_by_role("radio", name="1d")).to_have_attribute("aria-checked", "true")
    expect(ranges.get_by_role("radio", name="1d")).to_be_focused()
    expect(body_rows(page)).to_have_count(buckets(site, 5 * MINUTE_MS))
    assert browsing.foreign == []


def test_live_range_appends_pushed_points(browsing: Browsing) -> None:
    """On Live, a point given to appendLive joins the drawn data and its table at once."""
    page = browsing.page
    page.goto("/fixture/chart")
    chart = page.get_by_role("figure", name="Tank levels")
    chart.get_by_role("radio", name="Live").click()
    chart.get_by_role("button", name="Show data table").click()
    expect(body_rows(page).first).to_be_visible()
    shown = body_rows(page).count()
    # A point every 10 s over the last 15 minutes; the oldest may have aged out meanwhile.
    assert shown in (89, 90)
    page.evaluate("window.widget.appendLive(1, Date.now() + 1000, 42.5)")
    expect(body_rows(page)).to_have_count(shown + 1)
    expect(body_rows(page).last.get_by_role("cell").first).to_have_text("42.50 %")
    expect(chart.get_by_role("button", name="Hide data table")).to_have_attribute(
        "aria-expanded", "true"
    )


def test_map_shows_marker_track_and_list_without_tiles(browsing: Browsing) -> None:
    """No tile URL: no tile is asked for anywhere, yet the marker, track and text list show."""
    page = browsing.page
    page.goto("/fixture/map")
    region = page.get_by_role("region", name="Truck position")
    expect(region).to_be_visible()
    lon, lat = TRACK[-1]
    marker = region.get_by_role("button", name=re.compile(r"^Truck position: "))
    expect(marker).to_be_visible()
    assert marker.evaluate("icon => icon.complete && icon.naturalWidth > 0")  # image served
    points = region.get_by_role("list", name="Latest points").get_by_role("listitem")
    expect(points).to_have_count(5)
    expect(points.first).to_contain_text(f"latitude {lat:.5f}, longitude {lon:.5f}")
    expect(region.locator("path.leaflet-interactive")).to_have_count(1)  # the track
    screenshot(page, "map-widget")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.evaluate("window.widget.appendPoint(Date.now(), -73.9, 40.8)")
    expect(points).to_have_count(6)
    expect(points.first).to_contain_text("latitude 40.80000, longitude -73.90000")
    expect(marker).to_be_in_viewport()
    assert browsing.foreign == []


def test_map_loads_tiles_from_the_configured_url(browsing: Browsing) -> None:
    """With a tile URL (OpenStreetMap's, say), the map asks that host for its tiles."""
    page = browsing.page
    page.goto("/fixture/map?tiles=https://tiles.example/{z}/{x}/{y}.png")
    expect(page.get_by_role("region", name="Truck position")).to_be_visible()
    page.wait_for_function("document.querySelectorAll('img.leaflet-tile').length > 0")
    assert browsing.foreign
    assert all(
        re.fullmatch(r"https://tiles\.example/\d+/\d+/\d+\.png", u) for u in browsing.foreign
    )
