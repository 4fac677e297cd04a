"""Datastream values, properties and history: PLT-DS-01 to PLT-DS-06, and the property read-back.

Adapters over ``services.datastream_values`` (the console calls the same use cases): each parses
the request, calls one method and renders the answer. The service's refusals become Blynk's
messages in ``platform_api.errors``; check order: the bearer token, the body, the device (404),
the datastreams (404), the values (400).
"""

import re
from typing import Annotated

from annotated_types import Ge, Le
from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from pinbase.http.platform_api.auth import BearerAuth
from pinbase.http.platform_api.body import documented_body, json_body
from pinbase.http.platform_api.errors import incorrect_parameters
from pinbase.http.platform_api.lookup import pin_named
from pinbase.http.platform_api.pagination import PageRequest, page_reader, page_response
from pinbase.http.platform_api.params import (
    ERRORS,
    DatastreamIdQuery,
    DeviceIdQuery,
    PlainDecimal,
)
from pinbase.http.platform_api.schemas import (
    HistoryPage,
    ImportBatch,
    PropertyUpdate,
    ValuesUpdate,
    ValueUpdate,
)
from pinbase.http.responses import json_response
from pinbase.services.clock import FAR_FUTURE_MS
from pinbase.services.container import Services
from pinbase.services.oauth import Caller
from pinbase.settings import Settings

ORIGIN = "platform_api"
"""The bus origin of values written here: devices are pushed the change (unlike their own)."""

DATASTREAM_KEY = re.compile(r"0|[1-9][0-9]{0,9}")
"""A key of PLT-DS-03's ``values``: a dataStreamId in plain decimal, so no two keys name one."""

MAX_PINS_TEXT = 4096
"""``pins=v1,v2,…`` naming every pin of three kinds fits in well under this."""

IDS = ("deviceId", "dataStreamId")
DEVICE_ID = ("deviceId",)

Millis = Annotated[Annotated[int, Ge(0), Le(FAR_FUTURE_MS)], PlainDecimal, Query()]


def no_content() -> Response:
    """``204`` without a body."""
    return Response(status_code=204)


def datastream_router(services: Services, settings: Settings, auth: BearerAuth) -> APIRouter:
    """The datastream endpoints of §4.2 and Pinbase's property read-back."""
    router = APIRouter(prefix="/api/v1/organization/device", tags=["Datastreams"], responses=ERRORS)
    values = services.datastream_values
    pagination = page_reader(settings.max_page_size)

    @router.get(
        "/datastreams",
        summary="PLT-DS-01 Get device datastream values",
        response_model=dict[str, object],
        description="Values by lowercase pin; datastreams without a value (or default) and "
        "pins without a datastream are left out.",
    )
    async def get_values(
        caller: Annotated[Caller, Depends(auth)],
        device_id: DeviceIdQuery,
        pins: Annotated[
            str | None, Query(max_length=MAX_PINS_TEXT, description="e.g. v1,v2; default all")
        ] = None,
    ) -> Response:
        wanted = None if pins is None else [pin_named(name) for name in pins.split(",")]
        return json_response(await values.read(caller, device_id, wanted))

    @router.post(
        "/datastream",
        summary="PLT-DS-02 Update device datastream value",
        status_code=204,
        openapi_extra=documented_body(ValueUpdate),
    )
    async def update_value(
        caller: Annotated[Caller, Depends(auth)],
        body: Annotated[ValueUpdate, Depends(json_body(ValueUpdate, ids=IDS))],
    ) -> Response:
        await values.write(caller, body.device_id, {body.datastream_id: body.value}, origin=ORIGIN)
        return no_content()

    @router.post(
        "/datastreams",
        summary="PLT-DS-03 Update multiple datastream values",
        status_code=204,
        openapi_extra=documented_body(ValuesUpdate),
        description="All values share one timestamp; one unknown datastream or bad value "
        "stores nothing.",
    )
    async def update_values(
        caller: Annotated[Caller, Depends(auth)],
        body: Annotated[ValuesUpdate, Depends(json_body(ValuesUpdate, ids=DEVICE_ID))],
    ) -> Response:
        if not all(DATASTREAM_KEY.fullmatch(key) for key in body.values):
            raise incorrect_parameters()
        by_id = {int(key): raw for key, raw in body.values.items()}
        await values.write(caller, body.device_id, by_id, origin=ORIGIN)
        return no_content()

    @router.post(
        "/import/batch",
        summary="PLT-DS-04 Import datastream values",
        status_code=204,
        openapi_extra=documented_body(ImportBatch),
        description="Timestamps within a month of now; at most 10,000 points per request and "
        "per device per day, shared with the device API's timestamped upload.",
    )
    async def import_values(
        caller: Annotated[Caller, Depends(auth)],
        body: Annotated[ImportBatch, Depends(json_body(ImportBatch, ids=IDS))],
    ) -> Response:
        points = [(point.ts, point.value) for point in body.values]
        await values.import_points(caller, body.device_id, body.datastream_id, points)
        return no_content()

    @router.post(
        "/datastream/property",
        summary="PLT-DS-05 ★ Update device datastream property value",
        status_code=204,
        openapi_extra=documented_body(PropertyUpdate),
        description="Check order: bearer token, body, device (404), datastream (404), value.",
    )
    async def update_property(
        caller: Annotated[Caller, Depends(auth)],
        body: Annotated[PropertyUpdate, Depends(json_body(PropertyUpdate, ids=IDS))],
    ) -> Response:
        items = body.value if isinstance(body.value, list) else [_property_text(body.value)]
        await values.set_property(caller, body.device_id, body.datastream_id, body.property, items)
        return no_content()

    @router.get(
        "/datastream/property",
        summary="Pinbase extension: read a datastream's properties",
        response_model=dict[str, str | list[str]],
        description="The widget properties stored for this device datastream (by PLT-DS-05, "
        "DEV-06 or a device), by name. Blynk documents no way to read them back.",
    )
    async def get_properties(
        caller: Annotated[Caller, Depends(auth)],
        device_id: DeviceIdQuery,
        datastream_id: DatastreamIdQuery,
    ) -> Response:
        return json_response(await values.properties(caller, device_id, datastream_id))

    @router.get(
        "/datastream/history",
        summary="PLT-DS-06 Datastream history",
        response_model=HistoryPage,
        description="Raw points newest first; `from` inclusive, `to` exclusive (ms).",
    )
    async def get_history(
        caller: Annotated[Caller, Depends(auth)],
        device_id: DeviceIdQuery,
        pin: Annotated[str, Query(max_length=8, description="e.g. v1")],
        page: Annotated[PageRequest, Depends(pagination)],
        since: Annotated[Millis | None, Query(alias="from")] = None,
        until: Annotated[Millis | None, Query(alias="to")] = None,
    ) -> Response:
        entries, total = await values.history(
            caller,
            device_id,
            pin_named(pin),
            since=since,
            until=until,
            offset=page.offset,
            limit=page.size,
        )
        return page_response([{"createdAt": e.ts, "value": e.value} for e in entries], total)

    return router


def _property_text(value: str | bool | int | float) -> str:
    """A property value as stored text: numbers and booleans are coerced (OP-14)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)
