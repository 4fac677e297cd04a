"""Devices: PLT-DEV-06 info, PLT-DEV-07 base info, PLT-DEV-08 connection status."""

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from pinbase.http.platform_api.auth import BearerAuth
from pinbase.http.platform_api.params import ERRORS, DeviceIdQuery
from pinbase.http.platform_api.rendering import (
    datastream_values,
    device_base,
    metafield_values,
    properties_by_datastream,
)
from pinbase.http.platform_api.schemas import Connected, DeviceBase, DeviceFull
from pinbase.http.responses import json_response
from pinbase.services.container import Services
from pinbase.services.oauth import Caller
from pinbase.services.scope import device_in_scope


def device_router(services: Services, auth: BearerAuth) -> APIRouter:
    """The device endpoints built so far; the rest of §4.1 joins this router."""
    router = APIRouter(prefix="/api/v1/organization/device", tags=["Devices"], responses=ERRORS)
    directory = services.directory

    @router.get(
        "",
        summary="PLT-DEV-06 Get device info",
        response_model=DeviceFull,
        description="DeviceFull; `properties` (stored widget properties by dataStreamId) is a "
        "Pinbase extension.",
    )
    async def get_device(
        caller: Annotated[Caller, Depends(auth)], device_id: DeviceIdQuery
    ) -> Response:
        bound = await device_in_scope(directory, caller, device_id)
        online = services.presence.is_online(bound.device.id)
        stored = services.properties.of_device(bound.device.id)
        first = await services.device_records.first_connections([bound])
        return json_response(
            {
                **device_base(bound, online=online, first_connected_at=first.get(bound.device.id)),
                "dataStreamValues": datastream_values(bound, services.telemetry),
                "metaFieldValues": metafield_values(bound, services.metadata),
                "properties": properties_by_datastream(stored),
            }
        )

    @router.get("/baseInfo", summary="PLT-DEV-07 Get base device info", response_model=DeviceBase)
    async def get_base_info(
        caller: Annotated[Caller, Depends(auth)], device_id: DeviceIdQuery
    ) -> Response:
        bound = await device_in_scope(directory, caller, device_id)
        first = await services.device_records.first_connections([bound])
        online = services.presence.is_online(bound.device.id)
        return json_response(
            device_base(bound, online=online, first_connected_at=first.get(bound.device.id))
        )

    @router.get("/online", summary="PLT-DEV-08 Device connection status", response_model=Connected)
    async def get_online(
        caller: Annotated[Caller, Depends(auth)], device_id: DeviceIdQuery
    ) -> Response:
        bound = await device_in_scope(directory, caller, device_id)
        return json_response({"connected": services.presence.is_online(bound.device.id)})

    return router
