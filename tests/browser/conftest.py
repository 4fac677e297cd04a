"""Headless Chromium for the page tests: Debian's build, not Playwright's download.

Playwright's own browser download cannot reach its host here (nor on CI), so the tests launch
the ``chromium`` package that ``.ci/run`` installs. Without it they skip locally, unless
``CI=true``: CI installs it, so its absence there is an error (as PostgreSQL's, tests/postgres.py).

Playwright runs for this folder only (module scope), not for the session as pytest-playwright's
fixtures would: its synchronous API leaves an asyncio loop marked running in the main thread
until it stops, and every later ``async`` test of the session would then fail to start its own.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from pinbase.testing import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium, stopped with its Playwright when the module's tests are done."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must install it (.ci/run)", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real ``pinbase serve`` on a fresh data folder: pages and their files over a socket."""
    with ServerProcess(tmp_path_factory.mktemp("pages")) as server:
        yield server


@pytest.fixture
def page(browser: Browser, page_server: ServerProcess) -> Iterator[Page]:
    """A fresh browser page whose relative URLs go to ``page_server``."""
    context = browser.new_context(base_url=page_server.base_url)
    yield context.new_page()
    context.close()
