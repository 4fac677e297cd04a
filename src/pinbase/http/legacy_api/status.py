"""LEG-06 ``isHardwareConnected``, LEG-07 ``isAppConnected``, LEG-11 ``qr``, LEG-13 ``rtc``."""

from starlette.requests import Request
from starlette.responses import Response

from pinbase.http.legacy_api import messages
from pinbase.http.legacy_api.inputs import authenticate
from pinbase.http.legacy_api.replies import LegacyError, json_reply, text_reply
from pinbase.services.container import Services


class StatusEndpoints:
    """Handlers of the connection and app-widget endpoints."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def is_hardware_connected(self, request: Request) -> Response:
        """JSON ``true`` while the device holds a live connection, else ``false``."""
        bound = await authenticate(self._services, request)
        return json_reply(self._services.presence.is_online(bound.device.id))

    async def is_app_connected(self, request: Request) -> Response:
        """JSON ``false``: Pinbase has no mobile-app sessions for a dashboard to be open in."""
        await authenticate(self._services, request)
        return json_reply(False)

    async def clone_qr(self, request: Request) -> Response:
        """``404`` with an empty body, as for an unknown action (LEG-11 "may answer 404").

        The QR code cloned a project into the Blynk 1.0 mobile app, which cannot talk to Pinbase.
        """
        await authenticate(self._services, request)
        return text_reply(status=404)

    async def rtc(self, request: Request) -> Response:
        """``Requested rtc not exists in app.``: templates have no RTC widget to read."""
        await authenticate(self._services, request)
        raise LegacyError(messages.NO_RTC)
