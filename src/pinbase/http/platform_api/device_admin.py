"""Device management: PLT-DEV-09 create, PLT-DEV-10 rename, PLT-DEV-11 delete, PLT-DEV-12 erase
all data, PLT-DEV-13 remove owner, PLT-DEV-14 transfer (http-api.md §4.1).

A device may use a template of its own organization or of any organization above it (templates
are made in a parent and passed down, data-model.md §1.1): another template is ``404 Template
is not found.`` on create, and a transfer that would leave the device without its template is
``400 Request with incorrect parameters``. Owners must be users within the caller's scope; a
transfer to an owner needs an activated (``Active``) account.
"""

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from pinbase.domain.ids import OrgId
from pinbase.domain.users import ACTIVE
from pinbase.http.platform_api import messages
from pinbase.http.platform_api.auth import BearerAuth
from pinbase.http.platform_api.body import documented_body, json_body
from pinbase.http.platform_api.device_schemas import DeviceCreate, DeviceRename, DeviceTransfer
from pinbase.http.platform_api.errors import PlatformError, device_not_found, incorrect_parameters
from pinbase.http.platform_api.params import ERRORS, DeviceIdQuery
from pinbase.http.platform_api.rendering import device_base, device_summary
from pinbase.http.platform_api.schemas import DeviceBase, DeviceSummary
from pinbase.http.responses import json_response
from pinbase.services.container import Services
from pinbase.services.device_admin import DeviceGone
from pinbase.services.oauth import Caller
from pinbase.services.scope import device_in_scope, user_in_scope

NO_CONTENT = 204


def device_admin_router(services: Services, auth: BearerAuth) -> APIRouter:
    """The device management endpoints of §4.1."""
    router = APIRouter(prefix="/api/v1/organization/device", tags=["Devices"], responses=ERRORS)
    directory, store = services.directory, services.store
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
        org_id = caller.org_id if body.org_id is None else OrgId(body.org_id)
        if not caller.can_see(org_id) or directory.organization(org_id) is None:
            raise PlatformError(messages.ORG_NOT_FOUND_PLAIN, 404)
        template = directory.template_by_code(body.template_code)
        if template is None or template.org_id not in directory.lineage(org_id):
            raise PlatformError(messages.TEMPLATE_NOT_FOUND_PLAIN, 404)
        owner = await user_in_scope(store, caller, body.owner_id)
        if owner is None:
            raise PlatformError(messages.OWNER_NOT_FOUND, 404)
        bound = await admin.create(
            org_id=org_id, template=template, name=body.name, owner_user_id=owner.id
        )
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
        bound = await device_in_scope(directory, caller, device_id)
        try:
            renamed = await admin.rename(bound, body.name)
        except DeviceGone:
            raise device_not_found(device_id) from None
        return json_response(device_summary(renamed))

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
        bound = await device_in_scope(directory, caller, device_id)
        try:
            await admin.delete(bound)
        except DeviceGone:
            raise device_not_found(device_id) from None
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
        bound = await device_in_scope(directory, caller, device_id)
        await admin.erase_data(bound)
        return Response(status_code=NO_CONTENT)

    @router.delete("/owner", summary="PLT-DEV-13 Remove device owner", status_code=NO_CONTENT)
    async def remove_owner(
        caller: Annotated[Caller, Depends(auth)], device_id: DeviceIdQuery
    ) -> Response:
        bound = await device_in_scope(directory, caller, device_id)
        try:
            await admin.move(bound, org_id=bound.device.org_id, owner_user_id=None)
        except DeviceGone:
            raise device_not_found(device_id) from None
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
        bound = await device_in_scope(directory, caller, body.device_id)
        owner_id: int | None = None
        if body.new_user_id is not None:
            user = await user_in_scope(store, caller, body.new_user_id)
            if user is None:
                raise PlatformError(messages.OWNER_NOT_FOUND, 404)
            if user.status != ACTIVE:
                raise PlatformError(messages.OWNER_NOT_ACTIVATED)
            if user.id == bound.device.owner_user_id:
                raise PlatformError(messages.SAME_OWNER)
            destination, owner_id = OrgId(user.org_id), user.id
        elif body.new_org_id is not None:
            destination = OrgId(body.new_org_id)
            if not caller.can_see(destination) or directory.organization(destination) is None:
                raise PlatformError(messages.DESTINATION_ORG_NOT_FOUND, 404)
            if destination == bound.device.org_id:
                raise PlatformError(messages.SAME_OWNER)
        else:
            raise incorrect_parameters()
        if bound.template.org_id not in directory.lineage(destination):
            raise incorrect_parameters()
        try:
            await admin.move(bound, org_id=destination, owner_user_id=owner_id)
        except DeviceGone:
            raise device_not_found(body.device_id) from None
        return Response(status_code=NO_CONTENT)

    return router
