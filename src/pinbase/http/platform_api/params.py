"""Query parameters shared by Platform API endpoints (identifiers are query parameters on
``GET``, http-api.md §1.7) and the error answers every operation documents."""

import re
from typing import Annotated, Any

from annotated_types import Ge, Le
from fastapi import Query
from pydantic import BeforeValidator

from pinbase.domain.values import INT32_MAX, INT32_MIN
from pinbase.http.platform_api.schemas import ErrorBody

_DECIMAL = re.compile(r"-?[0-9]{1,19}")


def _plain_decimal(value: object) -> object:
    """Refuse what pydantic would round or reinterpret (``1.0``, ``1_000``, `` 1``)."""
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        raise ValueError("not a plain decimal integer")
    return value


PlainDecimal = BeforeValidator(_plain_decimal)
"""Integers in the query string are plain decimal digits with an optional minus sign."""

# Bounds go on the integer itself, inside the validator: FastAPI's ``Query(ge=…, le=…)`` after a
# ``BeforeValidator`` still checks them, but writes non-standard ``ge``/``le`` keys into the
# OpenAPI document where JSON Schema has ``minimum``/``maximum`` (issue #8).
Int32 = Annotated[int, Ge(INT32_MIN), Le(INT32_MAX)]
"""A signed 32-bit integer: every Platform API identifier (data-model.md §1.9)."""

DeviceIdQuery = Annotated[
    Int32,
    PlainDecimal,
    Query(alias="deviceId", description="the device's id"),
]
DatastreamIdQuery = Annotated[
    Int32,
    PlainDecimal,
    Query(alias="dataStreamId", description="the datastream's id"),
]
TemplateIdQuery = Annotated[
    Int32,
    PlainDecimal,
    Query(alias="templateId", description="the template's integer id (not its TMPL… code)"),
]
OrgIdQuery = Annotated[
    Int32 | None,
    PlainDecimal,
    Query(alias="orgId", description="an organization's id"),
]
RequiredOrgIdQuery = Annotated[
    Int32,
    PlainDecimal,
    Query(alias="orgId", description="an organization's id"),
]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Request with incorrect parameters"},
    401: {"model": ErrorBody, "description": "Missing, unknown or expired bearer token"},
    404: {"model": ErrorBody, "description": "Not found or outside the caller's organizations"},
    429: {"model": ErrorBody, "description": "Too Many Requests (see Retry-After)"},
}
"""Documented on every Platform API operation."""
