"""Device records: PLT-DEV-15 and 16 metadata, 17 tags, 18 timeline, 19 trigger event, 20 actions
log.

Adapters over ``services.device_records``, which the console calls too. A write checks, in
order: the bearer token, the body (400), the device (404), the field or event code (404), the
value (400).
"""

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from pinbase.http.platform_api import messages
from pinbase.http.platform_api.auth import BearerAuth
from pinbase.http.platform_api.body import documented_body, json_body
from pinbase.http.platform_api.datastreams import no_content
from pinbase.http.platform_api.errors import PlatformError
from pinbase.http.platform_api.pagination import PageRequest, page_reader, page_response
from pinbase.http.platform_api.params import ERRORS, DeviceIdQuery
from pinbase.http.platform_api.record_schemas import (
    ActionPage,
    DeviceMetafield,
    DeviceTag,
    EventTrigger,
    EventType,
    MetafieldUpdate,
    TimelinePage,
)
from pinbase.http.responses import json_response
from pinbase.services.container import Services
from pinbase.services.device_records import EventNotFound
from pinbase.services.events import EventDropped, EventRejected
from pinbase.services.metadata import InvalidMetaValue, MetafieldNotFound, MetafieldReadOnly
from pinbase.services.oauth import Caller
from pinbase.settings import Settings
from pinbase.storage.device_records import CLIENT_LABELS

METAFIELD_IDS = ("deviceId", "metaFieldId")
DEVICE_ID = ("deviceId",)


def device_records_router(services: Services, settings: Settings, auth: BearerAuth) -> APIRouter:
    """The metadata, tags, timeline, event and actions-log endpoints of §4.1."""
    router = APIRouter(prefix="/api/v1/organization/device", tags=["Devices"], responses=ERRORS)
    records = services.device_records
    pagination = page_reader(settings.max_page_size)

    @router.get(
        "/metafield",
        summary="PLT-DEV-15 Get device metadata",
        response_model=list[DeviceMetafield],
        description="Every metadata field of the device's template with the device's value.",
    )
    async def get_metadata(
        caller: Annotated[Caller, Depends(auth)], device_id: DeviceIdQuery
    ) -> Response:
        fields = await records.metadata(caller, device_id)
        return json_response(
            [{"id": field.id, "name": field.name, "value": value} for field, value in fields]
        )

    @router.post(
        "/metafield",
        summary="PLT-DEV-16 Update device metadata",
        status_code=204,
        openapi_extra=documented_body(MetafieldUpdate),
        description="The device API's rules (DEV-10): kinds a device may write only, values "
        "checked against the field's type, at most 255 characters.",
    )
    async def update_metadata(
        caller: Annotated[Caller, Depends(auth)],
        body: Annotated[MetafieldUpdate, Depends(json_body(MetafieldUpdate, ids=METAFIELD_IDS))],
    ) -> Response:
        try:
            await records.write_metadata(
                caller, body.device_id, body.metafield_id, _meta_text(body.new_value)
            )
        except MetafieldNotFound:
            raise PlatformError(messages.META_FIELD_NOT_FOUND, 404) from None
        except (MetafieldReadOnly, InvalidMetaValue):
            raise PlatformError(messages.INVALID_META_VALUE) from None
        return no_content()

    @router.get(
        "/tags",
        summary="PLT-DEV-17 Get device tags",
        response_model=list[DeviceTag],
    )
    async def get_tags(
        caller: Annotated[Caller, Depends(auth)], device_id: DeviceIdQuery
    ) -> Response:
        tags = await records.tags(caller, device_id)
        return json_response(
            [{"id": tag.id, "tagOwnerOrgId": tag.org_id, "name": tag.name} for tag in tags]
        )

    @router.get(
        "/timeline",
        summary="PLT-DEV-18 Device timeline (events)",
        response_model=TimelinePage,
        description="Logged events newest first, of one `eventType` when given.",
    )
    async def get_timeline(
        caller: Annotated[Caller, Depends(auth)],
        device_id: DeviceIdQuery,
        page: Annotated[PageRequest, Depends(pagination)],
        event_type: Annotated[EventType | None, Query(alias="eventType")] = None,
    ) -> Response:
        bound, found = await records.timeline(
            caller, device_id, event_type=event_type, offset=page.offset, limit=page.size
        )
        content = [
            {
                "id": event.id,
                "eventId": event.event_id,
                "orgId": bound.device.org_id,
                "eventType": event.type,
                "description": event.description,
                "ts": event.ts,
                "isResolved": event.is_resolved,
                "resolvedAt": event.resolved_at or 0,  # 0 means never (http-api.md §1.10)
                "resolvedComment": event.resolved_comment,
            }
            for event in found.items
        ]
        return page_response(content, found.total)

    @router.post(
        "/trigger-event",
        summary="PLT-DEV-19 Log a device event",
        status_code=204,
        openapi_extra=documented_body(EventTrigger),
        description="Shares DEV-07's limits: 100 events per device per day, one per second per "
        "event code. An occurrence a limit drops is answered 204 like an accepted one "
        "(automations.md §1.9); the notification log records it (RATE_1S, DAILY_QUOTA).",
    )
    async def trigger_event(
        caller: Annotated[Caller, Depends(auth)],
        body: Annotated[EventTrigger, Depends(json_body(EventTrigger, ids=DEVICE_ID))],
    ) -> Response:
        try:
            await records.trigger_event(
                caller, body.device_id, body.event_code, body.event_description
            )
        except EventNotFound:
            raise PlatformError(messages.EVENT_NOT_FOUND, 404) from None
        except EventDropped:
            pass  # §1.9: a limit drop answers 204 too; the notification log keeps why
        except EventRejected as rejected:
            raise PlatformError(str(rejected)) from None
        return no_content()

    @router.get(
        "/logs",
        summary="PLT-DEV-20 Actions log",
        response_model=ActionPage,
        description="Value writes (PLT-DS-02, 03, the console's controls), property changes "
        "(PLT-DS-05), automation writes and device commands (reboot, ping, redirect: a Pinbase "
        "extension, `command` names it and `pin` is null), newest first; devices' own writes "
        "and imports are not actions.",
    )
    async def get_actions(
        caller: Annotated[Caller, Depends(auth)],
        device_id: DeviceIdQuery,
        page: Annotated[PageRequest, Depends(pagination)],
    ) -> Response:
        found = await records.actions(caller, device_id, offset=page.offset, limit=page.size)
        content = [
            {
                "triggerUserEmail": action.trigger_user_email,
                "value": orjson.loads(action.value),
                "pin": None if action.pin is None else action.pin.number,
                "pinType": None if action.pin is None else action.pin.type.value,
                "isOnline": action.is_online,
                "createdAt": action.created_at,
                "property": action.property,
                "client": CLIENT_LABELS.get(action.client, action.client),
                "triggerName": action.trigger_name,
                "command": action.command,
            }
            for action in found.items
        ]
        return page_response(content, found.total)

    return router


def _meta_text(value: str | int | float) -> str:
    """``newValue`` as the text the metadata rules check: numbers in their JSON spelling."""
    if isinstance(value, float):
        return repr(value)
    return str(value)
