"""Device lists: PLT-DEV-01 all, PLT-DEV-02 search, PLT-DEV-03 by owner e-mail, PLT-DEV-04 in a
user's organization, PLT-DEV-05 recently activated (http-api.md §4.1).

Adapters over ``services.device_lists`` (the console's device list calls the same use cases):
each parses the request, calls one method and renders a page.
"""

from collections.abc import Sequence
from typing import Annotated, Literal

from annotated_types import Ge, Le
from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from pinbase.http.platform_api.auth import BearerAuth
from pinbase.http.platform_api.device_schemas import ActivatedDevice, DevicePage
from pinbase.http.platform_api.pagination import PageRequest, page_reader, page_response
from pinbase.http.platform_api.params import ERRORS, OrgIdQuery, PlainDecimal
from pinbase.http.platform_api.rendering import device_summary
from pinbase.http.responses import json_response
from pinbase.services.container import Services
from pinbase.services.device_lists import DeviceSort
from pinbase.services.directory import BoundDevice
from pinbase.services.oauth import Caller
from pinbase.settings import Settings

SortKey = Literal[
    "Device Id",
    "Name",
    "Auth Token",
    "Owner Id",
    "Device Owner Name",
    "Device Owner",
    "Last Reported At",
    "Activated At",
    "Activated By",
    "Model",
    "Template Name",
    "Template Id",
    "Firmware Version",
    "Organization Id",
    "Status",
]
"""PLT-DEV-02's ``sortBy`` labels (http-api.md §4.1); any other label is a 400."""

SORTS: dict[SortKey, DeviceSort] = {
    "Device Id": "id",
    "Name": "name",
    "Auth Token": "token",
    "Owner Id": "owner_id",
    "Device Owner Name": "owner_name",
    "Device Owner": "owner_email",
    "Last Reported At": "last_reported",
    "Activated At": "activated_at",
    "Activated By": "owner_email",
    "Model": "model",
    "Template Name": "template_name",
    "Template Id": "template_id",
    "Firmware Version": "firmware",
    "Organization Id": "org_id",
    "Status": "status",
}
"""What each label sorts by (``services.device_lists``)."""

OwnerEmailQuery = Annotated[str, Query(alias="ownerEmail", min_length=1, max_length=255)]
UserEmailQuery = Annotated[str, Query(alias="userEmail", min_length=1, max_length=255)]


def device_list_router(services: Services, settings: Settings, auth: BearerAuth) -> APIRouter:
    """The list endpoints of §4.1."""
    router = APIRouter(prefix="/api/v1/organization", tags=["Devices"], responses=ERRORS)
    lists = services.device_lists
    pagination = page_reader(settings.max_page_size)

    def page_of(devices: Sequence[BoundDevice], page: PageRequest) -> Response:
        chosen = devices[page.offset : page.offset + page.size]
        return page_response([device_summary(bound) for bound in chosen], len(devices))

    @router.get(
        "/devices",
        summary="PLT-DEV-01 List organization devices",
        response_model=DevicePage,
        description="Devices of the caller's home organization by id; with "
        "`includeSubOrgDevices=true` also those of every organization below it.",
    )
    async def list_devices(
        caller: Annotated[Caller, Depends(auth)],
        page: Annotated[PageRequest, Depends(pagination)],
        include_sub_orgs: Annotated[bool, Query(alias="includeSubOrgDevices")] = False,
    ) -> Response:
        return page_of(lists.in_scope(caller, include_sub_orgs=include_sub_orgs), page)

    @router.get(
        "/search/devices",
        summary="PLT-DEV-02 Search organization devices",
        response_model=DevicePage,
        description="Devices within the caller's scope whose name contains `query` (ignoring "
        "case). Ties of any sort key, and devices lacking the value (sorted first), are "
        "ordered by id. `Device Owner` and `Activated By` sort by the owner's e-mail, `Last "
        "Reported At` by the newest stored value, `Model` by the board type.",
    )
    async def search_devices(
        caller: Annotated[Caller, Depends(auth)],
        page: Annotated[PageRequest, Depends(pagination)],
        query: Annotated[str, Query(min_length=1, max_length=255, description="part of a name")],
        sort_by: Annotated[SortKey, Query(alias="sortBy")] = "Device Id",
        sort_order: Annotated[Literal["ASC", "DESC"], Query(alias="sortOrder")] = "ASC",
    ) -> Response:
        found = await lists.search(
            caller, query, sort=SORTS[sort_by], descending=sort_order == "DESC"
        )
        return page_of(found, page)

    @router.get(
        "/device/by-owner",
        summary="PLT-DEV-03 Devices by owner email",
        response_model=DevicePage,
        description="Devices the user owns in organization `orgId` (default: home) and the "
        "organizations below it; empty for an address of no user in the caller's scope.",
    )
    async def devices_by_owner(
        caller: Annotated[Caller, Depends(auth)],
        page: Annotated[PageRequest, Depends(pagination)],
        owner_email: OwnerEmailQuery,
        org_id: OrgIdQuery = None,
    ) -> Response:
        return page_of(await lists.owned_by(caller, owner_email, org_id=org_id), page)

    @router.get(
        "/device/by-user-org",
        summary="PLT-DEV-04 Devices in a user's organization",
        response_model=DevicePage,
        description="Devices of the organization the user belongs to (not those below it); "
        "empty for an address of no user in the caller's scope.",
    )
    async def devices_by_user_org(
        caller: Annotated[Caller, Depends(auth)],
        page: Annotated[PageRequest, Depends(pagination)],
        user_email: UserEmailQuery,
    ) -> Response:
        return page_of(await lists.in_user_organization(caller, user_email), page)

    @router.get(
        "/device/last-activated",
        summary="PLT-DEV-05 Recently activated devices",
        response_model=list[ActivatedDevice],
        description="A JSON array (OP-09), newest first, of the devices of organization "
        "`orgId` (default: home; sub-organizations excluded) created within the last "
        "`minutes` (1..60, default 5).",
    )
    async def last_activated(
        caller: Annotated[Caller, Depends(auth)],
        org_id: OrgIdQuery = None,
        minutes: Annotated[Annotated[int, Ge(1), Le(60)], PlainDecimal, Query()] = 5,
    ) -> Response:
        recent = lists.activated_since(caller, org_id=org_id, minutes=minutes)
        return json_response(
            [
                {
                    "id": device.id,
                    "templateId": device.template_id,
                    "orgId": device.org_id,
                    "ownerUserId": device.owner_user_id,
                    "activationTime": device.created_at,
                }
                for device in recent
            ]
        )

    return router
