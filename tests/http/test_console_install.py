"""The installable console's files, in process (issue #9 item 7): the service worker's headers and
the shell it stores, the offline page, the manifest without a session."""

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from console_site import ADMIN, acme_spec, sign_in

from inprocess import InProcessServer, in_process_server

SHELL = re.compile(r"^const SHELL = (\[.*\]);$", re.MULTILINE)
CACHE = re.compile(r'^const CACHE = "(pinbase-shell-[0-9a-f]{12})";$', re.MULTILINE)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """One application with Acme provisioned."""
    with in_process_server(tmp_path_factory.mktemp("install")) as server:
        server.provision(acme_spec())
        yield server


@pytest.fixture
def http(site: InProcessServer) -> Iterator[httpx.Client]:
    """A fresh client (an empty cookie jar) for the site."""
    with site.client() as client:
        yield client


def shell_of(worker: str) -> list[str]:
    """The URLs the worker stores when it installs."""
    found = SHELL.search(worker)
    assert found is not None, worker
    urls: list[str] = json.loads(found.group(1))
    return urls


def test_worker_may_control_the_console_and_is_always_revalidated(http: httpx.Client) -> None:
    """``/dashboard/sw.js`` is JavaScript, revalidated on every check, under the console's CSP,
    and allowed the scope ``/dashboard`` (the device list at ``/dashboard`` included)."""
    answer = http.get("/dashboard/sw.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["service-worker-allowed"] == "/dashboard"
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert CACHE.search(answer.text) is not None


def test_worker_stores_static_files_and_the_offline_page_all_served(http: httpx.Client) -> None:
    """The shell is versioned static files and the offline page, never a page of data, and
    every URL of it answers 200 (one failure would make the worker's installation fail)."""
    shell = shell_of(http.get("/dashboard/sw.js").text)
    static = [url for url in shell if url.startswith("/dashboard/static/")]
    assert set(shell) - set(static) == {"/dashboard/offline"}
    assert all("?v=" in url for url in static)
    assert any(url.startswith("/dashboard/static/pwa.js?v=") for url in static)
    assert not any("LICENSE" in url or url.endswith(".md") for url in static)
    for url in shell:
        assert http.get(url).status_code == 200, url


def test_offline_page_is_the_same_for_everyone(http: httpx.Client, site: InProcessServer) -> None:
    """The offline page, stored on phones, carries nothing of the user who loaded it."""
    signed_out = http.get("/dashboard/offline")
    assert signed_out.status_code == 200
    with site.client() as signed_in_http:
        sign_in(signed_in_http, ADMIN)
        signed_in = signed_in_http.get("/dashboard/offline")
    assert signed_in.text == signed_out.text
    assert ADMIN not in signed_in.text
    assert "csrf_token" not in signed_in.text


def test_manifest_is_served_without_a_session(http: httpx.Client) -> None:
    """Browsers fetch the manifest without cookies: it answers to anyone, as JSON."""
    answer = http.get("/dashboard/manifest.webmanifest")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/manifest+json"
    assert answer.json()["start_url"] == "/dashboard/devices"


def test_every_page_links_the_manifest_and_the_worker_script(http: httpx.Client) -> None:
    """The sign-in page (where a signed-out installed app opens) and the signed-in pages link
    the manifest and load ``pwa.js``, which registers the worker."""
    login = http.get("/dashboard/login").text
    sign_in(http, ADMIN)
    for page in (login, http.get("/dashboard/devices").text):
        assert '<link rel="manifest" href="/dashboard/manifest.webmanifest">' in page
        assert 'src="/dashboard/static/pwa.js?v=' in page
