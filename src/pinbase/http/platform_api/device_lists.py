"""Device lists: PLT-DEV-01 all, PLT-DEV-02 search, PLT-DEV-03 by owner e-mail, PLT-DEV-04 in a
user's organization, PLT-DEV-05 recently activated (http-api.md §4.1).

Lists are answered from the in-memory directory, which holds every device of every known
organization (the directory module says how devices created by other processes get there); the
database is asked only for users (owner e-mails and names). An e-mail that names no user in the
caller's scope answers an empty page, like a user without devices: nothing undocumented leaks.
"""

from collections.abc import Callable, Sequence
from typing import Annotated, Literal

from annotated_types import Ge, Le
from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from pinbase.domain.ids import OrgId
from pinbase.http.platform_api.auth import BearerAuth
from pinbase.http.platform_api.device_schemas import ActivatedDevice, DevicePage
from pinbase.http.platform_api.pagination import PageRequest, page_reader, page_response
from pinbase.http.platform_api.params import ERRORS, OrgIdQuery, PlainDecimal
from pinbase.http.platform_api.rendering import OFFLINE, ONLINE, device_summary
from pinbase.http.responses import json_response
from pinbase.services.container import Services
from pinbase.services.directory import BoundDevice
from pinbase.services.oauth import Caller
from pinbase.services.scope import organization_in_scope, user_in_scope
from pinbase.settings import Settings
from pinbase.storage.users import StoredUser

MINUTE_MS = 60_000

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

OWNER_KEYS = frozenset({"Device Owner Name", "Device Owner", "Activated By"})
"""Sort keys that need the owners' user records."""

OwnerEmailQuery = Annotated[str, Query(alias="ownerEmail", min_length=1, max_length=255)]
UserEmailQuery = Annotated[str, Query(alias="userEmail", min_length=1, max_length=255)]
Sortable = tuple[bool, int | str]
"""A sort key that puts devices lacking the value first: ``(has value, value)``."""


def _key(value: int | str | None) -> Sortable:
    return (False, 0) if value is None else (True, value)


def device_list_router(services: Services, settings: Settings, auth: BearerAuth) -> APIRouter:
    """The list endpoints of §4.1."""
    router = APIRouter(prefix="/api/v1/organization", tags=["Devices"], responses=ERRORS)
    directory = services.directory
    pagination = page_reader(settings.max_page_size)

    def page_of(devices: Sequence[BoundDevice], page: PageRequest) -> Response:
        chosen = devices[page.offset : page.offset + page.size]
        return page_response([device_summary(bound) for bound in chosen], len(devices))

    async def owners_of(devices: Sequence[BoundDevice]) -> dict[int, StoredUser]:
        wanted = {b.device.owner_user_id for b in devices if b.device.owner_user_id is not None}
        found: dict[int, StoredUser] = {}
        async with services.store.transaction() as tx:
            for user_id in sorted(wanted):
                user = await tx.find_user(user_id)
                if user is not None:
                    found[user_id] = user
        return found

    def last_reported(bound: BoundDevice) -> int:
        points = (
            services.telemetry.current(bound.device.id, ds) for ds in bound.template.datastreams
        )
        return max((point.ts for point in points if point is not None), default=0)

    def sort_key(
        sort_by: SortKey, owners: dict[int, StoredUser]
    ) -> Callable[[BoundDevice], Sortable]:
        def owner(bound: BoundDevice) -> StoredUser | None:
            owner_id = bound.device.owner_user_id
            return None if owner_id is None else owners.get(owner_id)

        def key(bound: BoundDevice) -> Sortable:
            device, info = bound.device, bound.device.hardware_info
            user = owner(bound)
            match sort_by:
                case "Name":
                    return _key(device.name.casefold())
                case "Auth Token":
                    return _key(device.token)
                case "Owner Id":
                    return _key(device.owner_user_id)
                case "Device Owner Name":
                    return _key(None if user is None else user.name.casefold())
                case "Device Owner" | "Activated By":
                    return _key(None if user is None else user.email)
                case "Last Reported At":
                    return _key(last_reported(bound))
                case "Activated At":
                    return _key(device.created_at)
                case "Model":
                    return _key(info.board_type)
                case "Template Name":
                    return _key(bound.template.name.casefold())
                case "Template Id":
                    return _key(device.template_id)
                case "Firmware Version":
                    return _key(info.version)
                case "Organization Id":
                    return _key(device.org_id)
                case "Status":
                    online = services.presence.is_online(device.id)
                    return _key(ONLINE if online else OFFLINE)
            return _key(device.id)

        return key

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
        orgs = caller.scope if include_sub_orgs else {caller.org_id}
        return page_of(directory.devices_in(orgs), page)

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
        needle = query.casefold()
        matches = [
            b for b in directory.devices_in(caller.scope) if needle in b.device.name.casefold()
        ]
        owners = await owners_of(matches) if sort_by in OWNER_KEYS else {}
        matches.sort(key=sort_key(sort_by, owners), reverse=sort_order == "DESC")
        return page_of(matches, page)

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
        target = organization_in_scope(directory, caller, org_id)
        user = await user_in_scope(services.store, caller, owner_email)
        if user is None:
            return page_response([], 0)
        owned = [
            b
            for b in directory.devices_in(directory.subtree(target))
            if b.device.owner_user_id == user.id
        ]
        return page_of(owned, page)

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
        user = await user_in_scope(services.store, caller, user_email)
        if user is None:
            return page_response([], 0)
        return page_of(directory.devices_in({OrgId(user.org_id)}), page)

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
        target = organization_in_scope(directory, caller, org_id)
        since = services.clock() - minutes * MINUTE_MS
        recent = [b.device for b in directory.devices_in({target}) if b.device.created_at >= since]
        recent.sort(key=lambda device: (device.created_at, device.id), reverse=True)
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
