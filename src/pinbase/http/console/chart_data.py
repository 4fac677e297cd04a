"""The Chart widget's JSON endpoint: series of stored history for one device (console.md §3.2).

``GET /dashboard/api/devices/{deviceId}/chart?range=1d&dataStreamIds=1,2`` answers
``{"range", "from", "to", "bucketMs", "series": [{"dataStreamId", "points": [[ts, avg, min,
max], …]}, …]}`` (docs/console.md, "Charts"). Errors use Blynk's ``{"error":{"message":…}}``
shape: 401 without a signed-in caller, 404 for a device that is missing or outside the caller's
scope (the same answer, so ids of other organizations' devices are not revealed), 400 for a bad
range or datastream list.
"""

from collections.abc import Awaitable, Callable
from typing import Protocol

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pinbase.domain.devices import Device
from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.http.paths import CONSOLE_API_PREFIX
from pinbase.http.responses import error_response, json_response
from pinbase.services.charts import MAX_SERIES, Chart, ChartRange
from pinbase.services.container import Services
from pinbase.settings import Settings

MAX_ID_DIGITS = 9
"""Ids are 32-bit columns: nine digits always fit, so no lookup overflows a database integer."""

RANGES = ", ".join(r.value for r in ChartRange)


class ScopedCaller(Protocol):
    """What this endpoint needs of the signed-in console caller: which devices it may see."""

    def can_view_device(self, device: Device) -> bool:
        """Whether the device is the caller's to see (a User role: only its own)."""
        ...


CallerOf = Callable[[HTTPConnection], Awaitable[ScopedCaller | None]]
"""The console's ``console_caller``: the signed-in caller of a request, or None."""


def chart_routes(services: Services, settings: Settings, caller_of: CallerOf) -> list[BaseRoute]:
    """The chart endpoint, ``/dashboard/api/devices/{deviceId}/chart``.

    ``settings`` is unused today; it is taken so every console route factory has one signature.
    """
    del settings

    async def chart(request: Request) -> Response:
        caller = await caller_of(request)
        if caller is None:
            return error_response("Sign in to see charts", 401)
        device_text = request.path_params["deviceId"]
        device_id = _parse_id(device_text)
        bound = await services.directory.find_by_id(DeviceId(device_id)) if device_id else None
        if bound is None or not caller.can_view_device(bound.device):
            return error_response(f"Device {device_text} not found", 404)
        try:
            chart_range = ChartRange(request.query_params.get("range", ""))
        except ValueError:
            return error_response(f"range must be one of {RANGES}")
        ids = [_parse_id(text) for text in request.query_params.get("dataStreamIds", "").split(",")]
        if not all(ids):
            return error_response(
                f"dataStreamIds must be 1 to {MAX_SERIES} datastream ids separated by commas"
            )
        try:
            found = await services.charts.chart(
                bound, [DatastreamId(i) for i in ids], chart_range=chart_range
            )
        except PinbaseError as error:
            return error_response(str(error))
        response = json_response(_chart_json(found))
        response.headers["Cache-Control"] = "no-store"
        return response

    return [Route(f"{CONSOLE_API_PREFIX}devices/{{deviceId}}/chart", chart, methods=["GET"])]


def _parse_id(text: str) -> int:
    """A positive id written in at most ``MAX_ID_DIGITS`` ASCII digits, else 0."""
    if text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS:
        return int(text)
    return 0


def _chart_json(chart: Chart) -> dict[str, object]:
    return {
        "range": chart.range.value,
        "from": chart.since,
        "to": chart.until,
        "bucketMs": chart.bucket_ms,
        "series": [
            {"dataStreamId": series.datastream_id, "points": series.points}
            for series in chart.series
        ],
    }
