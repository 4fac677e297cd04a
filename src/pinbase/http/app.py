"""``create_app``: the one ASGI application serving every HTTP API family (http-api.md §1.1)."""

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pinbase.http.device_api import messages
from pinbase.http.device_api.routes import device_routes
from pinbase.http.legacy_api.routes import legacy_routes
from pinbase.http.limits import RequestSizeLimit
from pinbase.http.responses import error_response, text_response
from pinbase.services.container import Services
from pinbase.settings import Settings

UPLOAD_PATH = "/external/api/upload"
MULTIPART_OVERHEAD = 64 * 1024
"""Room for multipart boundaries and headers around a maximum-size uploaded file."""


async def healthz(_request: Request) -> Response:
    """Liveness and readiness: the app exists only once storage is open and state is loaded."""
    return text_response("OK")


async def _http_error(_request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = messages.METHOD_NOT_ALLOWED if status == 405 else messages.NOT_FOUND
    return error_response(message, status)


def create_app(services: Services, settings: Settings) -> Starlette:
    """Build the application for one server instance; no globals, so tests can build many."""

    def body_limit(path: str) -> int:
        if path == UPLOAD_PATH:
            return settings.max_upload_bytes + MULTIPART_OVERHEAD
        return settings.max_request_bytes

    routes = [
        *device_routes(services, settings),
        Route("/healthz", healthz, methods=["GET"]),
        *legacy_routes(services, settings),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(RequestSizeLimit, limit_for=body_limit)],
        exception_handlers={404: _http_error, 405: _http_error},
    )
