"""DEV-09 read and DEV-10 update of a device's metadata, ``?token=…&metaFieldId=…``.

The field is named by ``metaFieldId`` (a numeric id or an exact name, http-api.md OP-16) or by
``metaFieldName``. DEV-09's messages end with a full stop, DEV-10's do not (OP-01).
"""

from starlette.requests import Request
from starlette.responses import Response

from pinbase.http.device_api import messages
from pinbase.http.device_api.auth import authenticate
from pinbase.http.device_api.query import DeviceQuery, parse_query
from pinbase.http.responses import ApiError, json_response, text_response
from pinbase.services.container import Services
from pinbase.services.metadata import (
    MAX_VALUE_CHARS,
    InvalidMetaValue,
    MetafieldNotFound,
    MetafieldReadOnly,
)


class MetadataEndpoints:
    """Handlers of the two metadata endpoints."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def get_meta(self, request: Request) -> Response:
        """DEV-09: ``{"type":…,"value":…}`` of one field."""
        query = parse_query(request)
        bound = await authenticate(self._services, query)
        key = _field_key(query, messages.WRONG_METAFIELD_WITH_STOP)
        try:
            reading = self._services.metadata.read(bound, key)
        except MetafieldNotFound:
            raise ApiError(messages.NO_METAFIELD_WITH_STOP) from None
        return json_response({"type": reading.type, "value": reading.value})

    async def update_meta(self, request: Request) -> Response:
        """DEV-10: store ``value`` in one field; an empty ``200`` (OP-29)."""
        query = parse_query(request)
        bound = await authenticate(self._services, query)
        key = _field_key(query, messages.WRONG_METAFIELD)
        value = query.first("value")
        if value is None or len(value) > MAX_VALUE_CHARS:
            raise ApiError(messages.WRONG_VALUE)
        try:
            await self._services.metadata.write(bound, key, value)
        except MetafieldNotFound:
            raise ApiError(messages.NO_METAFIELD) from None
        except MetafieldReadOnly:
            raise ApiError(messages.METAFIELD_READ_ONLY) from None
        except InvalidMetaValue:
            raise ApiError(messages.WRONG_VALUE) from None
        return text_response()


def _field_key(query: DeviceQuery, wrong_format: str) -> str:
    """``metaFieldId`` when given, else ``metaFieldName``; absent or empty is a format error."""
    key = query.first("metaFieldId") or query.first("metaFieldName")
    if not key or len(key) > MAX_VALUE_CHARS:
        raise ApiError(wrong_format)
    return key
