"""Webhooks, a Pinbase extension of the Platform API (automations.md OP-A10; docs/platform-api.md).

Blynk announced a webhooks API without publishing its shapes; these endpoints carry the JSON
of automations.md §4.1's recommendation (``services.reactions.webhook_json``) and are adapters
over ``services.webhooks``, which the console uses too. Every operation is marked
``x-pinbase-extension: true`` in ``/openapi.json``. A webhook of another organization is
``404 Webhook not found.`` like a missing one; a setting that breaks a rule is ``400`` with a
message naming the rule. Secrets are write-only: answers mask them, and an update that sends the
mask back (or leaves a secret out) keeps the stored one.
"""

from typing import Annotated, Any

import orjson
from annotated_types import Ge, Le
from fastapi import APIRouter, Depends, Path, Query
from starlette.requests import Request
from starlette.responses import Response

from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.values import INT32_MAX
from pinbase.domain.webhooks import TriggerKind
from pinbase.http.platform_api.auth import BearerAuth
from pinbase.http.platform_api.errors import PlatformError, incorrect_parameters
from pinbase.http.platform_api.params import ERRORS, Int32, PlainDecimal
from pinbase.http.responses import json_response
from pinbase.services.container import Services
from pinbase.services.oauth import Caller
from pinbase.services.reactions.webhook_json import (
    log_entry_json,
    parse_webhook_json,
    webhook_json,
)
from pinbase.services.reactions.webhooks import TooManyTests, WebhookLimitReached, WebhookNotFound
from pinbase.services.scope import DeviceNotFound, TemplateNotFound

TAG = "Webhooks"
TAG_DESCRIPTION = (
    "Pinbase extension: webhooks (automations.md §4) — list, create, read, update, delete, "
    "test and read the delivery log. Secrets are write-only; see docs/platform-api.md."
)
EXTENSION = {"x-pinbase-extension": True}
NO_CONTENT = 204
NOT_FOUND = "Webhook not found."
MAX_BODY_BYTES = 64 * 1024
"""A webhook's JSON: a 5 KB body template, 150 rows of ≤ 1 KB values, with room to spare."""
DAY_MS = 86_400_000

WebhookIdPath = Annotated[Int32, PlainDecimal, Path(description="the webhook's id")]
Millis = Annotated[int, Ge(0), Le(2**53)]
"""An epoch time in milliseconds."""
Offset = Annotated[int, Ge(0), Le(INT32_MAX)]
PageSize = Annotated[int, Ge(1), Le(1000)]

WEBHOOK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "trigger", "url"],
    "properties": {
        "name": {"type": "string", "maxLength": 80},
        "status": {"type": "string", "enum": ["ENABLED", "DISABLED"]},
        "trigger": {
            "type": "object",
            "required": ["kind"],
            "properties": {
                "kind": {"type": "string", "enum": [kind.value for kind in TriggerKind]},
                "templateId": {"type": "integer"},
                "deviceId": {"type": "integer"},
                "dataStreamId": {"type": "integer"},
            },
        },
        "method": {"type": "string", "enum": ["POST", "GET", "PUT", "DELETE"]},
        "contentType": {"type": "string", "enum": ["WEB_FORM", "JSON", "PLAIN_TEXT"]},
        "url": {"type": "string", "maxLength": 1024},
        "body": {"type": "string"},
        "form": {"type": "array", "items": {"$ref": "#/components/schemas/WebhookField"}},
        "query": {"type": "array", "items": {"$ref": "#/components/schemas/WebhookField"}},
        "headers": {"type": "array", "items": {"$ref": "#/components/schemas/WebhookField"}},
        "auth": {
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": ["NONE", "BASIC", "OAUTH2"]},
                "username": {"type": "string"},
                "password": {"type": "string", "writeOnly": True},
                "clientId": {"type": "string"},
                "clientSecret": {"type": "string", "writeOnly": True},
                "tokenUrl": {"type": "string"},
            },
        },
        "failureRecipients": {"type": "array", "items": {"type": "integer"}},
        "failureThreshold": {"type": "integer", "minimum": 1},
        "legacyResponseToPin": {
            "type": "boolean",
            "description": "Blynk 1.0: write a successful answer's body to the triggering "
            "datastream's pin of the device (not stored); datastream triggers only.",
        },
    },
}
FIELD_SCHEMA = {
    "type": "object",
    "required": ["key"],
    "properties": {"key": {"type": "string"}, "value": {"type": "string"}},
}


def _json_body(*, required: bool = True) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Webhook"}}},
        },
        **EXTENSION,
    }


async def _read_json(request: Request, *, required: bool = True) -> object:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise incorrect_parameters()
    if not raw.strip():
        if required:
            raise incorrect_parameters()
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise incorrect_parameters() from None


def _refused(error: Exception) -> PlatformError:
    match error:
        case WebhookNotFound():
            return PlatformError(NOT_FOUND, 404)
        case WebhookLimitReached(args=(limit, *_)):
            return PlatformError(f"An organization has at most {limit} webhooks.")
        case TooManyTests():
            return PlatformError("One test per 2 seconds.", 429, {"Retry-After": "2"})
        case DeviceNotFound() | TemplateNotFound():
            return PlatformError("The trigger names no device or template of yours.", 404)
        case InvalidDefinition():
            return PlatformError(str(error))
    raise error


def webhook_router(services: Services, auth: BearerAuth) -> APIRouter:
    """The webhook endpoints."""
    router = APIRouter(prefix="/api/v1/organization/webhooks", tags=[TAG], responses=ERRORS)
    webhooks = services.webhooks
    Authorized = Annotated[Caller, Depends(auth)]

    @router.get("", summary="List webhooks", openapi_extra=EXTENSION)
    async def list_webhooks(caller: Authorized) -> Response:
        stored = await webhooks.list(caller)
        return json_response([webhook_json(s) for s in stored])

    @router.post(
        "",
        summary="Create a webhook",
        status_code=201,
        openapi_extra=_json_body(),
        description="The JSON of automations.md §4.1; the webhook joins the caller's "
        "organization. Datastream triggers name a template or a device of the caller's scope.",
    )
    async def create_webhook(caller: Authorized, request: Request) -> Response:
        data = await _read_json(request)
        try:
            created = await webhooks.create(caller, parse_webhook_json(data))
            stored = await webhooks.get(caller, created.id)
        except (InvalidDefinition, WebhookLimitReached, DeviceNotFound, TemplateNotFound) as e:
            raise _refused(e) from None
        return json_response(webhook_json(stored), status=201)

    @router.get("/{webhook_id}", summary="Read a webhook", openapi_extra=EXTENSION)
    async def get_webhook(caller: Authorized, webhook_id: WebhookIdPath) -> Response:
        try:
            stored = await webhooks.get(caller, webhook_id)
        except WebhookNotFound as e:
            raise _refused(e) from None
        return json_response(webhook_json(stored))

    @router.put(
        "/{webhook_id}",
        summary="Update a webhook",
        openapi_extra=_json_body(),
        description="Every setting is replaced; the version goes up. A secret sent as the mask "
        "or left out keeps the stored one. `status` enables or disables it.",
    )
    async def update_webhook(
        caller: Authorized, webhook_id: WebhookIdPath, request: Request
    ) -> Response:
        data = await _read_json(request)
        try:
            await webhooks.update(caller, webhook_id, parse_webhook_json(data))
            stored = await webhooks.get(caller, webhook_id)
        except (InvalidDefinition, WebhookNotFound, DeviceNotFound, TemplateNotFound) as e:
            raise _refused(e) from None
        return json_response(webhook_json(stored))

    @router.delete(
        "/{webhook_id}",
        summary="Delete a webhook",
        status_code=NO_CONTENT,
        openapi_extra=EXTENSION,
        description="With its log; deliveries not sent yet are cancelled.",
    )
    async def delete_webhook(caller: Authorized, webhook_id: WebhookIdPath) -> Response:
        try:
            await webhooks.delete(caller, webhook_id)
        except WebhookNotFound as e:
            raise _refused(e) from None
        return Response(status_code=NO_CONTENT)

    @router.post(
        "/{webhook_id}/test",
        summary="Test a webhook",
        openapi_extra=_json_body(required=False),
        description="Sends the webhook once, now (automations.md §4.8): placeholders from the "
        "trigger's device (or `deviceId`, a device of the template) without a written value; "
        "no retries, not logged, counted in `attempts`; one test per 2 s per client. A body "
        "with settings tests them unsaved. Answer: "
        '`{"status":200,"durationMs":12,"body":"…","error":null}`.',
    )
    async def test_webhook(
        caller: Authorized,
        webhook_id: WebhookIdPath,
        request: Request,
        device_id: Annotated[Int32 | None, PlainDecimal, Query(alias="deviceId")] = None,
    ) -> Response:
        data = await _read_json(request, required=False)
        try:
            spec = None if data is None else parse_webhook_json(data)
            result = await webhooks.test(
                caller,
                actor=f"client:{caller.client_id}",
                webhook_id=webhook_id,
                spec=spec,
                device_id=device_id,
            )
        except (
            InvalidDefinition,
            WebhookNotFound,
            DeviceNotFound,
            TemplateNotFound,
            TooManyTests,
        ) as e:
            raise _refused(e) from None
        return json_response(result.to_json())

    @router.get(
        "/{webhook_id}/log",
        summary="Read a webhook's delivery log",
        openapi_extra=EXTENSION,
        description="Real deliveries, newest first (automations.md §4.9): `WAITING` while "
        "queued or retrying, then `OK` or `FAILED` with the code; `from`/`to` in epoch ms "
        "(default: the last day), kept 90 days.",
    )
    async def webhook_log(
        caller: Authorized,
        webhook_id: WebhookIdPath,
        since: Annotated[Millis | None, PlainDecimal, Query(alias="from")] = None,
        until: Annotated[Millis | None, PlainDecimal, Query(alias="to")] = None,
        offset: Annotated[Offset, PlainDecimal, Query()] = 0,
        limit: Annotated[PageSize, PlainDecimal, Query()] = 100,
    ) -> Response:
        now = services.clock()
        end = now + 1 if until is None else until
        start = end - DAY_MS if since is None else since
        try:
            rows = await webhooks.log(
                caller, webhook_id, since=start, until=end, offset=offset, limit=limit
            )
        except WebhookNotFound as e:
            raise _refused(e) from None
        return json_response([log_entry_json(row) for row in rows])

    return router


OPENAPI_SCHEMAS = {"Webhook": WEBHOOK_SCHEMA, "WebhookField": FIELD_SCHEMA}
"""Added to ``components.schemas`` by the app's OpenAPI builder."""
