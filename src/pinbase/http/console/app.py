"""``create_console_app``: the web console, served under ``/dashboard`` (issue #9).

``http/app.py`` hands every ``/dashboard…`` request (HTTP and WebSocket) straight to this
application, so no legacy ``/{token}/…`` route ever sees one. In front of every route runs
``ConsoleSessionMiddleware`` (cookie → session, the CSRF rule); errors answer as an HTML page, or
in the JSON error shape under ``/dashboard/api/…`` and on the socket (``http.paths.Family``).
"""

import os

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from pinbase.http.console.air_pages import air_routes
from pinbase.http.console.automation_pages import automation_routes
from pinbase.http.console.chart_data import chart_routes
from pinbase.http.console.developer_pages import developer_routes
from pinbase.http.console.device_tabs import device_tab_routes
from pinbase.http.console.devices import device_routes
from pinbase.http.console.install import install_routes
from pinbase.http.console.live_socket import live_routes
from pinbase.http.console.new_device import new_device_routes
from pinbase.http.console.notification_log_pages import notification_log_routes
from pinbase.http.console.notifications_pages import notification_routes
from pinbase.http.console.organizations_pages import organization_routes
from pinbase.http.console.pages import (
    STATIC_DIR,
    STATIC_PATH,
    error_page,
)
from pinbase.http.console.push_api import push_routes
from pinbase.http.console.segment_pages import segment_routes
from pinbase.http.console.session import (
    ConsoleSessionMiddleware,
    console_caller,
    current_session,
)
from pinbase.http.console.sign_in import INVITE_PATH, LOGIN_PATH, sign_in_routes
from pinbase.http.console.templates_pages import template_routes
from pinbase.http.console.users_pages import user_routes
from pinbase.http.console.webhook_pages import webhook_routes
from pinbase.http.paths import Family, family_of
from pinbase.http.responses import error_response, log_outage, server_error
from pinbase.services.container import Services
from pinbase.settings import Settings
from pinbase.storage.availability import is_outage

IMMUTABLE = "public, max-age=31536000, immutable"
"""A file asked for with its content hash (``pages.static_url``) never changes under that URL."""

NOT_FOUND = "There is nothing here."
NOT_ALLOWED = "This page does not accept that request."
STORAGE_UNAVAILABLE = "The database cannot be reached just now. Nothing was saved; try again."


class ConsoleFiles(StaticFiles):
    """``static/``: cached for a year when asked for by content hash, revalidated otherwise."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """Starlette's answer (``ETag``, ``304``) with the cache rule above."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        versioned = scope.get("query_string", b"").startswith(b"v=")
        response.headers["Cache-Control"] = IMMUTABLE if versioned else "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def refusal(path: str, message: str, status: int = 403) -> Response:
    """An error answer in the format of ``path``'s family: JSON for the console's JSON
    endpoints and socket, an HTML page otherwise."""
    if family_of(path) is Family.CONSOLE_API:
        return error_response(message, status)
    return error_page(message, status)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        return refusal(request.url.path, NOT_ALLOWED, 405)
    return refusal(request.url.path, NOT_FOUND, 404)


async def _server_error(request: Request, exc: Exception) -> Response:
    """A database that cannot be reached: 503 in the console's format, for the person to try
    again. Anything else is a bug, answered as ``server_error`` answers every other family
    (logged with its traceback), not as Starlette's bare text."""
    if is_outage(exc):
        log_outage(request, exc)
        return refusal(request.url.path, STORAGE_UNAVAILABLE, 503)
    return await server_error(request, exc)


def create_console_app(services: Services, settings: Settings) -> Starlette:
    """The console of one server instance."""
    routes: list[BaseRoute] = [
        Mount(STATIC_PATH, ConsoleFiles(directory=STATIC_DIR)),
        *sign_in_routes(services, settings),
        *device_routes(services, settings),
        *segment_routes(services),
        *install_routes(),
        *organization_routes(services, settings),
        *user_routes(services, settings),
        *developer_routes(services, settings),
        *notification_log_routes(services),
        *device_tab_routes(services, settings, console_caller),
        *new_device_routes(services, settings),
        *template_routes(services, settings),
        *automation_routes(services, settings),
        *webhook_routes(services, settings),
        *air_routes(services),
        # ── The other console modules' routes join here ──────────────────────────────────
        # Each module exports a factory called as ``factory(services, settings,
        # console_caller)`` (``console_caller`` from http.console.session), returning its
        # ``Route``/``WebSocketRoute`` list: the live socket (live_socket.py, at
        # ``/dashboard/ws``), chart data (chart_data.py, under ``/dashboard/api/``), and the
        # pages of phase B. JSON endpoints live under ``/dashboard/api/`` (JSON errors).
        # ─────────────────────────────────────────────────────────────────────────────────────
        *live_routes(services, settings, current_session),
        *chart_routes(services, settings, console_caller),
        *push_routes(services, settings),
        *notification_routes(services, settings),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                ConsoleSessionMiddleware,
                settings=settings,
                refusal=refusal,
                skip=STATIC_PATH,
                opening=(LOGIN_PATH, f"{INVITE_PATH}/"),
            )
        ],
        exception_handlers={404: _http_error, 405: _http_error, Exception: _server_error},
    )
    app.state.console_sessions = services.console_sessions
    return app
