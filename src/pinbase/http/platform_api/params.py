"""Query parameters shared by Platform API endpoints (identifiers are query parameters on
``GET``, http-api.md §1.7) and the error answers every operation documents."""

import re
from typing import Annotated, Any

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

DeviceIdQuery = Annotated[
    int,
    PlainDecimal,
    Query(alias="deviceId", ge=INT32_MIN, le=INT32_MAX, description="the device's id"),
]
DatastreamIdQuery = Annotated[
    int,
    PlainDecimal,
    Query(alias="dataStreamId", ge=INT32_MIN, le=INT32_MAX, description="the datastream's id"),
]
TemplateIdQuery = Annotated[
    int,
    PlainDecimal,
    Query(
        alias="templateId",
        ge=INT32_MIN,
        le=INT32_MAX,
        description="the template's integer id (not its TMPL… code)",
    ),
]
OrgIdQuery = Annotated[
    int | None,
    PlainDecimal,
    Query(alias="orgId", ge=INT32_MIN, le=INT32_MAX, description="an organization's id"),
]
RequiredOrgIdQuery = Annotated[
    int,
    PlainDecimal,
    Query(alias="orgId", ge=INT32_MIN, le=INT32_MAX, description="an organization's id"),
]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Request with incorrect parameters"},
    401: {"model": ErrorBody, "description": "Missing, unknown or expired bearer token"},
    404: {"model": ErrorBody, "description": "Not found or outside the caller's organizations"},
    429: {"model": ErrorBody, "description": "Too Many Requests (see Retry-After)"},
}
"""Documented on every Platform API operation."""
