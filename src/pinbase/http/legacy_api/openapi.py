"""The legacy Blynk 1.0 token-in-path API (http-api.md §5) as OpenAPI paths, written by hand.

Like the device API's description (``device_api.openapi``) it only describes the handlers and is
checked against the routes and the live server by ``tests/e2e/test_openapi_conformance.py``.
Errors are plain text; every answer of a handler carries ``Access-Control-Allow-Origin: *``.
"""

from typing import Any

from pinbase.http.device_api.openapi import PIN
from pinbase.http.legacy_api.exports import FILE_NAME
from pinbase.http.legacy_api.inputs import MAX_QUERY_FIELDS
from pinbase.http.openapi import (
    BINARY,
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

TAG = "Legacy API"
TEXT = "text/plain"
JSON = "application/json"
CORS = {"Access-Control-Allow-Origin": {"type": "string", "enum": ["*"]}}

TOKEN = path("token", {"type": "string", "minLength": 1}, "device auth token")
PIN_IN_PATH = path("pin", PIN, "pin name (`v1`, `D13`, `a0`)")

ERROR = answer(
    "Client error: the plain-text message of http-api.md §5", {TEXT: STRING}, headers=CORS
)
STORAGE_ERROR = answer(
    "The database refused the write; nothing was stored, try again", {TEXT: STRING}, headers=CORS
)
TOO_MANY_REQUESTS = answer(
    "`Too Many Requests`: past the device's requests per second (http-api.md §1.11)",
    {TEXT: STRING},
    headers={**CORS, "Retry-After": RETRY_AFTER},
)
TOO_LARGE = answer("The body is over the request size limit", {TEXT: STRING})
WRITTEN = answer("Done; empty body", {TEXT: EMPTY}, headers=CORS)
BODY_ERRORS = {400: ERROR, 413: TOO_LARGE, 503: STORAGE_ERROR}
"""Answers of every write with a JSON body. The legacy server answered content-type and parse
errors with 500; Pinbase with 400 and the same message (docs/decisions.md)."""


def _get(
    summary: str,
    description: str,
    responses: dict[int, dict[str, Any]],
    *,
    parameters: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "get": operation(
            summary,
            tag=TAG,
            description=description,
            parameters=parameters,
            responses={400: ERROR, **responses},
        )
    }


def _put(summary: str, description: str, schema: JsonSchema) -> dict[str, Any]:
    return operation(
        summary,
        tag=TAG,
        description=description,
        parameters=[TOKEN, PIN_IN_PATH],
        body=json_body(schema, "`Content-Type: application/json` required"),
        responses={200: WRITTEN, **BODY_ERRORS},
    )


def _post(summary: str, description: str, fields: dict[str, JsonSchema]) -> dict[str, Any]:
    body = {"type": ["object", "null"], "properties": fields}
    return {
        "post": operation(
            summary,
            tag=TAG,
            description=description,
            parameters=[TOKEN],
            body=json_body(body, "`Content-Type: application/json` required"),
            responses={200: WRITTEN, **BODY_ERRORS},
        )
    }


def _values() -> Paths:
    scalar = {"type": ["string", "number", "boolean"]}
    # An empty array answers `No pin for update provided.` (LEG-03): at least one item.
    items = {"type": "array", "items": scalar, "minItems": 1}
    timestamped = {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "required": ["timestamp", "value"],
            "properties": {"timestamp": INTEGER, "value": scalar},
        },
    }
    properties = {
        "type": "object",
        "propertyNames": {"type": "string", "pattern": "^[A-Za-z]+$", "not": {"enum": ["value"]}},
        "additionalProperties": STRING,
        "maxProperties": 8,
    }
    return {
        "/{token}/get/{pin}": _get(
            "LEG-01 Read pin",
            "The pin's value as a JSON array of strings; `[]` when it has none.",
            {200: answer("The items", {JSON: {"type": "array", "items": STRING}}, headers=CORS)},
            parameters=[TOKEN, PIN_IN_PATH],
        ),
        "/{token}/update/{pin}": {
            **_get(
                "LEG-02 Write pin or set widget properties (GET)",
                "`?value=…` (repeated for several items) writes the pin; without `value`, every "
                "known widget property named in the query (`label`, `color`, …) is set.",
                {200: WRITTEN, 503: STORAGE_ERROR},
                parameters=[
                    TOKEN,
                    PIN_IN_PATH,
                    query(
                        "value",
                        {"type": "array", "items": STRING, "maxItems": MAX_QUERY_FIELDS},
                        "the new value; repeated for several items",
                    ),
                    query("properties", properties, "widget properties, without `value`"),
                ],
            ),
            "put": _put("LEG-03 Write pin (PUT)", 'Body `["1"]` or `["lon","lat"]`.', items),
        },
        "/{token}/pin/{pin}": {
            "put": _put("LEG-04 Write pin (PUT, old alias)", "Identical to LEG-03.", items)
        },
        "/{token}/extra/pin/{pin}": {
            "put": _put(
                "LEG-05 Write timestamped values",
                "Each element goes to history at its timestamp (ms, within ±31 days of now); the "
                "pin's value becomes the first element's.",
                timestamped,
            )
        },
    }


def _status() -> Paths:
    flag = {JSON: {"type": "boolean"}}
    project = {
        "type": "object",
        "required": ["id", "name", "widgets", "isActive"],
        "properties": {"widgets": {"type": "array", "items": {"type": "object"}}},
    }
    return {
        "/{token}/isHardwareConnected": _get(
            "LEG-06 Hardware online?",
            "JSON `true` while the device holds a live connection.",
            {200: answer("Connection state", flag, headers=CORS)},
            parameters=[TOKEN],
        ),
        "/{token}/isAppConnected": _get(
            "LEG-07 App online?",
            "Always JSON `false`: Pinbase has no mobile-app sessions.",
            {200: answer("App state", flag, headers=CORS)},
            parameters=[TOKEN],
        ),
        "/{token}/qr": _get(
            "LEG-11 Clone QR code",
            "Not served: `404` with an empty body once the token is valid.",
            {404: answer("Not served", {TEXT: EMPTY}, headers=CORS)},
            parameters=[TOKEN],
        ),
        "/{token}/project": _get(
            "LEG-12 Project JSON",
            "The device's template as a Blynk 1.0 project, one widget per datastream.",
            {200: answer("The project", {JSON: project}, headers=CORS)},
            parameters=[TOKEN],
        ),
        "/{token}/rtc": _get(
            "LEG-13 RTC widget value",
            "Always `Requested rtc not exists in app.`: templates have no RTC widget.",
            {},
            parameters=[TOKEN],
        ),
    }


def _messages_and_exports() -> Paths:
    text = {"type": ["string", "number", "boolean", "null"]}
    location = {"Location": {"type": "string", "pattern": f"^/{FILE_NAME.pattern}$"}}
    return {
        "/{token}/notify": _post(
            "LEG-08 Push notification",
            '`{"body": "text"}`, 1..255 characters; logged by the server.',
            {"body": text},
        ),
        "/{token}/email": _post(
            "LEG-09 Send e-mail",
            '`{"to": …, "subj": …, "title": …}`; logged by the server.',
            {"to": text, "subj": text, "title": text},
        ),
        "/{token}/data/{pin}": _get(
            "LEG-10 Pin history download",
            "Writes the pin's last 30 days as a gzipped CSV and redirects to it.",
            {301: answer("Where the file is", headers={**CORS, **location})},
            parameters=[TOKEN, PIN_IN_PATH],
        ),
        "/{name}": {
            "get": operation(
                "LEG-10-file Download a pin history export",
                tag=TAG,
                description="The file a LEG-10 redirect names, for an hour; no token needed. "
                "Only names of exactly this pattern are served here.",
                parameters=[
                    path("name", {"type": "string", "pattern": f"^{FILE_NAME.pattern}$"}, "file")
                ],
                responses={
                    200: answer("The file", {"application/gzip": BINARY}, headers=CORS),
                    404: answer(
                        "Expired (empty text) or, for a name of another shape, the JSON 404 of "
                        "unknown paths",
                        {TEXT: EMPTY, JSON: ERROR_BODY},
                    ),
                },
            )
        },
    }


def legacy_paths() -> Paths:
    """Every route of ``legacy_routes`` as an OpenAPI path item."""
    paths = {**_values(), **_status(), **_messages_and_exports()}
    return answering_too(paths, TOKEN, 429, TOO_MANY_REQUESTS)
