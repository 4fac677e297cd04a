"""DEV-06: set widget properties of one datastream, ``?token=…&pin=v1&label=Hi``."""

from starlette.requests import Request
from starlette.responses import Response

from pinbase.domain.errors import ValueMismatch
from pinbase.http.device_api import messages
from pinbase.http.device_api.auth import authenticate
from pinbase.http.device_api.query import parse_query
from pinbase.http.device_api.resolve import datastream_at, parse_pin_name
from pinbase.http.responses import ApiError, text_response
from pinbase.services.container import Services
from pinbase.services.properties import PROPERTY_NAME, check_property


class PropertyEndpoints:
    """Handler of the property endpoint."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def update_property(self, request: Request) -> Response:
        """Every parameter other than ``token`` and ``pin`` is a property; repeat for lists."""
        query = parse_query(request)
        bound = await authenticate(self._services, query)
        pin_name = query.first("pin")
        if pin_name is None:
            raise ApiError(messages.WRONG_PIN)
        datastream = datastream_at(bound.template, parse_pin_name(pin_name))
        changes = query.without("pin")
        if not changes or not all(PROPERTY_NAME.fullmatch(name) for name in changes):
            raise ApiError(messages.INCORRECT_PARAMETERS)
        try:
            checked = {name: check_property(name, items) for name, items in changes.items()}
        except ValueMismatch:
            raise ApiError(messages.MISMATCH) from None
        await self._services.properties.set(bound.device, datastream, checked)
        return text_response()
