"""Rendering console pages: the Jinja environment, versioned static URLs, the menu, error pages.

Pages are HTML first (Datasette's model, STYLE.md "The console"): every page works without
scripts, which only add live updates and controls. Static files are referenced with a hash of
their content in the query (``app.css?v=…``), so browsers may keep them for a year and still
fetch a changed file at once.
"""

import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from pinbase.http.paths import CONSOLE_PATH
from pinbase.services.console_caller import ConsoleCaller, Permission
from pinbase.services.console_sessions import ConsoleSession

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
STATIC_PATH = f"{CONSOLE_PATH}/static"

THEME_COLOUR = "#1a5fc8"
"""``--accent`` of app.css, for the browser's own chrome (``theme-color``, the manifest)."""

NO_STORE = "no-store"
"""Pages show one user's data: no shared cache keeps them, and Back after signing out refetches."""

SECURITY_HEADERS = {
    # Scripts, styles, images and connections from this server only: no CDN, no inline script.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # Invitation links carry their secret in the path: never send it to another site.
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class MenuItem:
    """A section of the left menu."""

    label: str
    href: str
    section: str


MENU = (
    (MenuItem(label="Devices", href=f"{CONSOLE_PATH}/devices", section="devices"), None),
    (
        MenuItem(label="Templates", href=f"{CONSOLE_PATH}/templates", section="templates"),
        Permission.TEMPLATES_VIEW,
    ),
    (
        MenuItem(label="Automations", href=f"{CONSOLE_PATH}/automations", section="automations"),
        Permission.AUTOMATIONS_VIEW,
    ),
    (
        MenuItem(
            label="Organizations", href=f"{CONSOLE_PATH}/organizations", section="organizations"
        ),
        Permission.ORGANIZATIONS_VIEW,
    ),
    (
        MenuItem(label="Users", href=f"{CONSOLE_PATH}/users", section="users"),
        Permission.USERS_VIEW,
    ),
    (
        MenuItem(label="Developer", href=f"{CONSOLE_PATH}/developer", section="developer"),
        Permission.DEVELOPER,
    ),
    (
        MenuItem(label="Webhooks", href=f"{CONSOLE_PATH}/webhooks", section="webhooks"),
        Permission.WEBHOOKS,
    ),
    (
        MenuItem(label="Blynk.Air", href=f"{CONSOLE_PATH}/air", section="air"),
        Permission.TEMPLATES_VIEW,
    ),
    (
        MenuItem(
            label="Notifications", href=f"{CONSOLE_PATH}/notifications", section="notifications"
        ),
        None,
    ),
)
"""Menu sections and the permission each needs (console.md §1.1: sections appear only if the
role allows them); every role sees Devices (at least its own)."""


def menu_for(caller: ConsoleCaller) -> list[MenuItem]:
    """The sections ``caller`` may open, in menu order."""
    return [item for item, needed in MENU if needed is None or caller.can(needed)]


@functools.cache
def static_url(name: str) -> str:
    """The URL of a file in ``static/``, versioned by its content."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"{STATIC_PATH}/{name}?v={digest}"


def moment(ms: int) -> str:
    """An epoch-millisecond time as ``2026-07-21 14:05 UTC``; ``Never`` for 0."""
    if ms <= 0:
        return "Never"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso_moment(ms: int) -> str:
    """An epoch-millisecond time in ISO 8601, for ``<time datetime>``."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


@functools.cache
def environment() -> Environment:
    """The console's Jinja environment: autoescaped, strict about undefined names."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = static_url
    env.globals["console_path"] = CONSOLE_PATH
    env.globals["theme_colour"] = THEME_COLOUR
    env.filters["moment"] = moment
    env.filters["iso_moment"] = iso_moment
    return env


def render(
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """``template`` rendered with ``context``, never cached, with the console's security headers."""
    body = environment().get_template(template).render(context)
    response = HTMLResponse(body, status_code=status)
    response.headers.update({**SECURITY_HEADERS, "Cache-Control": NO_STORE, **(headers or {})})
    return response


def signed_in_page(
    session: ConsoleSession,
    template: str,
    context: dict[str, Any],
    *,
    section: str,
    status: int = 200,
) -> HTMLResponse:
    """A page of the signed-in layout: menu, top bar with the user and Sign out, main area."""
    return render(
        template,
        {
            **context,
            "caller": session.caller,
            "csrf_token": session.csrf_token,
            "menu": menu_for(session.caller),
            "section": section,
        },
        status=status,
    )


def error_page(message: str, status: int) -> HTMLResponse:
    """A console error page (not found, too large, refused…): plain, no menu, a way back."""
    titles = {403: "Not allowed", 404: "Not found", 405: "Not allowed", 413: "Too large"}
    title = titles.get(status, "Something went wrong")
    return render("error.html", {"title": title, "message": message}, status=status)
