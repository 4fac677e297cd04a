"""Device management: PLT-DEV-09 create, PLT-DEV-10 rename, PLT-DEV-11 delete, PLT-DEV-12 erase
all data, PLT-DEV-13 remove owner, PLT-DEV-14 transfer (http-api.md §4.1).

Adapters over ``services.device_admin`` (the console's "new device" calls it too), whose rules
its module states. Here its refusals become Blynk's messages: a template outside the device
organization's lineage is ``404 Template is not found.`` on create, and a transfer that would
leave the device without its template is ``400 Request with incorrect parameters``.
"""

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from pinbase.http.platform_api import messages
from pinbase.http.platform_api.auth import BearerAuth
from pinbase.http.platform_api.body import documented_body, json_body
from pinbase.http.platform_api.device_schemas import DeviceCreate, DeviceRename, DeviceTransfer
from pinbase.http.platform_api.errors import PlatformError, incorrect_parameters
from pinbase.http.platform_api.params import ERRORS, DeviceIdQuery
from pinbase.http.platform_api.rendering import device_base, device_summary
from pinbase.http.platform_api.schemas import DeviceBase, DeviceSummary
from pinbase.http.responses import json_response
from pinbase.services.container import Services
from pinbase.services.device_admin import (
    DestinationNotFound,
    DeviceAdminRefusal,
    OrganizationNotUsable,
    OwnerNotActivated,
    OwnerNotFound,
    SameOwner,
    TemplateNotUsable,
)
from pinbase.services.oauth import Caller

NO_CONTENT = 204


def _refusal(error: DeviceAdminRefusal) -> PlatformError:
    """The documented answer to a refusal of ``services.device_admin``."""
    match error:
        case OrganizationNotUsable():
            return PlatformError(messages.ORG_NOT_FOUND_PLAIN, 404)
        case TemplateNotUsable():
            return PlatformError(messages.TEMPLATE_NOT_FOUND_PLAIN, 404)
        case OwnerNotFound():
            return PlatformError(messages.OWNER_NOT_FOUND, 404)
        case OwnerNotActivated():
            return PlatformError(messages.OWNER_NOT_ACTIVATED)
        case DestinationNotFound():
            return PlatformError(messages.DESTINATION_ORG_NOT_FOUND, 404)
        case SameOwner():
            return PlatformError(messages.SAME_OWNER)
    return incorrect_parameters()


def device_admin_router(services: Services, auth: BearerAuth) -> APIRouter:
    """The device management endpoints of §4.1."""
    router = APIRouter(prefix="/api/v1/organization/device", tags=["Devices"], responses=ERRORS)
    admin = services.device_admin
    creation = json_body(DeviceCreate, ids=("templateId", "orgId", "ownerId"))
    renaming = json_body(DeviceRename, ids=())
    transfer = json_body(DeviceTransfer, ids=("deviceId", "newUserId", "newOrgId"))

    @router.post(
        "/create",
        summary="PLT-DEV-09 Create device",
        status_code=201,
        response_model=DeviceBase,
        openapi_extra=documented_body(DeviceCreate),
        description="A new device with a fresh token, in `orgId` (default: home). The template "
        "(by TMPL… code) must belong to that organization or one above it; the owner must be a "
        "user within the caller's scope.",
    )
    async def create_device(
        caller: Annotated[Caller, Depends(auth)],
        body: Annotated[DeviceCreate, Depends(creation)],
    ) -> Response:
        try:
            bound = await admin.create(
                caller,
                org_id=body.org_id,
                template_code=body.template_code,
                name=body.name,
                owner_id=body.owner_id,
            )
        except DeviceAdminRefusal as refused:
            raise _refusal(refused) from None
        return json_response(device_base(bound, online=False), status=201)

    @router.put(
        "",
        summary="PLT-DEV-10 Edit device (rename)",
        response_model=DeviceSummary,
        openapi_extra=documented_body(DeviceRename),
    )
    async def rename_device(
        caller: Annotated[Caller, Depends(auth)],
        device_id: DeviceIdQuery,
        body: Annotated[DeviceRename, Depends(renaming)],
    ) -> Response:
        return json_response(device_summary(await admin.rename(caller, device_id, body.name)))

    @router.delete(
        "",
        summary="PLT-DEV-11 Delete device",
        status_code=NO_CONTENT,
        description="The device goes with its values, history, properties, metadata, events, "
        "files, tags and actions log; its token stops working at once and a live connection "
        "of it is closed.",
    )
    async def delete_device(
        caller: Annotated[Caller, Depends(auth)], device_id: DeviceIdQuery
    ) -> Response:
        await admin.delete(caller, device_id)
        return Response(status_code=NO_CONTENT)

    @router.delete(
        "/clear",
        summary="PLT-DEV-12 Erase all device data",
        status_code=NO_CONTENT,
        description="Clears current values, history and datastream properties; the device, "
        "its token, owner, metadata and events stay.",
    )
    async def erase_device_data(
        caller: Annotated[Caller, Depends(auth)], device_id: DeviceIdQuery
    ) -> Response:
        await admin.erase_data(caller, device_id)
        return Response(status_code=NO_CONTENT)

    @router.delete("/owner", summary="PLT-DEV-13 Remove device owner", status_code=NO_CONTENT)
    async def remove_owner(
        caller: Annotated[Caller, Depends(auth)], device_id: DeviceIdQuery
    ) -> Response:
        await admin.remove_owner(caller, device_id)
        return Response(status_code=NO_CONTENT)

    @router.post(
        "/transfer",
        summary="PLT-DEV-14 Transfer device",
        status_code=NO_CONTENT,
        openapi_extra=documented_body(DeviceTransfer),
        description="To `newUserId` (the device moves to that user's organization; the "
        "account must be activated) or, when it is absent, to `newOrgId` (the device leaves "
        "its owner behind). A user outside the caller's scope answers like a missing one: "
        "`404 User is not found or you don't have access to him.`; an account that is not "
        "activated: `400 The new owner's account is not activated.` (Pinbase's own message).",
    )
    async def transfer_device(
        caller: Annotated[Caller, Depends(auth)],
        body: Annotated[DeviceTransfer, Depends(transfer)],
    ) -> Response:
        try:
            await admin.transfer(
                caller, body.device_id, new_user_id=body.new_user_id, new_org_id=body.new_org_id
            )
        except DeviceAdminRefusal as refused:
            raise _refusal(refused) from None
        return Response(status_code=NO_CONTENT)

    return router
