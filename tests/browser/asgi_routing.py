"""Answering a browser's requests from an ASGI application in the test process.

Fixture pages of widget tests are served by a small Starlette app over in-process services
(tests/inprocess.py); Playwright's request routing hands each request to it (no socket), and
every other host is unreachable, as on a server without internet.
"""

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Browser, BrowserContext, Route

Run = Callable[[Callable[[], Awaitable[Any]]], Any]
"""``InProcessServer.run``: a coroutine function run on the services' event loop."""

ORIGIN = "http://pinbase.test"

SESSION = "browser-session"
"""The session cookie of ``signed_in``: a fixture app's own session check accepts it."""


def forward(route: Route, app: Any, run: Run) -> None:
    """Answer ``route``'s request from ``app``; ``run`` runs a coroutine on the app's loop."""
    request = route.request
    headers = request.all_headers()

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=ORIGIN
        ) as client:
            return await client.request(
                request.method, request.url, headers=headers, content=request.post_data_buffer
            )

    answer: httpx.Response = run(send)
    kept = {
        k: v for k, v in answer.headers.items() if k not in {"content-encoding", "content-length"}
    }
    route.fulfill(status=answer.status_code, headers=kept, body=answer.content)


class Browsing:
    """A page whose requests to ``ORIGIN`` go to ``app``, and the foreign hosts it tried."""

    def __init__(self, context: BrowserContext, app: Any, run: Run) -> None:
        self.foreign: list[str] = []
        self.page = context.new_page()

        def route(route: Route) -> None:
            if urlsplit(route.request.url).hostname == urlsplit(ORIGIN).hostname:
                forward(route, app, run)
            else:
                self.foreign.append(route.request.url)
                route.abort("internetdisconnected")

        context.route("**/*", route)


@contextmanager
def signed_in(browser: Browser, app: Any, run: Run, *, height: int) -> Iterator[Browsing]:
    """A fresh context, 1280 px wide and ``height`` tall, with the ``SESSION`` cookie."""
    context = browser.new_context(base_url=ORIGIN, viewport={"width": 1280, "height": height})
    context.add_cookies([{"name": "session", "value": SESSION, "url": ORIGIN}])
    try:
        yield Browsing(context, app, run)
    finally:
        context.close()
