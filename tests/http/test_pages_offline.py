"""Every HTML page loads its scripts, stylesheets and icons from this server, never another host
(issue #8, "Works offline"), and those files are served from the package with long cache headers.
"""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
from starlette.routing import Route

from inprocess import InProcessServer
from pinbase.http.docs import IMMUTABLE

LINKING_ATTRIBUTES = {"src", "href"}


class Links(HTMLParser):
    """Every ``src`` and ``href`` of a page, and the URLs quoted in its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        self.urls += [value for name, value in attrs if name in LINKING_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.urls += re.findall(r"""["'](\w+:/?/[^"']*)["']""", data)


def html_pages(app_server: InProcessServer, http: httpx.Client) -> dict[str, str]:
    """Path and body of every page a parameterless ``GET`` route answers with HTML."""
    routes = [*app_server.app.routes, *app_server.app.router.default.routes]
    paths = [
        route.path
        for route in routes
        if isinstance(route, Route) and "GET" in (route.methods or ()) and "{" not in route.path
    ]
    pages = {}
    for path in paths:
        answer = http.get(path)
        if answer.headers.get("content-type", "").startswith("text/html"):
            pages[path] = answer.text
    return pages


def links(page: str) -> list[str]:
    parser = Links()
    parser.feed(page)
    return parser.urls


def test_docs_is_among_the_pages_checked(app_server: InProcessServer, http: httpx.Client) -> None:
    """The enumeration finds ``/docs``, so the checks below hold for it."""
    assert "/docs" in html_pages(app_server, http)


def test_no_page_links_to_another_host(app_server: InProcessServer, http: httpx.Client) -> None:
    """No ``src``, ``href`` or inline-script URL of any page names a scheme or another host."""
    for path, page in html_pages(app_server, http).items():
        foreign = [url for url in links(page) if urlsplit(url).scheme or url.startswith("//")]
        assert foreign == [], path


def test_every_linked_file_is_served_with_long_cache_headers(
    app_server: InProcessServer, http: httpx.Client
) -> None:
    """Each script, stylesheet and icon a page links is served here, cacheable for a year."""
    for page in html_pages(app_server, http).values():
        for url in links(page):
            answer = http.get(url)
            assert answer.status_code == 200, url
            assert answer.headers["cache-control"] == IMMUTABLE, url


def test_unknown_vendored_file_answers_the_json_404(http: httpx.Client) -> None:
    """A missing or escaping path under the vendor folder is the app's ordinary 404."""
    for path in ("/static/vendor/missing.js", "/static/vendor/%2e%2e/%2e%2e/docs.py"):
        answer = http.get(path)
        assert (answer.status_code, answer.json()) == (404, {"error": {"message": "Not found."}})
