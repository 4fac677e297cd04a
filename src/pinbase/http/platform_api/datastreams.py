"""Datastream values, properties and history: PLT-DS-01 to PLT-DS-06, and the property read-back.

Writes go through the one value pipeline (``Telemetry.record`` and ``import_points``): typed,
clamped, stored in history, announced on the bus. Value writes and property changes (not
imports) are then logged in the device's actions log (``services.actions``, PLT-DEV-20). Every
write is all-or-nothing and checks, in order: the bearer token, the body, the device (404), the
datastreams (404), the values (400).
"""

import re
from typing import Annotated

from annotated_types import Ge, Le
from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from pinbase.domain.datastreams import Datastream
from pinbase.domain.devices import Device
from pinbase.domain.errors import UnknownDatastream, ValueMismatch, ValueTooLong
from pinbase.domain.points import Point
from pinbase.domain.value_types import Value
from pinbase.domain.values import MAX_STRING_BYTES, parse_json, read_json
from pinbase.http.platform_api import messages
from pinbase.http.platform_api.auth import BearerAuth
from pinbase.http.platform_api.body import documented_body, json_body
from pinbase.http.platform_api.errors import (
    PlatformError,
    datastream_not_found,
    incorrect_parameters,
)
from pinbase.http.platform_api.lookup import datastream_by_id, device_in_scope, pin_named
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
from pinbase.services.container import Services
from pinbase.services.oauth import Caller
from pinbase.services.properties import check_property
from pinbase.services.telemetry import ImportQuotaExceeded
from pinbase.settings import Settings
from pinbase.storage.codec import history_value

ORIGIN = "platform_api"
"""The bus origin of values written here: devices are pushed the change (unlike their own)."""

DATASTREAM_KEY = re.compile(r"0|[1-9][0-9]{0,9}")
"""A key of PLT-DS-03's ``values``: a dataStreamId in plain decimal, so no two keys name one."""

MAX_PINS_TEXT = 4096
"""``pins=v1,v2,…`` naming every pin of three kinds fits in well under this."""

FAR_FUTURE_MS = 2**62
"""Default upper bound of a history read: imports may be dated up to a month ahead."""

IDS = ("deviceId", "dataStreamId")
DEVICE_ID = ("deviceId",)

Millis = Annotated[Annotated[int, Ge(0), Le(FAR_FUTURE_MS)], PlainDecimal, Query()]


def no_content() -> Response:
    """``204`` without a body."""
    return Response(status_code=204)


def datastream_router(services: Services, settings: Settings, auth: BearerAuth) -> APIRouter:
    """The datastream endpoints of §4.2 and Pinbase's property read-back."""
    router = APIRouter(prefix="/api/v1/organization/device", tags=["Datastreams"], responses=ERRORS)
    directory = services.directory
    telemetry = services.telemetry
    pagination = page_reader(settings.max_page_size)

    async def record(device: Device, writes: list[tuple[Datastream, Value]]) -> None:
        """Store values through the value pipeline, then log them as actions (PLT-DEV-20)."""
        await services.value_writes.record(device, writes, origin=ORIGIN)

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
        wanted = None
        if pins is not None:
            wanted = [pin_named(name) for name in pins.split(",")]
        bound = await device_in_scope(directory, caller, device_id)
        template = bound.template
        if wanted is None:
            datastreams = list(template.datastreams)
        else:
            datastreams = []
            for pin in wanted:
                try:
                    datastreams.append(template.datastream_at(pin))
                except UnknownDatastream:
                    continue
        return json_response(telemetry.values_by_pin(bound.device.id, datastreams))

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
        bound = await device_in_scope(directory, caller, body.device_id)
        datastream = datastream_by_id(bound, body.datastream_id)
        await record(bound.device, [(datastream, _value(datastream, body.value))])
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
        bound = await device_in_scope(directory, caller, body.device_id)
        datastreams = [datastream_by_id(bound, int(key)) for key in body.values]
        writes = [
            (datastream, _value(datastream, raw))
            for datastream, raw in zip(datastreams, body.values.values(), strict=True)
        ]
        await record(bound.device, writes)
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
        bound = await device_in_scope(directory, caller, body.device_id)
        datastream = datastream_by_id(bound, body.datastream_id)
        limit = settings.max_import_points
        if len(body.values) > limit:
            raise PlatformError(messages.BATCH_TOO_LARGE.format(limit=limit))
        now = services.clock()
        if any(abs(point.ts - now) > settings.import_window_ms for point in body.values):
            raise incorrect_parameters()
        points = [
            Point(bound.device.id, datastream.id, point.ts, _value(datastream, point.value))
            for point in body.values
        ]
        try:
            await telemetry.import_points(bound.device, points)
        except ImportQuotaExceeded as exceeded:
            raise PlatformError(messages.IMPORT_QUOTA.format(limit=exceeded.limit)) from None
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
        bound = await device_in_scope(directory, caller, body.device_id)
        datastream = datastream_by_id(bound, body.datastream_id)
        items = body.value if isinstance(body.value, list) else [_property_text(body.value)]
        try:
            checked = check_property(body.property, items)
        except ValueMismatch:
            raise PlatformError(messages.MISMATCH) from None
        changes = {body.property: checked}
        await services.properties.set(bound.device, datastream, changes)
        await services.actions.properties_set(bound.device, datastream, changes)
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
        bound = await device_in_scope(directory, caller, device_id)
        datastream = datastream_by_id(bound, datastream_id)
        return json_response(services.properties.of_datastream(bound.device.id, datastream.id))

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
        wanted = pin_named(pin)
        bound = await device_in_scope(directory, caller, device_id)
        try:
            datastream = bound.template.datastream_at(wanted)
        except UnknownDatastream:
            raise datastream_not_found(wanted.name) from None
        low = 0 if since is None else since
        high = FAR_FUTURE_MS if until is None else until
        async with services.store.transaction() as tx:
            total = await tx.count_history(bound.device.id, datastream.id, since=low, until=high)
            rows = await tx.read_history_page(
                bound.device.id,
                datastream.id,
                since=low,
                until=high,
                offset=page.offset,
                limit=page.size,
            )
        content = [
            {
                "createdAt": row.ts,
                "value": read_json(datastream, history_value(datastream.type, row.num, row.text)),
            }
            for row in rows
        ]
        return page_response(content, total)

    return router


def _value(datastream: Datastream, raw: object) -> Value:
    """A JSON value checked, typed and clamped for ``datastream`` (OP-15)."""
    try:
        value = parse_json(datastream, raw)
    except ValueTooLong:
        raise PlatformError(messages.VALUE_TOO_LONG.format(limit=MAX_STRING_BYTES)) from None
    except ValueMismatch:
        raise PlatformError(messages.MISMATCH) from None
    return value


def _property_text(value: str | bool | int | float) -> str:
    """A property value as stored text: numbers and booleans are coerced (OP-14)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)
