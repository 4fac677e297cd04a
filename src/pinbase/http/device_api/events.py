"""DEV-07: log an event of the device's template, ``?token=…&code=…&description=…``.

An occurrence a limit drops (one per code per second, the daily quota) is answered like an
accepted one, ``200`` with an empty body (automations.md §1.9): the request was right, and the
timeline and the notification log (``RATE_1S``, ``DAILY_QUOTA``) say what became of it.
"""

from starlette.requests import Request
from starlette.responses import Response

from pinbase.http.device_api import messages
from pinbase.http.device_api.auth import authenticate
from pinbase.http.device_api.query import parse_query
from pinbase.http.responses import ApiError, text_response
from pinbase.services.container import Services
from pinbase.services.events import EventDropped, EventRejected


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
        except EventDropped:
            pass
        except EventRejected as rejected:
            raise ApiError(str(rejected)) from None
        return text_response()
