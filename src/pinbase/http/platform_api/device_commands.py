"""Device commands, a Pinbase extension of the Platform API (docs/platform-api.md): reboot,
ping, redirect and reconfigure a connected device (device-lifecycle.md §4, issue #12).

Adapters over ``services.device_commands``, which the console's toolbox uses too. Every
operation is marked ``x-pinbase-extension: true`` in ``/openapi.json`` and takes the device as
``deviceId`` in the query, like every device endpoint. A device outside the caller's scope is
``404 Device {id} not found.``; an offline one ``409 Device is offline.``; a command the device's
client cannot take (a Python library and ping or redirect, an MQTT device not subscribed to
``downlink/ping``) ``400`` with the reason.
"""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.responses import Response

from pinbase.http.platform_api.auth import BearerAuth
from pinbase.http.platform_api.body import documented_body, json_body
from pinbase.http.platform_api.errors import DEVICE_OFFLINE_STATUS
from pinbase.http.platform_api.params import ERRORS, DeviceIdQuery
from pinbase.http.platform_api.schemas import ErrorBody
from pinbase.http.responses import json_response
from pinbase.services.container import Services
from pinbase.services.device_commands import (
    MAX_HOST_CHARS,
    MAX_URI_CHARS,
)
from pinbase.services.oauth import Caller

TAG = "Device commands"
TAG_DESCRIPTION = (
    "Pinbase extension: reboot, ping, redirect (move to another server) and reconfigure a "
    "connected device, over the binary protocol and MQTT (device-lifecycle.md §4). Each "
    "command is an entry of the device's actions log (PLT-DEV-20); see docs/platform-api.md."
)
EXTENSION = {"x-pinbase-extension": True}
NO_CONTENT = 204


class RedirectBody(BaseModel):
    """``{"host":"pinbase2.example.com","port":8442}``, ``uri`` for MQTT devices optional."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    host: StrictStr = Field(
        min_length=1, max_length=MAX_HOST_CHARS, description="the other server's host name"
    )
    port: StrictInt = Field(
        ge=1, le=65535, description="its device port (binary devices always get it explicitly)"
    )
    uri: StrictStr | None = Field(
        None,
        max_length=MAX_URI_CHARS,
        description="what MQTT devices get on `downlink/redirect`: `mqtt://`, `mqtts://`, "
        "`ws://` or `wss://` (default `mqtt://host:port`)",
    )


class PingAnswer(BaseModel):
    """The ping's round trip."""

    answered: bool = Field(description="false when no answer came within 10 s")
    ms: float | None = Field(description="milliseconds from sending to the device's answer")


def device_command_router(services: Services, auth: BearerAuth) -> APIRouter:
    """The device-command endpoints."""
    router = APIRouter(
        prefix="/api/v1/organization/device",
        tags=[TAG],
        responses={
            **ERRORS,
            DEVICE_OFFLINE_STATUS: {
                "model": ErrorBody,
                "description": "Device is offline (not connected)",
            },
        },
    )
    commands = services.device_commands
    Authorized = Annotated[Caller, Depends(auth)]
    redirecting = json_body(RedirectBody, ids=())

    @router.post(
        "/reboot",
        summary="Reboot a device",
        status_code=NO_CONTENT,
        openapi_extra=EXTENSION,
        description="MQTT `downlink/reboot`; binary INTERNAL `dbg reboot`. No answer is "
        "expected: the device reconnects once restarted.",
    )
    async def reboot(caller: Authorized, device_id: DeviceIdQuery) -> Response:
        await commands.reboot(caller, device_id)
        return Response(status_code=NO_CONTENT)

    @router.post(
        "/ping",
        summary="Ping a device",
        response_model=PingAnswer,
        openapi_extra=EXTENSION,
        description="MQTT `downlink/ping` at QoS 1, timed to its PUBACK; binary PING, timed to "
        "its RESPONSE. Refused (400) for devices running a Python library, which must never "
        "be pinged. Answers within 10 s.",
    )
    async def ping(caller: Authorized, device_id: DeviceIdQuery) -> Response:
        ms = await commands.ping(caller, device_id)
        return json_response({"answered": ms is not None, "ms": ms})

    @router.post(
        "/redirect",
        summary="Move a device to another server",
        status_code=NO_CONTENT,
        openapi_extra={**documented_body(RedirectBody), **EXTENSION},
        description="Binary REDIRECT `host port` (the C++ library reconnects there at once; "
        "refused for Python libraries, which cannot follow it); MQTT `downlink/redirect` with "
        "`uri`. The device must know the token on the other server.",
    )
    async def redirect(
        caller: Authorized,
        device_id: DeviceIdQuery,
        body: Annotated[RedirectBody, Depends(redirecting)],
    ) -> Response:
        await commands.redirect(caller, device_id, body.host, body.port, uri=body.uri)
        return Response(status_code=NO_CONTENT)

    @router.post(
        "/reconfigure",
        summary="Reconfigure a device (experimental)",
        status_code=NO_CONTENT,
        openapi_extra=EXTENSION,
        description="MQTT `downlink/reconfigure`; binary INTERNAL `dbg config start`: a "
        "Blynk.Edgent device reopens its Wi-Fi access point. Experimental: Blynk documents "
        "no binary form.",
    )
    async def reconfigure(caller: Authorized, device_id: DeviceIdQuery) -> Response:
        await commands.reconfigure(caller, device_id)
        return Response(status_code=NO_CONTENT)

    return router
