"""DEV-08: export a device's history, ``GET /external/api/data/get?token=…``, and the route that
serves the zipped exports, ``/device_data_{deviceId}_{yyyy-MM-dd'T'HH-mm-ss}.zip``.

Status codes: Blynk answers an unknown ``period`` and an empty report with ``500``; Pinbase keeps
those messages but answers ``400``, because no input may produce a server error
(docs/decisions.md).
"""

from datetime import UTC
from enum import Enum
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response

from pinbase.domain.datastreams import Datastream
from pinbase.domain.errors import InvalidPin, UnknownDatastream
from pinbase.domain.pins import parse_pin
from pinbase.domain.templates import Template
from pinbase.http.device_api import messages
from pinbase.http.device_api.auth import authenticate
from pinbase.http.device_api.query import DeviceQuery, parse_int, parse_query
from pinbase.http.device_api.uploads import OpenFileResponse, public_base
from pinbase.http.responses import ApiError, json_response
from pinbase.services.container import Services
from pinbase.services.reports import (
    Granularity,
    InvalidRequest,
    Period,
    Report,
    ReportQuotaReached,
    ReportRequest,
    ReportTooLarge,
    Source,
    TimeFormat,
    format_ts,
    parse_zone,
)
from pinbase.settings import Settings

Choice = TypeVar("Choice", bound=Enum)

JSON_META = [
    {"name": "data_stream_name", "type": "String"},
    {"name": "ts", "type": "UInt32"},
    {"name": "value", "type": "Float64"},
]
"""Column descriptions exactly as Blynk documents them (blynk.cloud/get-device-report.md)."""

_BOOLEAN = {"true": True, "1": True, "false": False, "0": False}


class ReportEndpoints:
    """Handlers of the export endpoint and of the route serving its files."""

    def __init__(self, services: Services, settings: Settings) -> None:
        self._services = services
        self._settings = settings

    async def get_data(self, request: Request) -> Response:
        """Check every parameter, charge the daily quota, then answer rows or a link."""
        query = parse_query(request)
        bound = await authenticate(self._services, query)
        report_request, as_file = _report_request(query, bound.template)
        reports = self._services.reports
        try:
            reports.charge(bound.device.id)
            report = await reports.build(bound.device.id, bound.template, report_request)
        except ReportQuotaReached:
            raise ApiError(messages.REPORT_QUOTA.format(limit=reports.per_day)) from None
        except ReportTooLarge:
            raise ApiError(messages.REPORT_TOO_LARGE) from None
        if not report.rows:
            raise ApiError(messages.NO_DATA)
        if not as_file:
            return json_response(_json_body(report, report_request))
        name = await reports.write_zip(bound.device.id, report, report_request)
        return json_response({"link": f"{public_base(request, self._settings)}/{name}"})

    async def download(self, request: Request) -> Response:
        """A report zip by its exact name; 404 for any other name."""
        name = "device_data_{device_id}_{stamp}.zip".format(**request.path_params)
        handle = await self._services.reports.open(name)
        if handle is None:
            raise ApiError(messages.NOT_FOUND, 404)
        return OpenFileResponse(
            handle,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


def _report_request(query: DeviceQuery, template: Template) -> tuple[ReportRequest, bool]:
    """The parsed parameters and whether the answer is a file; defaults as in DEV-08."""
    period_name = query.first("period")
    try:
        period = Period.MONTH if period_name is None else Period[period_name]
    except KeyError:
        # Blynk's Java server lets Enum.valueOf fail and answers its text (http-api.md OP-27).
        raise ApiError(messages.NO_ENUM_CONSTANT.format(value=period_name)) from None
    granularity = _choice(query, "granularityType", Granularity, Granularity.RAW_DATA)
    source = _choice(query, "sourceType", Source, Source.AVG)
    time_format = _choice(query, "format", TimeFormat, TimeFormat.TS)
    output = query.first("output")
    send_events = _BOOLEAN.get((query.first("sendEvents") or "false").lower())
    if output not in (None, "FILE", "JSON") or send_events is None:
        raise ApiError(messages.INCORRECT_PARAMETERS)
    try:
        tz_name = query.first("tzName")
        zone = UTC if tz_name is None else parse_zone(tz_name)
        report_request = ReportRequest(
            period=period,
            granularity=granularity,
            source=source,
            zone=zone,
            time_format=time_format,
            send_events=send_events,
            datastreams=_selected(query, template),
        )
    except (ValueError, InvalidRequest):
        raise ApiError(messages.INCORRECT_PARAMETERS) from None
    return report_request, output != "JSON"


def _choice(query: DeviceQuery, name: str, kind: type[Choice], default: Choice) -> Choice:
    """An enum parameter by its exact (case-sensitive) constant name."""
    text = query.first(name)
    if text is None:
        return default
    try:
        return kind[text]
    except KeyError:
        raise ApiError(messages.INCORRECT_PARAMETERS) from None


def _selected(query: DeviceQuery, template: Template) -> tuple[Datastream, ...]:
    """The one datastream named by ``dataStreamId`` or ``pin``; none named means all of them.

    DEV-08 documents one message for every bad selection, ``Wrong pin format.``
    """
    try:
        if "dataStreamId" in query.params:
            ds_id = parse_int(query.first("dataStreamId"), messages.WRONG_PIN)
            return (template.datastream(ds_id),)
        if "pin" in query.params:
            return (template.datastream_at(parse_pin(query.first("pin") or "")),)
    except (InvalidPin, UnknownDatastream):
        raise ApiError(messages.WRONG_PIN) from None
    return ()


def _json_body(report: Report, report_request: ReportRequest) -> dict[str, object]:
    """The documented JSON shape; ``ts`` is a number for ``TS`` and a string otherwise."""
    data = [
        {
            "data_stream_name": row.name,
            "ts": format_ts(row.ts, report_request.time_format, report_request.zone),
            "value": row.value,
        }
        for row in report.rows
    ]
    return {
        "meta": JSON_META,
        "data": data,
        "rows": len(data),
        "rows_before_limit_at_least": report.rows_before_limit,
    }
