"""DEV-07: log an event of the device's template, ``?token=…&code=…&description=…``."""

from starlette.requests import Request
from starlette.responses import Response

from pinbase.http.device_api import messages
from pinbase.http.device_api.auth import authenticate
from pinbase.http.device_api.query import parse_query
from pinbase.http.responses import ApiError, text_response
from pinbase.services.container import Services
from pinbase.services.events import EventRejected


class EventEndpoints:
    """Handler of the event endpoint."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def log_event(self, request: Request) -> Response:
        """Check the code, then log the event on the device timeline."""
        query = parse_query(request)
        bound = await authenticate(self._services, query)
        code = query.first("code")
        if not code:
            raise ApiError(messages.NO_EVENT_CODE)
        event = bound.template.event(code)
        if event is None:
            raise ApiError(messages.UNKNOWN_EVENT_CODE)
        try:
            await self._services.events.log(bound.device, event, query.first("description"))
        except EventRejected as rejected:
            raise ApiError(str(rejected)) from None
        return text_response()
