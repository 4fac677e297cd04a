"""The Devices page's "Add to Segment" bulk action in headless Chromium against a real
``pinbase serve`` (console.md Devices "Segments" and "Bulk actions", issue #10): the bar shows
once a row is ticked and counts the selection, the head box selects every row, and adding makes
a segment the page then filters by. Screenshots at 1280 and 375 px go to
/tmp/pinbase-screenshots/console-segments-<width>.png."""

from collections.abc import Iterator
from typing import Any

import pytest
from console_flow import log_in, shoot
from playwright.sync_api import Browser, Page, expect

from pinbase.testing import ServerProcess, provision

PASSWORD = "correct horse battery"
ADMIN = "ada@acme.test"
GREENHOUSES = ("North house", "South house", "West house")

ACME: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [{"email": ADMIN, "name": "Ada Admin", "roleId": 1, "password": PASSWORD}],
    "templates": [{"name": "Greenhouse"}],
    "devices": [{"name": name, "template": "Greenhouse"} for name in GREENHOUSES],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Acme with three greenhouses, served."""
    data = tmp_path_factory.mktemp("segments-pages")
    provision(ACME, data_dir=data)
    with ServerProcess(data) as running:
        yield running


def devices_page(browser: Browser, server: ServerProcess, width: int) -> Page:
    """Signed in as the Admin on the Devices page, ``width`` px wide."""
    context = browser.new_context(
        base_url=server.base_url, viewport={"width": width, "height": 800}, has_touch=width < 600
    )
    page = context.new_page()
    log_in(page, ADMIN, PASSWORD)
    return page


@pytest.mark.parametrize("width", [1280, 375])
def test_ticking_devices_shows_the_bar_and_adds_them_to_a_new_segment(
    browser: Browser, server: ServerProcess, width: int
) -> None:
    """No bar before a row is ticked; two ticked: "2 devices selected."; naming a new segment
    and adding opens it, listing those two only; the page does not scroll sideways."""
    page = devices_page(browser, server, width)
    bar = page.get_by_role("group", name="Add to Segment")
    expect(bar).to_be_hidden()
    page.get_by_label("Select North house").check()
    page.get_by_label("Select West house").check()
    expect(bar).to_be_visible()
    expect(bar.get_by_role("status")).to_have_text("2 devices selected.")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shoot(page, f"console-segments-{width}")
    segment = f"Watered {width}"
    bar.get_by_label("New segment").or_(bar.get_by_label("or a new segment")).fill(segment)
    bar.get_by_role("button", name="Add to Segment").click()
    segments = page.get_by_role("navigation", name="Segments")
    expect(segments.get_by_role("link", name=f"{segment} (2)")).to_have_attribute(
        "aria-current", "page"
    )
    table = page.get_by_role("table", name="Devices")
    expect(table.get_by_role("rowheader")).to_have_text(["North house", "West house"])
    page.context.close()


def test_the_head_box_selects_every_row_and_unticking_one_makes_it_partial(
    browser: Browser, server: ServerProcess
) -> None:
    """The head box ticks the three rows ("3 devices selected."); unticking one leaves it
    half-set (indeterminate); unticking all hides the bar again."""
    page = devices_page(browser, server, 1280)
    every = page.get_by_label("Select every device shown")
    every.check()
    bar = page.get_by_role("group", name="Add to Segment")
    expect(bar.get_by_role("status")).to_have_text("3 devices selected.")
    page.get_by_label("Select South house").uncheck()
    expect(bar.get_by_role("status")).to_have_text("2 devices selected.")
    assert page.evaluate("document.getElementById('select-all').indeterminate")
    every.check()
    every.uncheck()
    expect(bar).to_be_hidden()
    page.context.close()
