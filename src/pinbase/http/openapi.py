"""Builders for hand-written OpenAPI descriptions of the plain Starlette routes.

The device and legacy APIs are plain Starlette handlers on the hot path, so FastAPI cannot derive
their part of ``/openapi.json`` (docs/openapi.md). Each family describes its routes with these
builders instead; ``platform_api.app`` merges the descriptions into FastAPI's document, and
``tests/e2e/test_openapi_conformance.py`` checks them against the routes and the live server.
"""

from typing import Any

JsonSchema = dict[str, Any]
Operation = dict[str, Any]
Paths = dict[str, dict[str, Operation]]

STRING: JsonSchema = {"type": "string"}
INTEGER: JsonSchema = {"type": "integer"}
BOOLEAN: JsonSchema = {"type": "boolean"}
ANY_VALUE: JsonSchema = {}
"""A JSON value of any type (a datastream value, a legacy scalar)."""

ERROR_BODY: JsonSchema = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message"],
            "properties": {"message": {"type": "string"}},
        }
    },
}
"""``{"error":{"message":…}}``, the error shape of the device API (http-api.md §1.4)."""

EMPTY: JsonSchema = {"type": "string", "maxLength": 0}
"""The empty body of most writes."""

BINARY: JsonSchema = {"type": "string", "format": "binary"}


def query(
    name: str, schema: JsonSchema, description: str, *, required: bool = False
) -> dict[str, Any]:
    """A query parameter, with its serialization spelled out where it is not one plain key.

    An array schema is sent as the key repeated (``&value=1&value=2``); an object schema stands
    for bare keys of their own (``&v1=5&v2=7``), each property a key of the query.
    """
    parameter: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }
    if schema.get("type") in ("array", "object"):
        parameter.update(style="form", explode=True)
    return parameter


def path(name: str, schema: JsonSchema, description: str) -> dict[str, Any]:
    """A path parameter."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


def answer(
    description: str,
    media: dict[str, JsonSchema] | None = None,
    *,
    headers: dict[str, JsonSchema] | None = None,
) -> dict[str, Any]:
    """A response with a body schema per media type and required headers."""
    response: dict[str, Any] = {"description": description}
    if media:
        response["content"] = {kind: {"schema": schema} for kind, schema in media.items()}
    if headers:
        response["headers"] = {
            name: {"required": True, "schema": schema} for name, schema in headers.items()
        }
    return response


RETRY_AFTER: JsonSchema = {"type": "string", "pattern": "^[0-9]+$"}
"""``Retry-After`` in whole seconds."""


def answering_too(
    paths: Paths, token: dict[str, Any], status: int, response: dict[str, Any]
) -> Paths:
    """``paths`` with ``response`` added to every operation taking the ``token`` parameter: an
    answer every device-authenticated request may get, such as the per-device 429."""
    for item in paths.values():
        for described in item.values():
            if token in described["parameters"]:
                described["responses"][str(status)] = response
                described["responses"] = dict(sorted(described["responses"].items()))
    return paths


def json_body(schema: JsonSchema, description: str) -> dict[str, Any]:
    """A required ``application/json`` request body."""
    return {
        "required": True,
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


def operation(
    summary: str,
    *,
    tag: str,
    description: str,
    responses: dict[int, dict[str, Any]],
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
) -> Operation:
    """One operation, open to everyone as far as the bearer scheme goes (``security: []``)."""
    described: Operation = {
        "tags": [tag],
        "summary": summary,
        "description": description,
        "operationId": summary.split(" ", 1)[0],
        "security": [],
        "parameters": parameters or [],
        "responses": {str(status): response for status, response in sorted(responses.items())},
    }
    if body is not None:
        described["requestBody"] = body
    return described
