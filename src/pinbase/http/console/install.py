"""The installable console (issue #9 item 7, console.md §5.3): web app manifest, service worker,
offline page.

"Add to Home Screen" needs a manifest and a service worker in whose scope the start page lies.
Both are served under ``/dashboard/`` (``/dashboard/manifest.webmanifest``,
``/dashboard/sw.js``), and both scopes are ``/dashboard``: the console and nothing else of the
server (the Device and Platform APIs never pass through the worker). The scope has no trailing
slash because ``/dashboard`` itself is a page (the device list, where signing in lands and the
brand links): with ``/dashboard/``, the worker would not control it and the installed app would
show it as a foreign page. A worker's scope may reach above its script's folder only when the
script says so (``Service-Worker-Allowed``).

The worker keeps the app shell only: every file of ``static/`` under its versioned URL, and the
offline page, which holds no data. Pages and JSON answers, which carry one user's devices, go to
the network every time and are never stored; without a network a page navigation shows the
offline page, and a write is never kept to be sent later (a switch flipped offline must not fire
when the phone reconnects an hour later). The cache's name carries a hash of everything it
holds, so a changed file makes a new worker that replaces the old cache.
"""

import functools
import hashlib
import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pinbase.http.console.devices import DEVICES_PATH
from pinbase.http.console.pages import (
    SECURITY_HEADERS,
    STATIC_DIR,
    STATIC_PATH,
    TEMPLATES_DIR,
    THEME_COLOUR,
    environment,
    render,
    static_url,
)
from pinbase.http.paths import CONSOLE_PATH

MANIFEST_PATH = f"{CONSOLE_PATH}/manifest.webmanifest"
WORKER_PATH = f"{CONSOLE_PATH}/sw.js"
OFFLINE_PATH = f"{CONSOLE_PATH}/offline"
NOTIFICATIONS_PATH = f"{CONSOLE_PATH}/notifications"
"""The notification list (``notifications_pages``): where a push without its own link opens."""

BACKGROUND_COLOUR = "#f5f6f8"
"""``--bg`` of app.css: the splash screen while the app starts."""

SHELL_SUFFIXES = (".css", ".js", ".png", ".svg", ".woff2")
"""What of ``static/`` the worker keeps: what a page loads, not the vendors' LICENSE files."""

REVALIDATE = "no-cache"
"""The manifest and the worker change with the server's files: always asked again."""


def manifest() -> dict[str, object]:
    """The web app manifest: opens the device list full screen, icons of ``static/icons``."""
    icons = [
        ("icons/icon-192.png", "192x192", "any"),
        ("icons/icon-512.png", "512x512", "any"),
        ("icons/icon-maskable-512.png", "512x512", "maskable"),
    ]
    return {
        "id": CONSOLE_PATH,
        "name": "Pinbase",
        "short_name": "Pinbase",
        "description": "See and control your devices.",
        "lang": "en",
        "start_url": DEVICES_PATH,
        "scope": CONSOLE_PATH,
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {"src": static_url(name), "sizes": sizes, "type": "image/png", "purpose": purpose}
            for name, sizes, purpose in icons
        ],
    }


def shell() -> list[str]:
    """The URLs the worker stores when it installs: static files (versioned) and the offline
    page."""
    files = sorted(
        path.relative_to(STATIC_DIR).as_posix()
        for path in STATIC_DIR.rglob("*")
        if path.is_file() and path.suffix in SHELL_SUFFIXES
    )
    return [*(static_url(name) for name in files), OFFLINE_PATH]


@functools.cache
def worker_script() -> str:
    """``sw.js``, with the shell's URLs and a cache name that changes when any of them does."""
    urls = shell()
    offline_page = environment().get_template("offline.html").render()
    source = (TEMPLATES_DIR / "sw.js").read_text()
    digest = hashlib.sha256("\n".join([*urls, offline_page, source]).encode()).hexdigest()[:12]
    return (
        environment()
        .get_template("sw.js")
        .render(
            cache_name=f"pinbase-shell-{digest}",
            shell=urls,
            offline_path=OFFLINE_PATH,
            static_prefix=f"{STATIC_PATH}/",
            console_path=CONSOLE_PATH,
            inbox_path=NOTIFICATIONS_PATH,
            icon=static_url("icons/icon-192.png"),
        )
    )


def install_routes() -> list[BaseRoute]:
    """``/dashboard/manifest.webmanifest``, ``/dashboard/sw.js`` and ``/dashboard/offline``:
    none needs a session (the browser fetches the manifest without cookies)."""

    async def manifest_file(request: Request) -> Response:
        return Response(
            json.dumps(manifest()),
            media_type="application/manifest+json",
            headers={"Cache-Control": REVALIDATE, "X-Content-Type-Options": "nosniff"},
        )

    async def worker(request: Request) -> Response:
        return Response(
            worker_script(),
            media_type="text/javascript",
            headers={
                **SECURITY_HEADERS,
                "Cache-Control": REVALIDATE,
                "Service-Worker-Allowed": CONSOLE_PATH,
            },
        )

    async def offline(request: Request) -> Response:
        return render("offline.html", {})

    return [
        Route(MANIFEST_PATH, manifest_file, methods=["GET"]),
        Route(WORKER_PATH, worker, methods=["GET"]),
        Route(OFFLINE_PATH, offline, methods=["GET"]),
    ]
