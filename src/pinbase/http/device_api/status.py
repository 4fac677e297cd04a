"""DEV-11 ``isHardwareConnected`` and DEV-12 ``provision``."""

from starlette.requests import Request
from starlette.responses import Response

from pinbase.domain.devices import HardwareInfo
from pinbase.http.device_api import messages
from pinbase.http.device_api.auth import authenticate
from pinbase.http.device_api.query import parse_query
from pinbase.http.responses import ApiError, text_response
from pinbase.services.container import Services

MAX_INFO_CHARS = 64
"""Longest firmware fact kept (``ver``, ``build``…); real values are a few characters."""


class StatusEndpoints:
    """Handlers of the connection status and provisioning endpoints."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def is_hardware_connected(self, request: Request) -> Response:
        """``true`` while the device holds a live connection, else ``false``."""
        bound = await authenticate(self._services, parse_query(request))
        online = self._services.presence.is_online(bound.device.id)
        return text_response("true" if online else "false")

    async def provision(self, request: Request) -> Response:
        """Record what the firmware reports; its template code must be the device's own."""
        query = parse_query(request)
        bound = await authenticate(self._services, query)
        code = query.first("templateId")
        if not code:
            raise ApiError(messages.INCORRECT_PARAMETERS)
        if code != bound.template.code:
            raise ApiError(messages.TEMPLATE_MISMATCH)
        facts = {name: query.first(name) for name in ("ver", "fwType", "blVer", "boType", "build")}
        if any(value is not None and len(value) > MAX_INFO_CHARS for value in facts.values()):
            raise ApiError(messages.INCORRECT_PARAMETERS)
        info = HardwareInfo(
            version=facts["ver"],
            fw_type=facts["fwType"] or query.first("type"),
            blynk_version=facts["blVer"],
            board_type=facts["boType"],
            build=facts["build"],
            template_code=code,
        )
        await self._services.metadata.record_hardware(bound, info)
        self._services.metadata.announce_firmware(bound, info)
        return text_response()
