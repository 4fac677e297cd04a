"""The Device HTTPS API (http-api.md §2) as OpenAPI paths, written by hand.

The handlers are plain Starlette on the hot path, so nothing here runs per request: this module
only describes them, and ``tests/e2e/test_openapi_conformance.py`` keeps the description honest
(every route described, every answer of the live server matching it).

Pins written as bare query keys (``&v1``, ``&v1=5``) are described as one free-form object
parameter, ``pins``, serialized ``form``/``explode``: exactly ``&v1=5&v2=7`` on the wire.
"""

from pinbase.http.device_api.query import MAX_QUERY_FIELDS
from pinbase.http.device_api.status import MAX_INFO_CHARS
from pinbase.http.device_api.uploads import UPLOAD_FIELD
from pinbase.http.openapi import (
    ANY_VALUE,
    BINARY,
    BOOLEAN,
    EMPTY,
    ERROR_BODY,
    INTEGER,
    RETRY_AFTER,
    STRING,
    JsonSchema,
    Paths,
    answer,
    answering_too,
    json_body,
    operation,
    path,
    query,
)
from pinbase.services.metadata import MAX_VALUE_CHARS
from pinbase.services.properties import PROPERTY_NAME
from pinbase.services.reports import Granularity, Period, Source, TimeFormat

TAG = "Device HTTPS API"

PIN: JsonSchema = {
    "type": "string",
    "pattern": "^[vVdDaA](25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$",
    "description": "pin name: v, d or a (either case) and 0..255 (http-api.md §1.8)",
}
DATASTREAM_ID: JsonSchema = {"type": "integer", "minimum": 0, "maximum": 999_999_999}
TEXT = "text/plain"
JSON = "application/json"

ERROR = answer(
    'Client error: `{"error":{"message":…}}` with the exact message of http-api.md §1.12',
    {JSON: ERROR_BODY},
)
STORAGE_ERROR = answer(
    "The database refused the write; nothing was stored, try again", {JSON: ERROR_BODY}
)
EMPTY_OK = answer("Done; empty body", {TEXT: EMPTY})
BATCH_OK = answer("Done; body `OK` (http-api.md OP-04)", {TEXT: {"type": "string", "enum": ["OK"]}})
NOT_FOUND = answer("No such file", {JSON: ERROR_BODY})

TOKEN = query("token", {"type": "string", "minLength": 1}, "device auth token", required=True)
TOO_MANY_REQUESTS = answer(
    "`Too Many Requests`: past the device's requests per second (http-api.md §1.11)",
    {JSON: ERROR_BODY},
    headers={"Retry-After": RETRY_AFTER},
)
UPDATE_QUOTA = answer(
    "`Update requests limit has been reached.`: past the device's daily quota (§1.11)",
    {JSON: ERROR_BODY},
    headers={"Retry-After": RETRY_AFTER},
)


def _pins(description: str) -> dict[str, object]:
    """The bare pin keys of DEV-01, DEV-03 and DEV-04 as one exploded object parameter."""
    return query(
        "pins",
        {
            "type": "object",
            "propertyNames": PIN,
            "additionalProperties": STRING,
            "maxProperties": MAX_QUERY_FIELDS,
        },
        description,
    )


def _reads() -> Paths:
    value = {"description": "a datastream value: number, string, boolean or [lon, lat]"}
    by_pin = {"type": "object", "additionalProperties": value}
    return {
        "/external/api/get": {
            "get": operation(
                "DEV-01 Get datastream value(s)",
                tag=TAG,
                description="One pin (`&v1` or `pin=v1`) or one `dataStreamId`: the value as "
                "text, empty when it has none. Several pins (`&v1&v2`): a JSON object keyed by "
                "lowercase pin.",
                parameters=[
                    TOKEN,
                    _pins("pins to read as bare keys (`&v1&v2`); values are ignored"),
                    query("pin", PIN, "one pin to read (2021 form, OP-23)"),
                    query("dataStreamId", DATASTREAM_ID, "one datastream to read, by id"),
                ],
                responses={
                    200: answer("The value(s)", {TEXT: STRING, JSON: by_pin}),
                    400: ERROR,
                },
            )
        },
        "/external/api/getAll": {
            "get": operation(
                "DEV-02 Get all datastream values",
                tag=TAG,
                description="Every datastream that has a value (or a default), keyed by "
                "lowercase pin.",
                parameters=[TOKEN],
                responses={200: answer("The values", {JSON: by_pin}), 400: ERROR},
            )
        },
        "/external/api/isHardwareConnected": {
            "get": operation(
                "DEV-11 Is device connected",
                tag=TAG,
                description="`true` while the device holds a live connection, else `false`.",
                parameters=[TOKEN],
                responses={
                    200: answer("Connection state", {TEXT: {"enum": ["true", "false"]}}),
                    400: ERROR,
                },
            )
        },
    }


def _writes() -> Paths:
    values = {"type": "array", "items": STRING, "maxItems": 16}
    point = {"type": "array", "minItems": 2, "maxItems": 2, "items": ANY_VALUE}
    return {
        "/external/api/update": {
            "get": operation(
                "DEV-03 Update datastream value",
                tag=TAG,
                description="By pin key (`&v1=100`), by `pin` + `value` or by `dataStreamId` + "
                "`value`; repeat `value` for a multi-value datastream (Location: lon, lat). "
                "Parsed by the datastream's type, clamped to its min/max.",
                parameters=[
                    TOKEN,
                    _pins("pin keys with their new values (`&v1=100`)"),
                    query("pin", PIN, "the pin to write, with `value`"),
                    query("dataStreamId", DATASTREAM_ID, "the datastream to write, with `value`"),
                    query("value", values, "the new value; repeated for multi-value"),
                ],
                responses={200: EMPTY_OK, 400: ERROR, 403: UPDATE_QUOTA, 503: STORAGE_ERROR},
            )
        },
        "/external/api/batch/update": {
            "get": operation(
                "DEV-04 Batch update (shared timestamp)",
                tag=TAG,
                description="Every key but `token` is a pin; all values get one timestamp. "
                "Nothing is stored unless every pin and value is valid (OP-05).",
                parameters=[TOKEN, _pins("pin keys with their new values (`&v1=33&v2=44`)")],
                responses={200: BATCH_OK, 400: ERROR, 503: STORAGE_ERROR},
            ),
            "post": operation(
                "DEV-05 Upload a set of timestamped data points",
                tag=TAG,
                description="`[[ts_ms, value], …]` for one pin, each point with its own "
                "timestamp (within ±31 days of now); `Content-Type: application/json` required.",
                parameters=[TOKEN, query("pin", PIN, "the pin of every point", required=True)],
                body=json_body({"type": "array", "items": point}, "points `[timestamp_ms, value]`"),
                responses={200: BATCH_OK, 400: ERROR, 503: STORAGE_ERROR},
            ),
        },
        "/external/api/update/property": {
            "get": operation(
                "DEV-06 Update widget / datastream property",
                tag=TAG,
                description="Every parameter but `token` and `pin` names a property "
                "(`label`, `color`, `isDisabled`, …); repeat it for a list (`labels`).",
                parameters=[
                    TOKEN,
                    query("pin", PIN, "the datastream's pin", required=True),
                    query(
                        "properties",
                        {
                            "type": "object",
                            "propertyNames": {
                                "type": "string",
                                "pattern": f"^{PROPERTY_NAME.pattern}$",
                                "not": {"enum": ["token", "pin"]},
                            },
                            "additionalProperties": STRING,
                        },
                        "property names with their new values (`&isDisabled=true`)",
                    ),
                ],
                responses={200: EMPTY_OK, 400: ERROR, 503: STORAGE_ERROR},
            )
        },
        "/external/api/logEvent": {
            "get": operation(
                "DEV-07 Send / log an event",
                tag=TAG,
                description="Log an event of the device's template on its timeline.",
                parameters=[
                    TOKEN,
                    query(
                        "code",
                        {"type": "string", "minLength": 1},
                        "event code of the template",
                        required=True,
                    ),
                    query("description", STRING, "free text for the timeline"),
                ],
                responses={200: EMPTY_OK, 400: ERROR, 503: STORAGE_ERROR},
            )
        },
    }


def _device() -> Paths:
    info = {"type": "string", "maxLength": MAX_INFO_CHARS}
    field = {"type": "string", "maxLength": MAX_VALUE_CHARS}
    by_field = [  # DEV-09 and DEV-10 name the field either way
        query("metaFieldId", field, "numeric id or exact name of the field"),
        query("metaFieldName", field, "exact name of the field"),
    ]
    reading = {
        "type": "object",
        "required": ["type", "value"],
        "properties": {
            "type": STRING,
            "value": {"type": ["string", "number", "null"]},
        },
    }
    return {
        "/external/api/device/meta": {
            "get": operation(
                "DEV-09 Get device metadata value",
                tag=TAG,
                description="One metadata field by id or exact name (OP-16); `loc.latlon` "
                "answers the device location.",
                parameters=[TOKEN, *by_field],
                responses={200: answer("The field", {JSON: reading}), 400: ERROR},
            )
        },
        "/external/api/device/meta/update": {
            "get": operation(
                "DEV-10 Update device metadata value",
                tag=TAG,
                description="Store `value` in one writable field.",
                parameters=[
                    TOKEN,
                    *by_field,
                    query("value", field, "the new value", required=True),
                ],
                responses={200: EMPTY_OK, 400: ERROR, 503: STORAGE_ERROR},
            )
        },
        "/external/api/provision": {
            "get": operation(
                "DEV-12 Provision device",
                tag=TAG,
                description="Record what the firmware reports; `templateId` must be the code "
                "of the device's template.",
                parameters=[
                    TOKEN,
                    query("templateId", STRING, "template code, e.g. TMPL8sRFwcfqL", required=True),
                    *(
                        query(name, info, meaning)
                        for name, meaning in (
                            ("build", "firmware build date"),
                            ("ver", "firmware version"),
                            ("type", "MCU or NCP"),
                            ("fwType", "firmware type"),
                            ("blVer", "Blynk library version"),
                            ("boType", "board type"),
                        )
                    ),
                ],
                responses={200: EMPTY_OK, 400: ERROR, 503: STORAGE_ERROR},
            )
        },
    }


def _files() -> Paths:
    report = {
        "type": "object",
        "required": ["meta", "data", "rows", "rows_before_limit_at_least"],
        "properties": {
            "meta": {"type": "array", "items": {"type": "object"}},
            "data": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["data_stream_name", "ts", "value"],
                    "properties": {
                        "data_stream_name": STRING,
                        "ts": {"type": ["integer", "string"]},
                        "value": ANY_VALUE,
                    },
                },
            },
            "rows": INTEGER,
            "rows_before_limit_at_least": INTEGER,
        },
    }
    link = {"type": "object", "required": ["link"], "properties": {"link": STRING}}
    device_id = path("device_id", {"type": "string", "pattern": "^[0-9]{1,9}$"}, "device id")
    return {
        "/external/api/data/get": {
            "get": operation(
                "DEV-08 Get historical data (export)",
                tag=TAG,
                description="The device's history as a link to a zip file (`output=FILE`) or "
                "as rows (`output=JSON`). An unknown `period` answers Blynk's Java message "
                "`No enum constant …Period.{VALUE}` and an empty report `No data`, both with "
                "status 400 rather than Blynk's 500 (docs/decisions.md, OP-27).",
                parameters=[
                    TOKEN,
                    query("period", {"enum": [p.name for p in Period]}, "window, default MONTH"),
                    query(
                        "granularityType",
                        {"enum": [g.name for g in Granularity]},
                        "bucket size, default RAW_DATA",
                    ),
                    query("sourceType", {"enum": [s.name for s in Source]}, "default AVG"),
                    query("tzName", STRING, "IANA zone name, default UTC"),
                    query("format", {"enum": [f.name for f in TimeFormat]}, "default TS"),
                    query("sendEvents", BOOLEAN, "include device events, default false"),
                    query("output", {"enum": ["FILE", "JSON"]}, "default FILE"),
                    query("pin", PIN, "restrict to one datastream"),
                    query("dataStreamId", DATASTREAM_ID, "restrict to one datastream"),
                ],
                responses={
                    200: answer("A link or rows", {JSON: {"oneOf": [link, report]}}),
                    400: ERROR,
                },
            )
        },
        "/device_data_{device_id}_{stamp}.zip": {
            "get": operation(
                "DEV-08-file Download an exported report",
                tag=TAG,
                description="The zip file a DEV-08 link names; no token needed. Answers 404 once "
                "the file expired (45 days by default, `PINBASE_REPORT_TTL_DAYS`).",
                parameters=[
                    device_id,
                    path(
                        "stamp",
                        {"type": "string", "pattern": "^[0-9T-]{1,19}$"},
                        "creation time, yyyy-MM-dd'T'HH-mm-ss",
                    ),
                ],
                responses={200: answer("The file", {"application/zip": BINARY}), 404: NOT_FOUND},
            )
        },
        "/external/api/upload": {
            "post": operation(
                "DEV-13 Upload a file",
                tag=TAG,
                description="Store the multipart part `upfile`; answer its public URL. At most "
                "10 files kept per device, 5 MB each.",
                parameters=[TOKEN],
                body={
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": [UPLOAD_FIELD],
                                "properties": {UPLOAD_FIELD: BINARY},
                            }
                        }
                    },
                },
                responses={
                    200: answer("The file's public URL", {TEXT: STRING}),
                    400: ERROR,
                    403: answer("`File uploads limit has been reached.`", {JSON: ERROR_BODY}),
                    503: STORAGE_ERROR,
                },
            )
        },
        "/device_uploads/{device_id}/{name}": {
            "get": operation(
                "DEV-13-file Download an uploaded file",
                tag=TAG,
                description="A kept upload, with the media type of its extension; sandboxed.",
                parameters=[device_id, path("name", STRING, "the stored file name")],
                responses={200: answer("The file", {"*/*": BINARY}), 404: NOT_FOUND},
            )
        },
        "/static/ota/{name}": {
            "get": operation(
                "Blynk.Air firmware download",
                tag=TAG,
                description="The firmware file a shipment sent to one device (device-lifecycle.md "
                "§1.7): `name` is `<firmwareId>.<ext>`, `token` the download token of that device "
                "in that shipment (not its auth token). Exact `Content-Length`, `x-md5`, "
                "`x-sha256`, `x-fw-type`, `x-fw-ver`, `x-fw-build`; 404 for anything else. One "
                "`Range: bytes=…` is answered 206 with `Content-Range` (416 past the end).",
                parameters=[
                    path(
                        "name",
                        {"type": "string", "pattern": "^[0-9]{1,9}\\.[A-Za-z0-9.]{1,10}$"},
                        "the firmware's id and extension",
                    ),
                    query(
                        "token",
                        {"type": "string", "pattern": "^[A-Za-z0-9_-]{32}$"},
                        "the download token of the OTA command",
                        required=True,
                    ),
                ],
                responses={
                    200: answer("The firmware file", {"application/octet-stream": BINARY}),
                    206: answer("The part a Range asked for", {"application/octet-stream": BINARY}),
                    404: NOT_FOUND,
                    416: answer("The range starts past the end of the file", {JSON: ERROR_BODY}),
                },
            )
        },
    }


def device_paths() -> Paths:
    """Every route of ``device_routes`` as an OpenAPI path item."""
    paths = {**_reads(), **_writes(), **_device(), **_files()}
    return answering_too(paths, TOKEN, 429, TOO_MANY_REQUESTS)
