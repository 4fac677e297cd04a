"""Reading and writing pins: LEG-01 get, LEG-02 update (GET), LEG-03/LEG-04 update (PUT) and
LEG-05 timestamped update.

Writes go through ``Telemetry`` like every other entry point: typed by the datastream, clamped,
stored in history and announced on the bus with origin ``legacy_http``.
"""

from collections.abc import Iterable, Sequence

from starlette.requests import Request
from starlette.responses import Response

from pinbase.domain.datastreams import Datastream
from pinbase.domain.errors import ValueMismatch, ValueTooLong
from pinbase.domain.points import Point
from pinbase.domain.value_types import Value
from pinbase.domain.values import MAX_STRING_BYTES, parse_text
from pinbase.http.legacy_api import messages
from pinbase.http.legacy_api.inputs import (
    authenticate,
    datastream_on,
    json_body,
    parse_error,
    pin_of,
    query_of,
)
from pinbase.http.legacy_api.properties import set_properties
from pinbase.http.legacy_api.rendering import wire_items
from pinbase.http.legacy_api.replies import LegacyError, json_reply, text_reply
from pinbase.services.clock import DAY_MS
from pinbase.services.container import Services
from pinbase.services.directory import BoundDevice
from pinbase.services.telemetry import ImportQuotaExceeded
from pinbase.settings import Settings

ORIGIN = "legacy_http"
"""The bus origin of values written through the legacy API."""


class ValueEndpoints:
    """Handlers of the pin value endpoints."""

    def __init__(self, services: Services, settings: Settings) -> None:
        self._services = services
        self._settings = settings

    async def read(self, request: Request) -> Response:
        """LEG-01: the pin's items as a JSON array of strings; ``[]`` when it holds nothing.

        A datastream without a stored value answers its default value, as the device API does.
        """
        bound = await authenticate(self._services, request)
        datastream = datastream_on(bound.template, pin_of(request))
        value = self._services.telemetry.effective(bound.device.id, datastream)
        return json_reply([] if value is None else wire_items(datastream, value))

    async def update_via_get(self, request: Request) -> Response:
        """LEG-02: ``?value=…`` (repeated for several items) writes; without it, properties."""
        bound = await authenticate(self._services, request)
        pin = pin_of(request)
        query = query_of(request)
        if "value" not in query:
            await set_properties(self._services, bound, pin=pin, query=query)
            return text_reply()
        datastream = datastream_on(bound.template, pin)
        items = [item or "" for item in query["value"]]
        await self._record(bound, datastream, _parsed(datastream, items))
        return text_reply()

    async def update_via_put(self, request: Request) -> Response:
        """LEG-03, LEG-04: a JSON array body, ``["1"]`` or ``["lon","lat"]``.

        Check order of the legacy server: body (content type, JSON, shape, not empty), token,
        pin. Numbers and booleans in the array are taken as their text, as its JSON reader did.
        """
        body = await json_body(request)
        if not isinstance(body, list) or not all(_is_scalar(item) for item in body):
            raise parse_error(await request.body())
        if not body:
            raise LegacyError(messages.NO_PIN_FOR_UPDATE)
        bound = await authenticate(self._services, request)
        datastream = datastream_on(bound.template, pin_of(request))
        items = [_text_of(item) for item in body]
        await self._record(bound, datastream, _parsed(datastream, items))
        return text_reply()

    async def update_timestamped(self, request: Request) -> Response:
        """LEG-05: ``[{"timestamp": ms, "value": "…"}, …]``, each point with its own timestamp.

        Every element goes to history at its timestamp; the pin's current value becomes the
        FIRST element's value (the legacy server's rule, even when later elements are newer).
        ``import_points`` only raises the current value to the newest point, so when that is not
        the first element, the first value is recorded once more at the server's time. Current
        value and newest history point stay one and the same point, which a restart relies on
        (current values only ever move forward in time); that one extra point is the cost.
        """
        body = await json_body(request)
        entries = _timestamped_entries(body)
        if entries is None:
            raise parse_error(await request.body())
        if not entries:
            raise LegacyError(messages.NO_PIN_FOR_UPDATE)
        limit = self._settings.max_import_points
        if len(entries) > limit:
            raise LegacyError(messages.TOO_MANY_POINTS.format(limit=limit))
        bound = await authenticate(self._services, request)
        datastream = datastream_on(bound.template, pin_of(request))
        self._check_window(ts for ts, _ in entries)
        device_id = bound.device.id
        points = [
            Point(device_id, datastream.id, ts, _parsed(datastream, [text])) for ts, text in entries
        ]
        telemetry = self._services.telemetry
        try:
            await telemetry.import_points(bound.device, points)
        except ImportQuotaExceeded as exceeded:
            raise LegacyError(messages.IMPORT_QUOTA.format(limit=exceeded.limit)) from None
        if telemetry.current(device_id, datastream) != points[0]:
            await self._record(bound, datastream, points[0].value)
        return text_reply()

    async def _record(self, bound: BoundDevice, datastream: Datastream, value: Value) -> None:
        await self._services.telemetry.record(bound.device, [(datastream, value)], origin=ORIGIN)

    def _check_window(self, stamps: Iterable[int]) -> None:
        """Timestamps within now ± the import window, as for the device API's imports (OP-25)."""
        now = self._services.clock()
        window = self._settings.import_window_ms
        for ts in stamps:
            if abs(ts - now) > window:
                days = window // DAY_MS
                raise LegacyError(messages.TIMESTAMP_OUT_OF_WINDOW.format(ts=ts, days=days))


def _parsed(datastream: Datastream, items: Sequence[str]) -> Value:
    try:
        return parse_text(datastream, items)
    except ValueTooLong:
        raise LegacyError(messages.VALUE_TOO_LONG.format(limit=MAX_STRING_BYTES)) from None
    except ValueMismatch:
        raise LegacyError(messages.MISMATCH) from None


def _is_scalar(item: object) -> bool:
    return isinstance(item, str | int | float)


def _text_of(item: object) -> str:
    """A JSON scalar as the text the legacy server's reader made of it."""
    if isinstance(item, bool):
        return "true" if item else "false"
    return str(item)


def _timestamped_entries(body: object) -> list[tuple[int, str]] | None:
    """``(timestamp, value text)`` of each element, or None when the body has another shape."""
    if not isinstance(body, list):
        return None
    entries = []
    for element in body:
        if not isinstance(element, dict):
            return None
        ts, value = element.get("timestamp"), element.get("value")
        if isinstance(ts, bool) or not isinstance(ts, int) or not _is_scalar(value):
            return None
        entries.append((ts, _text_of(value)))
    return entries
