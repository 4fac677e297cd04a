"""``create_app``: the one ASGI application serving every HTTP API family (http-api.md §1.1).

Routing. ``/api/...`` paths go straight to the Platform application (FastAPI): no device or
legacy route serves them, and trying each first cost 8% of a PLT-DEV-06 read (py-spy,
bench/platform_api.py). The device API and the legacy API are plain Starlette routes, matched
next: they are the device hot path. A request no route takes (no full match, and no path match
that would make a ``405``) goes to the Platform application too, which also serves
``/oauth2/token`` and ``/openapi.json``, and answers the JSON ``404`` of unknown
paths. Legacy routes (``/{token}/...``) never match a path of a modern family, so ``/api/x/y``
reaches FastAPI even where a legacy pattern fits it. The web console (``/dashboard`` and below,
pages and its WebSocket) goes straight to its own application too (``http/console/app.py``);
``/`` redirects there. A WebSocket to ``/mqtt`` goes to the MQTT-over-WebSocket application the
caller passes in (``transports/mqtt_websocket.py``: the MQTT listeners' sessions, built by
``runtime``); a plain request there is answered ``426``.
"""

from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from pinbase.http.console.app import create_console_app
from pinbase.http.device_api import messages
from pinbase.http.device_api.routes import device_routes
from pinbase.http.docs import docs_routes
from pinbase.http.legacy_api.routes import legacy_routes
from pinbase.http.limits import RequestSizeLimit
from pinbase.http.methods import allowed_methods
from pinbase.http.paths import (
    CONSOLE_PATH,
    MODERN_PREFIXES,
    MQTT_SOCKET_PATH,
    PLATFORM_PREFIX,
    is_console_path,
)
from pinbase.http.platform_api.app import OPENAPI_PATH, TITLE, create_platform_app
from pinbase.http.responses import error_response, server_error, text_response
from pinbase.services.container import Services
from pinbase.settings import Settings

UPLOAD_PATH = "/external/api/upload"
FIRMWARE_UPLOAD_PATH = "/api/v1/organization/firmware/upload"
"""Blynk.Air uploads (``platform_api.firmware_updates``): firmware files exceed 2 MB."""
CONSOLE_FIRMWARE_PATH = "/dashboard/air/firmware"
"""The console's Blynk.Air upload form (``console.air_pages``)."""
MULTIPART_OVERHEAD = 64 * 1024
"""Room for multipart boundaries and headers around a maximum-size uploaded file."""
MQTT_OVER_HTTP = "MQTT over WebSocket: connect to this path with a WebSocket client."
CLOSE_NOT_FOUND = 1008
"""The close code that refuses a WebSocket handshake nobody serves (the server answers 403)."""


async def root(_request: Request) -> Response:
    """``/`` opens the web console (issue #9)."""
    return RedirectResponse(CONSOLE_PATH, status_code=302)


async def healthz(_request: Request) -> Response:
    """Liveness and readiness: the app exists only once storage is open and state is loaded."""
    return text_response("OK")


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status != 405:
        return error_response(messages.NOT_FOUND, status)
    response = error_response(messages.METHOD_NOT_ALLOWED, 405)
    response.headers["Allow"] = allowed_methods(request.app.router.routes, request.scope)
    return response


class ModernPathsExcluded(BaseRoute):
    """A legacy route that never matches a path of the device, OAuth or Platform families."""

    def __init__(self, route: BaseRoute) -> None:
        self._route = route

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """No match for ``/external/…``, ``/api/…`` and ``/oauth2/…``; else the route's own."""
        if scope["type"] == "http" and scope["path"].startswith(MODERN_PREFIXES):
            return Match.NONE, {}
        return self._route.matches(scope)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """Delegated to the wrapped route."""
        return self._route.url_path_for(name, **path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Delegated to the wrapped route."""
        await self._route.handle(scope, receive, send)


async def _mqtt_upgrade_required(scope: Scope, receive: Receive, send: Send) -> None:
    """A plain HTTP request to ``/mqtt``: ``426`` naming the protocol to upgrade to."""
    response = error_response(MQTT_OVER_HTTP, 426)
    response.headers["Upgrade"] = "websocket"
    await response(scope, receive, send)


async def _refuse_socket(scope: Scope, receive: Receive, send: Send) -> None:
    """A WebSocket nobody serves (``/mqtt`` while MQTT over WebSocket is off): the handshake is
    refused."""
    await receive()
    await send({"type": "websocket.close", "code": CLOSE_NOT_FOUND})


class FamiliesFirst:
    """ASGI middleware handing every ``/api/...`` request to the Platform application, every
    ``/dashboard…`` request and socket to the console, and sockets to ``/mqtt`` to MQTT, at
    once.

    A route could not do it: Starlette's router probes routes again with a slash added to
    redirect ``/api`` to ``/api/``, while both must answer the JSON 404; and the console's
    paths must never be tried against the legacy ``/{token}/…`` patterns.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        platform: ASGIApp,
        console: ASGIApp,
        mqtt_socket: ASGIApp | None = None,
    ) -> None:
        self._app = app
        self._platform = platform
        self._console = console
        self._mqtt_socket = mqtt_socket or _refuse_socket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``/api/...`` to the Platform application, ``/dashboard…`` to the console, ``/mqtt``
        to MQTT, everything else to the routes."""
        kind = scope["type"]
        if kind == "http" and scope["path"].startswith(PLATFORM_PREFIX):
            await self._platform(scope, receive, send)
        elif kind in ("http", "websocket") and is_console_path(scope["path"]):
            await self._console(scope, receive, send)
        elif scope.get("path") == MQTT_SOCKET_PATH and kind in ("http", "websocket"):
            if kind == "websocket":
                await self._mqtt_socket(scope, receive, send)
            else:
                await _mqtt_upgrade_required(scope, receive, send)
        else:
            await self._app(scope, receive, send)


class MqttSocketOnly:
    """The application of the MQTT-over-secure-WebSocket port (``mqtt_wss_port``): ``/mqtt``
    and nothing else, so the port is no second door to the HTTP APIs."""

    def __init__(self, mqtt_socket: ASGIApp) -> None:
        self._mqtt_socket = mqtt_socket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Sockets to ``/mqtt`` to MQTT; ``426`` to plain requests there; 404 elsewhere."""
        kind = scope["type"]
        at_socket_path = scope.get("path") == MQTT_SOCKET_PATH
        if kind == "websocket":
            app = self._mqtt_socket if at_socket_path else _refuse_socket
            await app(scope, receive, send)
        elif kind == "http":
            if at_socket_path:
                await _mqtt_upgrade_required(scope, receive, send)
            else:
                await error_response(messages.NOT_FOUND, 404)(scope, receive, send)


def create_app(
    services: Services, settings: Settings, *, mqtt_socket: ASGIApp | None = None
) -> Starlette:
    """Build the application for one server instance; no globals, so tests can build many.

    ``mqtt_socket`` serves WebSockets to ``/mqtt`` (MQTT over WebSocket); without it their
    handshake is refused.
    """

    def body_limit(path: str) -> int:
        if path == UPLOAD_PATH:
            return settings.max_upload_bytes + MULTIPART_OVERHEAD
        if path in (FIRMWARE_UPLOAD_PATH, CONSOLE_FIRMWARE_PATH):
            return settings.max_firmware_bytes + MULTIPART_OVERHEAD
        return settings.max_request_bytes

    platform = create_platform_app(services, settings)
    console = create_console_app(services, settings)
    routes = [
        *device_routes(services, settings),
        Route("/", root, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        *docs_routes(title=TITLE, openapi_url=OPENAPI_PATH),
        *(ModernPathsExcluded(route) for route in legacy_routes(services, settings)),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestSizeLimit, limit_for=body_limit),
            Middleware(FamiliesFirst, platform=platform, console=console, mqtt_socket=mqtt_socket),
        ],
        exception_handlers={404: _http_error, 405: _http_error, Exception: server_error},
    )
    # Starlette hands unmatched requests to the router's ``default`` application.
    app.router.default = platform
    return app
