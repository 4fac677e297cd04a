"""Organizations: PLT-ORG-01 profile, PLT-ORG-02 by id, PLT-ORG-03 search, PLT-ORG-04 create,
PLT-ORG-05 static tokens, PLT-ORG-06 tags, PLT-ORG-07 automations, PLT-ORG-08 delete
(http-api.md §4.4).

A caller sees its home organization and every organization below it; any other is answered
exactly like a missing one. Pinbase keeps no static tokens: PLT-ORG-05 answers an empty list for
an organization in scope (docs/platform-api.md); PLT-ORG-07 lists the organization's automations
(``services.reactions.automations``). Deleting is
refused with ``400 Request with incorrect parameters`` (OP-13) for the caller's own
organization, a root, and one that still has sub-organizations or devices.
"""

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from pinbase.domain.ids import OrgId
from pinbase.http.platform_api.auth import BearerAuth
from pinbase.http.platform_api.body import documented_body, json_body
from pinbase.http.platform_api.errors import (
    incorrect_parameters,
    organization_by_id_not_found,
    organization_not_found,
    parent_organization_not_found,
)
from pinbase.http.platform_api.pagination import PageRequest, page_reader, page_response
from pinbase.http.platform_api.params import ERRORS, OrgIdQuery, RequiredOrgIdQuery
from pinbase.http.platform_api.schemas import (
    AutomationInfo,
    OrganizationCreate,
    OrganizationInfo,
    OrganizationPage,
    StaticTokenPage,
    TagInfo,
)
from pinbase.http.responses import json_response
from pinbase.services.container import Services
from pinbase.services.oauth import Caller
from pinbase.services.organizations import (
    OrganizationNotDeletable,
    OrganizationNotFound,
    OrganizationSort,
    ParentNotFound,
)
from pinbase.services.scope import organization_in_scope
from pinbase.settings import Settings
from pinbase.storage.base import OrganizationProfile

SortKey = Literal["Organization Id", "Name", "Device Count", "User Count", "Sub Organizations"]
"""PLT-ORG-03's ``sortBy`` labels (http-api.md §4.4)."""

SearchQuery = Annotated[
    str, Query(min_length=1, max_length=255, description="part of the name, any case")
]
SortByQuery = Annotated[
    SortKey,
    Query(alias="sortBy", description="a column label, e.g. `Device Count`"),
]
SortOrderQuery = Annotated[Literal["ASC", "DESC"], Query(alias="sortOrder")]

SORT_KEYS: dict[SortKey, OrganizationSort] = {
    "Organization Id": "id",
    "Name": "name",
    "Device Count": "devices",
    "User Count": "users",
    "Sub Organizations": "sub_organizations",
}


def organization_info(profile: OrganizationProfile) -> dict[str, object]:
    """The Organization object of http-api.md §4.0."""
    return {
        "id": profile.id,
        "name": profile.name,
        "description": profile.description,
        "parentOrganizationId": profile.parent_id,
        "isActive": profile.is_active,
        "tz": profile.tz,
        "unitSystem": profile.unit_system,
        "phoneNumber": profile.phone_number,
        "address": None if profile.address is None else orjson.loads(profile.address),
        "lastModifiedTs": profile.last_modified_ts,
    }


def organization_router(services: Services, settings: Settings, auth: BearerAuth) -> APIRouter:
    """The organization endpoints of §4.4."""
    router = APIRouter(prefix="/api/v1/organization", tags=["Organizations"], responses=ERRORS)
    directory = services.directory
    organizations = services.organizations
    pagination = page_reader(settings.max_page_size)
    creation = json_body(OrganizationCreate, ids=("parentId",))

    async def profile_of(caller: Caller, org_id: OrgId) -> Response:
        try:
            profile = await organizations.profile(caller, org_id)
        except OrganizationNotFound:  # out of scope, or deleted by another process meanwhile
            raise organization_by_id_not_found() from None
        return json_response(organization_info(profile))

    @router.get(
        "/profile",
        summary="PLT-ORG-01 Own organization",
        response_model=OrganizationInfo,
        description="The OAuth client's home organization.",
    )
    async def get_profile(caller: Annotated[Caller, Depends(auth)]) -> Response:
        return await profile_of(caller, caller.org_id)

    @router.get("", summary="PLT-ORG-02 Organization by id", response_model=OrganizationInfo)
    async def get_organization(
        caller: Annotated[Caller, Depends(auth)], org_id: RequiredOrgIdQuery
    ) -> Response:
        return await profile_of(caller, OrgId(org_id))

    @router.get(
        "/search",
        summary="PLT-ORG-03 Search organizations",
        response_model=OrganizationPage,
        description="Organizations within the caller's scope whose name contains `query` "
        "(ignoring case); ties of any sort key are ordered by id.",
    )
    async def search_organizations(
        caller: Annotated[Caller, Depends(auth)],
        page: Annotated[PageRequest, Depends(pagination)],
        query: SearchQuery,
        sort_by: SortByQuery = "Organization Id",
        sort_order: SortOrderQuery = "ASC",
    ) -> Response:
        found, total = await organizations.search(
            caller,
            query,
            sort=SORT_KEYS[sort_by],
            descending=sort_order == "DESC",
            offset=page.offset,
            limit=page.size,
        )
        return page_response([organization_info(p) for p in found], total)

    @router.post(
        "/create",
        summary="PLT-ORG-04 Create organization",
        status_code=201,
        response_model=OrganizationInfo,
        openapi_extra=documented_body(OrganizationCreate),
        description="`parentId` defaults to the caller's organization and must be within its "
        "scope; a child of a PERSONAL organization is PERSONAL. New organizations start "
        "inactive (`isActive:false`), as in Blynk's example.",
    )
    async def create_organization(
        caller: Annotated[Caller, Depends(auth)],
        body: Annotated[OrganizationCreate, Depends(creation)],
    ) -> Response:
        try:
            created = await organizations.create(
                caller,
                parent_id=None if body.parent_id is None else OrgId(body.parent_id),
                name=body.name,
                description=body.description,
                type=body.type,
                tz=body.tz,
                unit_system=body.unit_system,
                phone_number=body.phone_number,
            )
        except ParentNotFound:
            raise parent_organization_not_found() from None
        return json_response(organization_info(created), status=201)

    @router.get(
        "/static-tokens",
        summary="PLT-ORG-05 Static tokens",
        response_model=StaticTokenPage,
        description="Always an empty page: Pinbase has no static tokens.",
    )
    async def get_static_tokens(
        caller: Annotated[Caller, Depends(auth)],
        page: Annotated[PageRequest, Depends(pagination)],
        org_id: OrgIdQuery = None,
    ) -> Response:
        organization_in_scope(directory, caller, org_id)
        return page_response([], 0)

    @router.get("/tags", summary="PLT-ORG-06 Organization tags", response_model=list[TagInfo])
    async def get_tags(
        caller: Annotated[Caller, Depends(auth)], org_id: OrgIdQuery = None
    ) -> Response:
        target = organization_in_scope(directory, caller, org_id)
        tags = await organizations.tags(caller, target)
        return json_response(
            [{"id": t.id, "name": t.name, "ownerUserId": t.owner_user_id} for t in tags]
        )

    @router.get(
        "/automations",
        summary="PLT-ORG-07 Organization automations",
        response_model=list[AutomationInfo],
        description="The automations of the organization (`orgId`, default the caller's own); "
        "`ownerId` is the user who created one (null for one made by the provisioning file or "
        "an OAuth client), `isActive` its enable switch.",
    )
    async def get_automations(
        caller: Annotated[Caller, Depends(auth)], org_id: OrgIdQuery = None
    ) -> Response:
        org = organization_in_scope(directory, caller, org_id)
        listed = await services.automations.list_automations(caller, org_id=org)
        return json_response(
            [
                {
                    "id": automation.id,
                    "name": automation.spec.name,
                    "ownerId": automation.owner_id,
                    "isActive": automation.spec.is_active,
                }
                for automation in listed
            ]
        )

    @router.delete(
        "",
        summary="PLT-ORG-08 Delete organization",
        status_code=204,
        description="Refused (400) for the caller's own organization, a root organization and "
        "one with sub-organizations or devices; its users, tags, templates and OAuth clients "
        "go with it, its access tokens stop working at once, and devices elsewhere owned by "
        "its users lose their owner.",
    )
    async def delete_organization(
        caller: Annotated[Caller, Depends(auth)], org_id: RequiredOrgIdQuery
    ) -> Response:
        try:
            await organizations.delete(caller, OrgId(org_id))
        except OrganizationNotFound:
            raise organization_not_found(org_id) from None
        except OrganizationNotDeletable:
            raise incorrect_parameters() from None
        return Response(status_code=204)

    return router
