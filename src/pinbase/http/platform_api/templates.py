"""Templates: PLT-TPL-01 list, PLT-TPL-02 info, PLT-TPL-03 metafields, PLT-TPL-04 datastreams,
PLT-TPL-05 events (http-api.md §4.3).

``templateId`` is the template's integer id; its ``TMPL…`` code appears only in ``templateIds``
(OP-08). A template belongs to its organization: a caller sees those of its home organization
and sub-organizations, and any other is answered exactly like a missing one. Pinbase does not
derive templates from one another nor keep boards, connection types or logos: ``parentId``,
``boardType``, ``connectionType`` and ``logoUrl`` answer ``null`` (docs/platform-api.md).
"""

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from pinbase.domain.datastreams import Datastream
from pinbase.domain.ids import OrgId
from pinbase.domain.templates import Metafield, Template, TemplateEvent
from pinbase.domain.values import to_json
from pinbase.http.platform_api.auth import BearerAuth
from pinbase.http.platform_api.errors import organization_not_found
from pinbase.http.platform_api.pagination import PageRequest, page_reader, page_response
from pinbase.http.platform_api.params import ERRORS, OrgIdQuery, TemplateIdQuery
from pinbase.http.platform_api.schemas import (
    TemplateDatastream,
    TemplateEventInfo,
    TemplateInfo,
    TemplateMetafield,
    TemplatePage,
)
from pinbase.http.responses import json_response
from pinbase.services.container import Services
from pinbase.services.oauth import Caller
from pinbase.services.scope import template_in_scope
from pinbase.settings import Settings


def template_summary(template: Template) -> dict[str, object]:
    """A template as PLT-TPL-01 lists it."""
    return {
        "id": template.id,
        "templateIds": [template.code],
        "parentId": None,
        "orgId": template.org_id,
        "name": template.name,
    }


def template_info(template: Template) -> dict[str, object]:
    """PLT-TPL-02: the summary plus what Blynk's Console keeps (null where Pinbase does not)."""
    return {
        **template_summary(template),
        "boardType": None,
        "connectionType": None,
        "description": template.description,
        "logoUrl": None,
        "createdAt": template.created_at,
        "offlineIgnorePeriod": template.offline_ignore_period,
    }


def metafield_definition(metafield: Metafield) -> dict[str, object]:
    """One entry of PLT-TPL-03."""
    return {
        "id": metafield.id,
        "name": metafield.name,
        "type": metafield.type,
        "description": None,
        "defaultValue": metafield.default_value,
    }


def datastream_definition(datastream: Datastream) -> dict[str, object]:
    """One entry of PLT-TPL-04; ``min``, ``max`` and ``decimals`` are Pinbase extensions."""
    default = datastream.default_value
    return {
        "id": datastream.id,
        "label": datastream.label,
        "alias": datastream.alias if datastream.alias is not None else datastream.label,
        "units": datastream.units,
        "type": datastream.type.value,
        "defaultValue": None if default is None else to_json(default),
        "pin": datastream.pin.number,
        "pinType": datastream.pin.type.value,
        "min": datastream.min,
        "max": datastream.max,
        "decimals": datastream.decimals,
    }


def event_definition(event: TemplateEvent) -> dict[str, object]:
    """One entry of PLT-TPL-05."""
    return {"id": event.id, "type": event.type, "name": event.name, "eventCode": event.code}


def template_router(services: Services, settings: Settings, auth: BearerAuth) -> APIRouter:
    """The template endpoints of §4.3."""
    router = APIRouter(prefix="/api/v1/organization", tags=["Templates"], responses=ERRORS)
    directory = services.directory
    pagination = page_reader(settings.max_page_size)

    @router.get(
        "/templates",
        summary="PLT-TPL-01 List templates",
        response_model=TemplatePage,
        description="Templates of `orgId` when given (it must be within the caller's "
        "organizations), else of the caller's organization and its sub-organizations; by id.",
    )
    async def list_templates(
        caller: Annotated[Caller, Depends(auth)],
        page: Annotated[PageRequest, Depends(pagination)],
        org_id: OrgIdQuery = None,
    ) -> Response:
        if org_id is None:
            templates = directory.templates_in(caller.scope)
        elif caller.can_see(OrgId(org_id)):
            templates = directory.templates_in({OrgId(org_id)})
        else:
            raise organization_not_found(org_id)
        chosen = templates[page.offset : page.offset + page.size]
        return page_response([template_summary(t) for t in chosen], len(templates))

    @router.get("/template", summary="PLT-TPL-02 Get template", response_model=TemplateInfo)
    async def get_template(
        caller: Annotated[Caller, Depends(auth)], template_id: TemplateIdQuery
    ) -> Response:
        template = await template_in_scope(directory, caller, template_id)
        return json_response(template_info(template))

    @router.get(
        "/template/metafields",
        summary="PLT-TPL-03 Template metadata fields",
        response_model=list[TemplateMetafield],
        description="`defaultValue` is a Pinbase extension.",
    )
    async def get_metafields(
        caller: Annotated[Caller, Depends(auth)], template_id: TemplateIdQuery
    ) -> Response:
        template = await template_in_scope(directory, caller, template_id)
        return json_response([metafield_definition(m) for m in template.metafields])

    @router.get(
        "/template/datastreams",
        summary="PLT-TPL-04 Template datastreams",
        response_model=list[TemplateDatastream],
        description="`min`, `max` and `decimals` are Pinbase extensions.",
    )
    async def get_datastreams(
        caller: Annotated[Caller, Depends(auth)], template_id: TemplateIdQuery
    ) -> Response:
        template = await template_in_scope(directory, caller, template_id)
        return json_response([datastream_definition(d) for d in template.datastreams])

    @router.get(
        "/template/events",
        summary="PLT-TPL-05 Template events",
        response_model=list[TemplateEventInfo],
    )
    async def get_events(
        caller: Annotated[Caller, Depends(auth)], template_id: TemplateIdQuery
    ) -> Response:
        template = await template_in_scope(directory, caller, template_id)
        return json_response([event_definition(e) for e in template.events])

    return router
