"""JSON request bodies of Platform API ``POST``s, with identifiers also taken from the query.

The body is parsed here, inside a dependency declared after the bearer check, so the check order
of PLT-DS-05 holds: token first, then the body. An identifier missing from the body is read from
the query string (OP-07); anything malformed (broken JSON, not an object, a missing field, a
wrong type) is ``400 Request with incorrect parameters``.
"""

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from pinbase.http.platform_api.errors import incorrect_parameters

Model = TypeVar("Model", bound=BaseModel)

_INTEGER = re.compile(r"-?[0-9]{1,19}")


def json_body(model: type[Model], *, ids: tuple[str, ...]) -> Callable[[Request], Awaitable[Model]]:
    """A dependency returning the request body validated as ``model``.

    Args:
        model: the pydantic model of the body (field aliases are the wire names).
        ids: identifier fields (``deviceId``, ``dataStreamId``…) that may come from the query
            string instead, when the body lacks them.
    """

    async def parse(request: Request) -> Model:
        raw = await request.body()
        data: Any = {}
        if raw.strip():
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise incorrect_parameters() from None
        if not isinstance(data, dict):
            raise incorrect_parameters()
        for name in ids:
            text = request.query_params.get(name)
            if data.get(name) is None and text is not None:
                data[name] = int(text) if _INTEGER.fullmatch(text) else text
        try:
            return model.model_validate(data)
        except ValidationError:
            raise incorrect_parameters() from None

    return parse


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` describing ``model`` as the JSON body (it is parsed by ``json_body``)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    # Nested models land in "$defs"; the app's OpenAPI builder lifts them into
                    # components, where this template points.
                    "schema": model.model_json_schema(
                        by_alias=True, ref_template="#/components/schemas/{model}"
                    )
                }
            },
        }
    }
