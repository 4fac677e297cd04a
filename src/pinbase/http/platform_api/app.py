"""``create_platform_app``: the FastAPI application behind every path the device and legacy
routes do not take: the Platform API, ``/oauth2/token``, ``/openapi.json``, and the JSON 404 of
unknown paths. ``/docs`` is ``http/docs.py``'s, which loads Swagger UI from the package.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.telemetry import TelemetryConfig

from pinbase import __version__
from pinbase.http import openapi
from pinbase.http.device_api.openapi import device_paths
from pinbase.http.legacy_api.openapi import legacy_paths
from pinbase.http.oauth import TOKEN_PATH, TokenEndpoint
from pinbase.http.platform_api.auth import BearerAuth
from pinbase.http.platform_api.datastreams import datastream_router
from pinbase.http.platform_api.device_admin import device_admin_router
from pinbase.http.platform_api.device_commands import TAG as DEVICE_COMMANDS
from pinbase.http.platform_api.device_commands import TAG_DESCRIPTION as DEVICE_COMMANDS_DESCRIPTION
from pinbase.http.platform_api.device_commands import device_command_router
from pinbase.http.platform_api.device_lists import device_list_router
from pinbase.http.platform_api.device_records import device_records_router
from pinbase.http.platform_api.devices import device_router
from pinbase.http.platform_api.errors import install_error_handlers
from pinbase.http.platform_api.firmware_updates import TAG as FIRMWARE_UPDATES
from pinbase.http.platform_api.firmware_updates import TAG_DESCRIPTION as FIRMWARE_DESCRIPTION
from pinbase.http.platform_api.firmware_updates import firmware_router
from pinbase.http.platform_api.organizations import organization_router
from pinbase.http.platform_api.schemas import OAuthErrorBody, TokenAnswer
from pinbase.http.platform_api.template_editing import (
    TAG as TEMPLATE_EDITING,
)
from pinbase.http.platform_api.template_editing import (
    TAG_DESCRIPTION as TEMPLATE_EDITING_DESCRIPTION,
)
from pinbase.http.platform_api.template_editing import template_editing_router
from pinbase.http.platform_api.templates import template_router
from pinbase.http.platform_api.users import user_router
from pinbase.http.platform_api.webhooks import OPENAPI_SCHEMAS as WEBHOOK_SCHEMAS
from pinbase.http.platform_api.webhooks import TAG as WEBHOOKS
from pinbase.http.platform_api.webhooks import TAG_DESCRIPTION as WEBHOOKS_DESCRIPTION
from pinbase.http.platform_api.webhooks import webhook_router
from pinbase.services.container import Services
from pinbase.settings import Settings

NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}

TITLE = "Pinbase"
OPENAPI_PATH = "/openapi.json"
DESCRIPTION = (
    "Blynk-compatible Platform API. Get a token from `POST /oauth2/token` with your OAuth "
    "client's id and secret, then send `Authorization: Bearer {access_token}`. Every error is "
    '`{"error":{"message":"…"}}`; see docs/platform-api.md. The Device HTTPS API '
    "(`/external/api/…`, device token in `token`) and the legacy Blynk 1.0 API (`/{token}/…`) "
    "are described here too; docs/openapi.md says how this document is built and checked."
)

TOKEN_PARAMETERS = [
    {"name": name, "in": "query", "required": required, "schema": {"type": "string"}}
    for name, required in (
        ("grant_type", True),
        ("refresh_token", False),
        ("client_id", False),
        ("client_secret", False),
    )
]
TOKEN_FORM = {
    "type": "object",
    "properties": {
        name: {"type": "string"}
        for name in ("grant_type", "refresh_token", "client_id", "client_secret")
    },
}

TAGS = [
    {"name": name, "description": description}
    for name, description in (
        ("OAuth2", "AUTH-01: access tokens for the Platform API (http-api.md §3)."),
        ("Device HTTPS API", "`/external/api/…`, device token in `token` (http-api.md §2)."),
        ("Legacy API", "Blynk 1.0 `/{token}/…`, plain-text errors (http-api.md §5)."),
        ("Server", "Operations endpoints."),
        (TEMPLATE_EDITING, TEMPLATE_EDITING_DESCRIPTION),
        (WEBHOOKS, WEBHOOKS_DESCRIPTION),
        (DEVICE_COMMANDS, DEVICE_COMMANDS_DESCRIPTION),
        (FIRMWARE_UPDATES, FIRMWARE_DESCRIPTION),
    )
]
"""Tags with a description; FastAPI's Platform tags (Devices, …) follow in route order."""

SERVER_PATHS: openapi.Paths = {
    "/healthz": {
        "get": openapi.operation(
            "healthz Liveness and readiness",
            tag="Server",
            description="`OK` once storage is open and state is loaded.",
            responses={200: openapi.answer("Serving", {"text/plain": {"enum": ["OK"]}})},
        )
    }
}


def create_platform_app(services: Services, settings: Settings) -> FastAPI:
    """Build the FastAPI application of one server instance."""
    app = FastAPI(
        title=TITLE,
        version=__version__,
        description=DESCRIPTION,
        openapi_url=OPENAPI_PATH,
        docs_url=None,  # http/docs.py serves it without a CDN
        redoc_url=None,
        redirect_slashes=False,  # paths are exact, as on Blynk.Cloud
        # FastAPI's native OpenTelemetry asks the global providers on every request: 6 us of a
        # PLT-DEV-06 read's 66 in process (bench/README.md). Pinbase configures no provider.
        telemetry=NO_TELEMETRY,
    )
    install_error_handlers(app)
    auth = BearerAuth(services.oauth, services.rate_limiter)
    tokens = TokenEndpoint(services.oauth, settings)
    app.add_api_route(
        TOKEN_PATH,
        tokens.token,
        methods=["POST"],
        tags=["OAuth2"],
        summary="AUTH-01 Issue or refresh a Platform API access token",
        description="Client credentials in a Basic header or as client_id/client_secret "
        "parameters; parameters in the query string or a form body.",
        responses={
            200: {"model": TokenAnswer, "description": "A token pair"},
            400: {"model": OAuthErrorBody, "description": "RFC 6749 error"},
        },
        openapi_extra={
            "security": [],
            "parameters": TOKEN_PARAMETERS,
            "requestBody": {
                "required": False,
                "content": {"application/x-www-form-urlencoded": {"schema": TOKEN_FORM}},
            },
        },
    )
    # ``include_router`` keeps each router as a branch FastAPI walks on every request: 8 us of
    # the 73 us a PLT-DEV-06 read took in process (bench/README.md). Each route already carries
    # its prefix, tags and documented answers, so the routes join the app's router directly
    # (the OpenAPI document is the same).
    for router in (
        device_router(services, auth),
        device_list_router(services, settings, auth),
        device_admin_router(services, auth),
        device_command_router(services, auth),
        datastream_router(services, settings, auth),
        device_records_router(services, settings, auth),
        template_router(services, settings, auth),
        template_editing_router(services, auth),
        organization_router(services, settings, auth),
        user_router(services, settings, auth),
        webhook_router(services, auth),
        firmware_router(services, auth),
    ):
        app.router.routes.extend(router.routes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with Pinbase's real error answers instead of its ``422``."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
            for media in operation.get("requestBody", {}).get("content", {}).values():
                schemas.update(media.get("schema", {}).pop("$defs", {}))
    schemas.update(WEBHOOK_SCHEMAS)
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    document["security"] = [{"bearer": []}]
    # The plain Starlette routes served before this app (http/app.py), described by hand.
    document["paths"] = {**document["paths"], **device_paths(), **SERVER_PATHS, **legacy_paths()}
    document["tags"] = TAGS
    app.openapi_schema = document
    return document
