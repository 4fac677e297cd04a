"""Reading and writing datastream values: DEV-01 get, DEV-02 getAll, DEV-03 update,
DEV-04 batch update (seed) and DEV-05 timestamped upload.
"""

from collections.abc import Sequence

import orjson
from starlette.requests import Request
from starlette.responses import Response

from pinbase.domain.datastreams import Datastream
from pinbase.domain.errors import ValueMismatch, ValueTooLong
from pinbase.domain.ids import DeviceId
from pinbase.domain.points import Point
from pinbase.domain.templates import Template
from pinbase.domain.value_types import Value
from pinbase.domain.values import MAX_STRING_BYTES, parse_json, parse_text
from pinbase.http.device_api import messages
from pinbase.http.device_api.auth import authenticate
from pinbase.http.device_api.query import parse_int, parse_query
from pinbase.http.device_api.rendering import value_text
from pinbase.http.device_api.resolve import datastream_at, datastream_by_id, parse_pin_name
from pinbase.http.responses import ApiError, json_response, text_response
from pinbase.services.container import Services
from pinbase.services.telemetry import ImportQuotaExceeded
from pinbase.settings import Settings

ORIGIN = "device_http"
"""The bus origin of values written here; a device's own connection is not echoed to."""

DATASTREAM_ID = "dataStreamId"


class ValueEndpoints:
    """Handlers of the value endpoints."""

    def __init__(self, services: Services, settings: Settings) -> None:
        self._services = services
        self._settings = settings

    async def get(self, request: Request) -> Response:
        """DEV-01: one pin or datastream as text, several pins as a JSON object."""
        query = parse_query(request)
        bound = await authenticate(self._services, query)
        template = bound.template
        telemetry = self._services.telemetry
        if DATASTREAM_ID in query.params:
            ds_id = parse_int(query.first(DATASTREAM_ID), messages.WRONG_PIN)
            datastream = datastream_by_id(template, ds_id)
            return _text_of(datastream, telemetry.effective(bound.device.id, datastream))
        names = query.params.get("pin") or list(query.params)
        if not names:
            raise ApiError(messages.WRONG_PIN)
        datastreams = [datastream_at(template, parse_pin_name(name)) for name in names]
        if len(datastreams) == 1:
            datastream = datastreams[0]
            return _text_of(datastream, telemetry.effective(bound.device.id, datastream))
        return json_response(telemetry.values_by_pin(bound.device.id, datastreams))

    async def get_all(self, request: Request) -> Response:
        """DEV-02: every datastream that has a value (or a default), keyed by lowercase pin."""
        bound = await authenticate(self._services, parse_query(request))
        telemetry = self._services.telemetry
        return json_response(telemetry.values_by_pin(bound.device.id, bound.template.datastreams))

    async def update(self, request: Request) -> Response:
        """DEV-03: by pin key, by ``pin`` + ``value``, or by ``dataStreamId`` + ``value``.

        Every call of a known token counts against the device's daily quota (§1.11), valid or
        not; past it, ``403`` as DEV-13's upload quota answers (docs/decisions.md).
        """
        query = parse_query(request)
        bound = await authenticate(self._services, query)
        retry_after = self._services.update_quota.hit(bound.device.id)
        if retry_after:
            headers = {"Retry-After": str(retry_after)}
            raise ApiError(messages.UPDATE_QUOTA, 403, headers=headers)
        template = bound.template
        if DATASTREAM_ID in query.params:
            ds_id = parse_int(query.first(DATASTREAM_ID), messages.WRONG_DATASTREAM_ID)
            datastream = datastream_by_id(template, ds_id)
            raw = query.params.get("value", [])
            writes = [(datastream, _parsed(datastream, raw, messages.MISMATCH))]
        elif "pin" in query.params:
            pin = parse_pin_name(query.params["pin"][0])
            datastream = datastream_at(template, pin)
            raw = query.params.get("value", [])
            writes = [(datastream, _parsed(datastream, raw, messages.MISMATCH_WITH_STOP))]
        else:
            writes = _pin_writes(template, query.params, messages.MISMATCH_WITH_STOP)
        await self._services.telemetry.record(bound.device, writes, origin=ORIGIN)
        return text_response()

    async def batch_update(self, request: Request) -> Response:
        """DEV-04 ★: every key but ``token`` is a pin; all values share one timestamp.

        Check order (http-api.md OP-05): token, then every pin name, then every datastream,
        then every value; nothing is stored unless everything is valid.
        """
        query = parse_query(request)
        bound = await authenticate(self._services, query)
        writes = _pin_writes(bound.template, query.params, messages.MISMATCH)
        await self._services.telemetry.record(bound.device, writes, origin=ORIGIN)
        return text_response("OK")

    async def upload_timestamped(self, request: Request) -> Response:
        """DEV-05: ``[[ts, value], …]`` for one pin, each point with its own timestamp."""
        query = parse_query(request)
        bound = await authenticate(self._services, query)
        pin_name = query.first("pin")
        if pin_name is None:
            raise ApiError(messages.WRONG_PIN)
        datastream = datastream_at(bound.template, parse_pin_name(pin_name))
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise ApiError(messages.UNKNOWN_CONTENT_TYPE)
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise ApiError(messages.INCORRECT_PARAMETERS) from None
        if not isinstance(body, list):
            raise ApiError(messages.INCORRECT_PARAMETERS)
        limit = self._settings.max_import_points
        if len(body) > limit:
            raise ApiError(messages.BATCH_TOO_LARGE.format(limit=limit))
        points = self._imported_points(bound.device.id, datastream, body)
        try:
            await self._services.telemetry.import_points(bound.device, points)
        except ImportQuotaExceeded as exceeded:
            raise ApiError(messages.IMPORT_QUOTA.format(limit=exceeded.limit)) from None
        return text_response("OK")

    def _imported_points(
        self, device_id: DeviceId, datastream: Datastream, body: list[object]
    ) -> list[Point]:
        now = self._services.clock()
        window = self._settings.import_window_ms
        points = []
        for entry in body:
            if not (isinstance(entry, list) and len(entry) == 2):
                raise ApiError(messages.INCORRECT_PARAMETERS)
            ts, raw = entry
            if isinstance(ts, bool) or not isinstance(ts, int) or abs(ts - now) > window:
                raise ApiError(messages.INCORRECT_PARAMETERS)
            value = _json_value(datastream, raw)
            points.append(Point(device_id, datastream.id, ts, value))
        return points


def _parsed(datastream: Datastream, raw: Sequence[str], mismatch: str) -> Value:
    try:
        return parse_text(datastream, raw)
    except ValueTooLong:
        raise ApiError(messages.VALUE_TOO_LONG.format(limit=MAX_STRING_BYTES)) from None
    except ValueMismatch:
        raise ApiError(mismatch) from None


def _json_value(datastream: Datastream, raw: object) -> Value:
    try:
        return parse_json(datastream, raw)
    except ValueTooLong:
        raise ApiError(messages.VALUE_TOO_LONG.format(limit=MAX_STRING_BYTES)) from None
    except ValueMismatch:
        raise ApiError(messages.MISMATCH) from None


def _pin_writes(
    template: Template, params: dict[str, list[str]], mismatch: str
) -> list[tuple[Datastream, Value]]:
    """Resolve pin-keyed parameters: all names first, then datastreams, then values (OP-05)."""
    if not params:
        raise ApiError(messages.WRONG_PIN)
    pins = [parse_pin_name(name) for name in params]
    datastreams = [datastream_at(template, pin) for pin in pins]
    return [
        (datastream, _parsed(datastream, raw, mismatch))
        for datastream, raw in zip(datastreams, params.values(), strict=True)
    ]


def _text_of(datastream: Datastream, value: Value | None) -> Response:
    """A single value as bare text; an empty body when there is none (http-api.md OP-17)."""
    return text_response("" if value is None else value_text(datastream, value))
