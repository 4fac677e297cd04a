"""``/docs`` renders Swagger UI in headless Chromium with every other host unreachable (issue #8,
"Works offline"): a home server without internet shows its API documentation."""

import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect

SCREENSHOTS = Path(tempfile.gettempdir()) / "pinbase-screenshots"
"""Outside the repository: a person looks at the page as the test saw it."""

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def test_docs_render_with_no_other_host_reachable(page: Page) -> None:
    """Swagger UI lists the Device API's operations, and the page asked no other host for
    anything (every such request would have been aborted, as on a network without internet)."""
    foreign: list[str] = []

    def offline(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK_HOSTS:
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", offline)
    page.goto("/docs")

    expect(page.get_by_role("heading", name="Device HTTPS API")).to_be_visible()
    operation = page.get_by_role("button", name="GET /external/api/get DEV-01")
    operation.click()
    expect(page.get_by_role("button", name="Try it out")).to_be_visible()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "docs.png", full_page=False)
    assert foreign == []
