"""Template editing, a Pinbase extension of the Platform API (docs/platform-api.md): create,
update and delete templates, their datastreams, events and metadata fields, and store the web
dashboard layout. Blynk edits templates only in its Console; these endpoints are adapters over
``services.templates``, which the console uses too, so both apply one set of rules.

Every operation is marked ``x-pinbase-extension: true`` in ``/openapi.json``. A template of
another organization is ``404 Template is not found or you don't have access to it.`` as on
PLT-TPL-02; a setting that breaks a rule is ``400`` with a message naming the rule.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from pinbase.domain.datastreams import Datastream
from pinbase.domain.templates import TemplateEvent
from pinbase.domain.values import to_json
from pinbase.http.platform_api.auth import BearerAuth
from pinbase.http.platform_api.body import documented_body, json_body
from pinbase.http.platform_api.params import ERRORS, Int32, PlainDecimal, TemplateIdQuery
from pinbase.http.platform_api.schemas import TemplateInfo, TemplateMetafield
from pinbase.http.platform_api.template_schemas import (
    DashboardBody,
    DatastreamBody,
    DatastreamChange,
    DatastreamSettingsInfo,
    EventBody,
    EventChange,
    EventDefinition,
    Layout,
    MetafieldBody,
    MetafieldChange,
    TemplateCreate,
    TemplateUpdate,
)
from pinbase.http.platform_api.templates import metafield_definition, template_info
from pinbase.http.responses import json_response
from pinbase.services.container import Services
from pinbase.services.oauth import Caller

TAG = "Template editing"
TAG_DESCRIPTION = (
    "Pinbase extension: create and change templates, datastreams (every setting of "
    "data-model.md §1.7.1), events, metadata fields and the web dashboard layout. Blynk offers "
    "this only in its Console; see docs/platform-api.md."
)
EXTENSION = {"x-pinbase-extension": True}
NO_CONTENT = 204

EventIdQuery = Annotated[Int32, PlainDecimal, Query(alias="eventId", description="an event's id")]
MetafieldIdQuery = Annotated[
    Int32, PlainDecimal, Query(alias="metaFieldId", description="a metadata field's id")
]
DatastreamIdQuery = Annotated[
    Int32, PlainDecimal, Query(alias="dataStreamId", description="a datastream's id")
]


def datastream_settings(datastream: Datastream) -> dict[str, object]:
    """A datastream with every setting."""
    default = datastream.default_value
    return {
        "id": datastream.id,
        "label": datastream.label,
        "alias": datastream.alias,
        "pin": datastream.pin.number,
        "pinType": datastream.pin.type.value,
        "type": datastream.type.value,
        "units": datastream.units,
        "defaultValue": None if default is None else to_json(default),
        "min": datastream.min,
        "max": datastream.max,
        "decimals": datastream.decimals,
        "color": datastream.color,
        "invalidateAfter": datastream.invalidate_after,
        "invalidatePolicy": datastream.invalidate_policy.value,
        "saveRawData": datastream.save_raw,
        "syncWithLatest": datastream.sync_with_latest,
        "waitConfirmation": datastream.wait_confirmation,
        "enumValues": [
            {"value": o.value, "label": o.label, "color": o.color} for o in datastream.enum_options
        ],
        "fallbackValue": datastream.fallback_value,
        "automation": None if datastream.automation is None else datastream.automation.to_json(),
    }


def event_settings(event: TemplateEvent) -> dict[str, object]:
    """An event definition with its description."""
    return {
        "id": event.id,
        "eventCode": event.code,
        "name": event.name,
        "type": event.type,
        "description": event.description,
        "notifications": event.notifications.to_json(),
        "showOnTimeline": event.show_on_timeline,
        "sendToNotificationsTab": event.send_to_notifications_tab,
    }


def _body(model: type[Any]) -> dict[str, Any]:
    return {**documented_body(model), **EXTENSION}


def template_editing_router(services: Services, auth: BearerAuth) -> APIRouter:
    """The template-editing endpoints."""
    router = APIRouter(
        prefix="/api/v1/organization/template",
        tags=[TAG],
        responses=ERRORS,
    )
    templates = services.templates
    Authorized = Annotated[Caller, Depends(auth)]

    @router.post(
        "/create",
        summary="Create a template",
        status_code=201,
        response_model=TemplateInfo,
        openapi_extra=_body(TemplateCreate),
        description="An empty template in `orgId` (default: the caller's organization; it "
        "must be within the caller's scope) with a fresh `TMPL…` id.",
    )
    async def create_template(
        caller: Authorized,
        body: Annotated[TemplateCreate, Depends(json_body(TemplateCreate, ids=("orgId",)))],
    ) -> Response:
        created = await templates.create(
            caller, org_id=body.org_id, name=body.name, description=body.description
        )
        return json_response(template_info(created), status=201)

    @router.post(
        "/update",
        summary="Rename a template",
        response_model=TemplateInfo,
        openapi_extra=_body(TemplateUpdate),
    )
    async def update_template(
        caller: Authorized,
        body: Annotated[TemplateUpdate, Depends(json_body(TemplateUpdate, ids=("templateId",)))],
    ) -> Response:
        changed = await templates.describe(
            caller,
            body.template_id,
            name=body.name,
            description=body.description,
            offline_ignore_period=body.offline_ignore_period,
        )
        return json_response(template_info(changed))

    @router.delete(
        "",
        summary="Delete a template",
        status_code=NO_CONTENT,
        openapi_extra=EXTENSION,
        description="Refused (400) while devices use the template.",
    )
    async def delete_template(caller: Authorized, template_id: TemplateIdQuery) -> Response:
        await templates.delete(caller, template_id)
        return Response(status_code=NO_CONTENT)

    @router.post(
        "/datastream/create",
        summary="Create a datastream",
        status_code=201,
        response_model=DatastreamSettingsInfo,
        openapi_extra=_body(DatastreamBody),
        description="The next free id; devices of the template may write to it at once.",
    )
    async def create_datastream(
        caller: Authorized,
        body: Annotated[DatastreamBody, Depends(json_body(DatastreamBody, ids=("templateId",)))],
    ) -> Response:
        created = await templates.add_datastream(caller, body.template_id, body.settings())
        return json_response(datastream_settings(created), status=201)

    @router.post(
        "/datastream/update",
        summary="Update a datastream",
        response_model=DatastreamSettingsInfo,
        openapi_extra=_body(DatastreamChange),
        description="Every setting is replaced. A new data type erases what devices stored "
        "for the datastream.",
    )
    async def update_datastream(
        caller: Authorized,
        body: Annotated[
            DatastreamChange,
            Depends(json_body(DatastreamChange, ids=("templateId", "dataStreamId"))),
        ],
    ) -> Response:
        changed = await templates.update_datastream(
            caller, body.template_id, body.datastream_id, body.settings()
        )
        return json_response(datastream_settings(changed))

    @router.delete(
        "/datastream",
        summary="Delete a datastream",
        status_code=NO_CONTENT,
        openapi_extra=EXTENSION,
        description="With every device's values, history and properties of it; dashboard "
        "widgets left without a datastream go.",
    )
    async def delete_datastream(
        caller: Authorized, template_id: TemplateIdQuery, datastream_id: DatastreamIdQuery
    ) -> Response:
        await templates.delete_datastream(caller, template_id, datastream_id)
        return Response(status_code=NO_CONTENT)

    @router.post(
        "/event/create",
        summary="Create an event",
        status_code=201,
        response_model=EventDefinition,
        openapi_extra=_body(EventBody),
    )
    async def create_event(
        caller: Authorized,
        body: Annotated[EventBody, Depends(json_body(EventBody, ids=("templateId",)))],
    ) -> Response:
        created = await templates.add_event(caller, body.template_id, body.settings())
        return json_response(event_settings(created), status=201)

    @router.post(
        "/event/update",
        summary="Update an event",
        response_model=EventDefinition,
        openapi_extra=_body(EventChange),
    )
    async def update_event(
        caller: Authorized,
        body: Annotated[
            EventChange, Depends(json_body(EventChange, ids=("templateId", "eventId")))
        ],
    ) -> Response:
        changed = await templates.update_event(
            caller, body.template_id, body.event_id, body.settings()
        )
        return json_response(event_settings(changed))

    @router.delete(
        "/event",
        summary="Delete an event",
        status_code=NO_CONTENT,
        openapi_extra=EXTENSION,
        description="Occurrences already logged stay on the timelines.",
    )
    async def delete_event(
        caller: Authorized, template_id: TemplateIdQuery, event_id: EventIdQuery
    ) -> Response:
        await templates.delete_event(caller, template_id, event_id)
        return Response(status_code=NO_CONTENT)

    @router.post(
        "/metafield/create",
        summary="Create a metadata field",
        status_code=201,
        response_model=TemplateMetafield,
        openapi_extra=_body(MetafieldBody),
    )
    async def create_metafield(
        caller: Authorized,
        body: Annotated[MetafieldBody, Depends(json_body(MetafieldBody, ids=("templateId",)))],
    ) -> Response:
        created = await templates.add_metafield(caller, body.template_id, body.settings())
        return json_response(metafield_definition(created), status=201)

    @router.post(
        "/metafield/update",
        summary="Update a metadata field",
        response_model=TemplateMetafield,
        openapi_extra=_body(MetafieldChange),
    )
    async def update_metafield(
        caller: Authorized,
        body: Annotated[
            MetafieldChange,
            Depends(json_body(MetafieldChange, ids=("templateId", "metaFieldId"))),
        ],
    ) -> Response:
        changed = await templates.update_metafield(
            caller, body.template_id, body.metafield_id, body.settings()
        )
        return json_response(metafield_definition(changed))

    @router.delete(
        "/metafield",
        summary="Delete a metadata field",
        status_code=NO_CONTENT,
        openapi_extra=EXTENSION,
        description="With every device's value of it.",
    )
    async def delete_metafield(
        caller: Authorized, template_id: TemplateIdQuery, metafield_id: MetafieldIdQuery
    ) -> Response:
        await templates.delete_metafield(caller, template_id, metafield_id)
        return Response(status_code=NO_CONTENT)

    @router.get(
        "/dashboard",
        summary="Get the web dashboard layout",
        response_model=Layout | None,
        openapi_extra=EXTENSION,
        description="`null` until a layout is stored.",
    )
    async def get_dashboard(caller: Authorized, template_id: TemplateIdQuery) -> Response:
        template = await templates.find(caller, template_id)
        dashboard = template.dashboard
        return json_response(None if dashboard is None else dashboard.to_json())

    @router.post(
        "/dashboard",
        summary="Store the web dashboard layout",
        response_model=Layout,
        openapi_extra=_body(DashboardBody),
        description="Checked against the template: known widget types, datastreams of the "
        "template of a type the widget shows, a 12-column grid, minimum sizes, no overlaps.",
    )
    async def set_dashboard(
        caller: Authorized,
        template_id: TemplateIdQuery,
        body: Annotated[DashboardBody, Depends(json_body(DashboardBody, ids=()))],
    ) -> Response:
        dashboard = await templates.set_dashboard(caller, template_id, {"tabs": body.tabs})
        return json_response(dashboard.to_json())

    return router
