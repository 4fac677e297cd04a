"""Blynk.Air firmware updates, a Pinbase extension of the Platform API (docs/platform-api.md):
upload firmware files, create and run shipments, read each device's status. Blynk mentions a
shipment API only in its changelog (device-lifecycle.md §6 item 7); these endpoints are adapters
over ``services.firmware`` and ``services.shipments``, which the console uses too.

Every operation is marked ``x-pinbase-extension: true`` in ``/openapi.json``. Firmware or a
shipment of another organization is ``404``, as missing ones; a request that breaks a rule is
``400`` with a message naming it.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from pinbase.domain.shipments import (
    DEFAULT_ATTEMPTS_LIMIT,
    DEFAULT_ATTEMPTS_RESET_S,
    MAX_SHIPMENT_NAME_CHARS,
    Condition,
    Firmware,
    PreferredTime,
    Shipment,
    TargetKind,
)
from pinbase.http.platform_api.auth import BearerAuth
from pinbase.http.platform_api.body import documented_body, json_body
from pinbase.http.platform_api.errors import incorrect_parameters
from pinbase.http.platform_api.params import ERRORS, Int32, OrgIdQuery, PlainDecimal
from pinbase.http.platform_api.schemas import Id
from pinbase.http.responses import json_response
from pinbase.services.container import Services
from pinbase.services.oauth import Caller
from pinbase.services.shipments import (
    DeviceProgress,
    ShipmentRequest,
)

TAG = "Firmware updates"
TAG_DESCRIPTION = (
    "Pinbase extension: Blynk.Air over-the-air updates. Upload a firmware file (its `blnkinf` "
    "firmware info is read), ship it to devices of a template (all, chosen ones, or a tag's), "
    "and follow each device's status; see docs/firmware-updates.md."
)
EXTENSION = {"x-pinbase-extension": True}
NO_CONTENT = 204
FIRMWARE_PREFIX = "/api/v1/organization/firmware"
UPLOAD_PATH = f"{FIRMWARE_PREFIX}/upload"
UPLOAD_FIELD = "file"
MAX_FORM_PARTS = 4

FirmwareIdQuery = Annotated[
    Int32, PlainDecimal, Query(alias="firmwareId", description="a firmware file's id")
]
ShipmentIdQuery = Annotated[
    Int32, PlainDecimal, Query(alias="shipmentId", description="a shipment's id")
]
DeviceIdQuery = Annotated[Int32, PlainDecimal, Query(alias="deviceId", description="a device's id")]


class ShipmentCreate(BaseModel):
    """A new shipment; ``devices`` for target ``devices``, ``tagId`` for target ``tag``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: Annotated[StrictStr, Field(min_length=1, max_length=MAX_SHIPMENT_NAME_CHARS)]
    template_id: Id = Field(alias="templateId")
    firmware_id: Id = Field(alias="firmwareId")
    target: TargetKind = TargetKind.TEMPLATE
    devices: Annotated[list[Id], Field(max_length=10_000)] = []
    tag_id: Id | None = Field(default=None, alias="tagId")
    condition: Condition = Condition.LOWER_VERSION
    preferred_time: PreferredTime = Field(default=PreferredTime.ANY, alias="preferredTime")
    attempts_limit: Annotated[StrictInt, Field(ge=1, le=100)] = Field(
        default=DEFAULT_ATTEMPTS_LIMIT, alias="attemptsLimit"
    )
    attempts_reset_period: Annotated[StrictInt, Field(ge=60, le=31 * 86_400)] = Field(
        default=DEFAULT_ATTEMPTS_RESET_S, alias="attemptsResetPeriod"
    )
    confirm_without_info: StrictBool = Field(default=False, alias="confirmWithoutInfo")
    start: StrictBool = False

    def request(self) -> ShipmentRequest:
        """The service's request."""
        return ShipmentRequest(
            name=self.name,
            template_id=self.template_id,
            firmware_id=self.firmware_id,
            target=self.target,
            device_ids=tuple(self.devices),
            tag_id=self.tag_id,
            condition=self.condition,
            preferred_time=self.preferred_time,
            attempts_limit=self.attempts_limit,
            attempts_reset_s=self.attempts_reset_period,
            confirm_without_info=self.confirm_without_info,
            start=self.start,
        )


def firmware_json(firmware: Firmware) -> dict[str, Any]:
    """A firmware file as the API shows it: ``info`` holds the tag's pairs (null: none)."""
    tag = firmware.tag
    return {
        "id": firmware.id,
        "orgId": firmware.org_id,
        "filename": firmware.filename,
        "size": firmware.size,
        "md5": firmware.md5,
        "sha256": firmware.sha256,
        "info": None if tag is None else dict(tag.pairs),
        "version": None if tag is None else tag.version,
        "fwType": None if tag is None else tag.fw_type,
        "build": None if tag is None else tag.build,
        "uploadedAt": firmware.uploaded_at,
    }


def shipment_json(shipment: Shipment) -> dict[str, Any]:
    """A shipment as the API shows it."""
    return {
        "id": shipment.id,
        "orgId": shipment.org_id,
        "name": shipment.name,
        "templateId": shipment.template_id,
        "firmwareId": shipment.firmware_id,
        "status": shipment.state.value,
        "target": shipment.target.value,
        "devices": list(shipment.device_ids),
        "tagId": shipment.tag_id,
        "condition": shipment.condition.value,
        "preferredTime": shipment.preferred_time.value,
        "attemptsLimit": shipment.attempts_limit,
        "attemptsResetPeriod": shipment.attempts_reset_s,
        "createdAt": shipment.created_at,
        "startedAt": shipment.started_at,
    }


def progress_json(line: DeviceProgress) -> dict[str, Any]:
    """One device's status in a shipment."""
    row = line.row
    return {
        "deviceId": line.device_id,
        "name": line.name,
        "online": line.online,
        "status": row.status.value,
        "statusLabel": row.status.label,
        "reason": row.reason,
        "attempts": row.attempts,
        "updatedAt": row.updated_at or None,
        "previousVersion": row.from_version,
    }


def firmware_router(services: Services, auth: BearerAuth) -> APIRouter:
    """The firmware and shipment endpoints."""
    router = APIRouter(tags=[TAG], responses=ERRORS)
    firmware = services.firmware
    shipments = services.shipments
    Authorized = Annotated[Caller, Depends(auth)]

    @router.post(
        UPLOAD_PATH,
        summary="Upload a firmware file",
        status_code=201,
        openapi_extra={
            **EXTENSION,
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "string", "format": "binary"}},
                            "required": ["file"],
                        }
                    }
                },
            },
        },
        description="Multipart part `file` with a file name. The `blnkinf` firmware info is "
        "read from the bytes (`info`: null when the file has none). `orgId` defaults to the "
        "caller's organization.",
    )
    async def upload_firmware(
        caller: Authorized, request: Request, org_id: OrgIdQuery = None
    ) -> Response:
        try:
            async with request.form(max_files=MAX_FORM_PARTS, max_fields=MAX_FORM_PARTS) as form:
                part = form.get(UPLOAD_FIELD)
                if not isinstance(part, UploadFile) or not part.filename:
                    raise incorrect_parameters()
                data = await part.read(firmware.max_bytes + 1)
                name = part.filename
        except HTTPException:
            # Starlette's answer to a malformed multipart body.
            raise incorrect_parameters() from None
        stored = await firmware.upload(caller, filename=name, data=data, org_id=org_id)
        return json_response(firmware_json(stored), status=201)

    @router.get(f"{FIRMWARE_PREFIX}/list", summary="List firmware files", openapi_extra=EXTENSION)
    async def list_firmware(caller: Authorized) -> Response:
        return json_response([firmware_json(item) for item in await firmware.listing(caller)])

    @router.get(
        FIRMWARE_PREFIX, summary="Get a firmware file's information", openapi_extra=EXTENSION
    )
    async def get_firmware(caller: Authorized, firmware_id: FirmwareIdQuery) -> Response:
        return json_response(firmware_json(await firmware.get(caller, firmware_id)))

    @router.delete(
        FIRMWARE_PREFIX,
        summary="Delete a firmware file",
        status_code=NO_CONTENT,
        openapi_extra=EXTENSION,
        description="Refused (400) while a shipment ships it: delete the shipments first.",
    )
    async def delete_firmware(caller: Authorized, firmware_id: FirmwareIdQuery) -> Response:
        await firmware.delete(caller, firmware_id)
        return Response(status_code=NO_CONTENT)

    @router.post(
        "/api/v1/organization/shipment/create",
        summary="Create a shipment",
        status_code=201,
        openapi_extra={**documented_body(ShipmentCreate), **EXTENSION},
        description="A draft, or live at once with `start`. `target`: `template` (every device "
        "of the template, also those added later), `devices` (ids in `devices`) or `tag` "
        "(`tagId`). `condition`: `lower_version` (default), `earlier_build`, `other_build`, "
        "`lower_library`, or `any` (only for a file without firmware info, with "
        "`confirmWithoutInfo`).",
    )
    async def create_shipment(
        caller: Authorized,
        body: Annotated[ShipmentCreate, Depends(json_body(ShipmentCreate, ids=()))],
    ) -> Response:
        created = await shipments.create(caller, body.request())
        return json_response(shipment_json(created), status=201)

    @router.get(
        "/api/v1/organization/shipment/list", summary="List shipments", openapi_extra=EXTENSION
    )
    async def list_shipments(caller: Authorized) -> Response:
        return json_response([shipment_json(item) for item in await shipments.listing(caller)])

    @router.get("/api/v1/organization/shipment", summary="Get a shipment", openapi_extra=EXTENSION)
    async def get_shipment(caller: Authorized, shipment_id: ShipmentIdQuery) -> Response:
        return json_response(shipment_json(await shipments.get(caller, shipment_id)))

    @router.post(
        "/api/v1/organization/shipment/start",
        summary="Start or resume a shipment",
        openapi_extra=EXTENSION,
        description="Its online devices are evaluated at once; the others when they connect.",
    )
    async def start_shipment(caller: Authorized, shipment_id: ShipmentIdQuery) -> Response:
        return json_response(shipment_json(await shipments.start_shipment(caller, shipment_id)))

    @router.post(
        "/api/v1/organization/shipment/pause", summary="Pause a shipment", openapi_extra=EXTENSION
    )
    async def pause_shipment(caller: Authorized, shipment_id: ShipmentIdQuery) -> Response:
        return json_response(shipment_json(await shipments.pause(caller, shipment_id)))

    @router.post(
        "/api/v1/organization/shipment/cancel",
        summary="Cancel a shipment",
        openapi_extra=EXTENSION,
        description="For good: its download links stop working.",
    )
    async def cancel_shipment(caller: Authorized, shipment_id: ShipmentIdQuery) -> Response:
        return json_response(shipment_json(await shipments.cancel(caller, shipment_id)))

    @router.delete(
        "/api/v1/organization/shipment",
        summary="Delete a shipment",
        status_code=NO_CONTENT,
        openapi_extra=EXTENSION,
        description="Refused (400) while it is live.",
    )
    async def delete_shipment(caller: Authorized, shipment_id: ShipmentIdQuery) -> Response:
        await shipments.delete(caller, shipment_id)
        return Response(status_code=NO_CONTENT)

    @router.get(
        "/api/v1/organization/shipment/devices",
        summary="Each device's status in a shipment",
        openapi_extra=EXTENSION,
        description="`status`: `pending`, `request_sent`, `firmware_requested`, "
        "`firmware_downloaded`, `success`, `upload_failure`, `download_limit_reached`, "
        "`rollback`, `type_mismatch`, `version_mismatch`; `reason` says why a failure or a "
        "mismatch happened.",
    )
    async def shipment_devices(caller: Authorized, shipment_id: ShipmentIdQuery) -> Response:
        lines = await shipments.progress(caller, shipment_id)
        return json_response([progress_json(line) for line in lines])

    @router.post(
        "/api/v1/organization/shipment/device/update",
        summary="Update one device now",
        status_code=NO_CONTENT,
        openapi_extra=EXTENSION,
        description="Forgets the device's failed attempts and sends the file at once if it is "
        "online (else when it connects).",
    )
    async def update_device(
        caller: Authorized, shipment_id: ShipmentIdQuery, device_id: DeviceIdQuery
    ) -> Response:
        await shipments.update_device(caller, shipment_id, device_id)
        return Response(status_code=NO_CONTENT)

    return router
