"""The console's live channel, ``/dashboard/ws``: one WebSocket per open page (console.md §4).

Theory of operation. The handshake is refused (HTTP 403) unless the ``Origin`` header names the
host the request was sent to (a page of another site must not open a socket riding on the
console's session cookie: cross-site WebSocket hijacking) and ``session_of`` finds a signed-in
session. The socket then runs three tasks: one reads the client's JSON messages (subscribe,
write), one sends what the caller's ``services.live.Viewer`` hands over (the snapshot, then
updates at most every 50 ms), one reads the session again every ``SESSION_CHECK_S`` and closes
the socket (code 1008) once it has ended: signed out, expired, or its user deleted. Every write
reads the session first too, so a signed-out page cannot write even once. Any task
ending ends the others. A viewer that falls behind is closed by the hub and the socket with code
1013 (try again later); so is a socket whose frame the browser does not take within
``MAX_SEND_WAIT_S``. The page reconnects and gets a fresh snapshot.

What the socket shows and accepts is decided device by device by the session's
``ConsoleCaller`` (``can_view_device``, ``can_control_device``: a User role sees and controls
only its own devices), read from the latest check, so a changed role applies within
``SESSION_CHECK_S``. A write is a person's write, ``services.datastream_values.write`` (the use
case of the Platform API's PLT-DS-02): the value pipeline with origin ``console``, then the
actions log under the user's e-mail. It needs the session's CSRF secret in the message, as every
state-changing console request does; its echo reaches every viewer of the device, the writer's
own page included. The protocol is documented in docs/console.md.
"""

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeGuard
from urllib.parse import urlsplit

import orjson
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from pinbase.domain.devices import Device
from pinbase.domain.errors import ValueMismatch, ValueTooLong
from pinbase.domain.ids import DeviceId
from pinbase.domain.values import MAX_STRING_BYTES, to_json
from pinbase.http.paths import CONSOLE_SOCKET_PATH
from pinbase.services.console_sessions import ConsoleSession
from pinbase.services.container import Services
from pinbase.services.datastream_values import WriteNotAllowed
from pinbase.services.group_commit import StorageUnavailable
from pinbase.services.live import (
    MAX_VIEWED_DEVICES,
    LiveUpdate,
    Snapshot,
    TooManyDevices,
    ViewerDisconnected,
)
from pinbase.services.scope import DatastreamNotFound, DeviceNotFound
from pinbase.settings import Settings

logger = logging.getLogger(__name__)


ORIGIN = "console"
"""The bus origin of values written here (Blynk's actions-log client "Web")."""

MAX_MESSAGE_BYTES = 64 * 1024
"""A client message: a subscription of ``MAX_VIEWED_DEVICES`` ids is under 20 KB, a write of the
longest string value (1 KB, escaped at most six-fold) under 8 KB."""

MAX_SEND_WAIT_S = 10.0
"""A browser that takes no frame for this long is not following the page: its socket closes."""

SESSION_CHECK_S = 30.0
"""How often an open socket reads its session again: a signed-out or deleted user's page stops
receiving within this, at one session read per socket per 30 s (200 open pages: ~7 reads/s)."""

MAX_ID = 2**63 - 1
"""Ids are 64-bit in storage; a larger number names nothing."""

CLOSE_POLICY = 1008
"""RFC 6455 §7.4.1 "policy violation": a message that breaks the protocol, or a session that
ended."""
CLOSE_TRY_AGAIN = 1013
"""RFC 6455 registry "Try Again Later": the viewer fell behind; reconnect for a snapshot."""

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

SessionOf = Callable[[HTTPConnection], Awaitable[ConsoleSession | None]]
"""The signed-in session of a socket as it is now, None when there is none
(``session.current_session``)."""


class SessionEnded(Exception):
    """The socket's session is no longer valid: the socket closes."""


class ClientError(Exception):
    """A client message is refused; ``code`` and the message go back in an ``error`` frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def live_routes(services: Services, settings: Settings, session_of: SessionOf) -> list[BaseRoute]:
    """The live WebSocket route, ``/dashboard/ws``.

    Unlike the other console route factories this one takes the session, not only its caller:
    writes need the session's CSRF secret, and the socket outlives the request that opened it,
    so it asks ``session_of`` again to learn that the session ended.
    """
    del settings  # no setting applies yet; the signature is every console route module's

    async def live(websocket: WebSocket) -> None:
        if not is_same_origin(websocket.headers.get("origin"), websocket.headers.get("host")):
            await websocket.close(code=CLOSE_POLICY)  # before accept: the handshake gets 403
            return
        session = await session_of(websocket)
        if session is None:
            await websocket.close(code=CLOSE_POLICY)
            return
        await websocket.accept()
        channel = _Channel(websocket, services, session, session_of)
        try:
            await channel.run()
        finally:
            channel.viewer.close()

    return [WebSocketRoute(CONSOLE_SOCKET_PATH, live)]


def is_same_origin(origin: str | None, host: str | None) -> bool:
    """Whether the ``Origin`` of a handshake names the ``Host`` it was sent to (scheme's
    default port implied); a missing header is refused, as every browser sends both."""
    if not origin or not host:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return False
    try:
        origin_port = parts.port or DEFAULT_PORTS[parts.scheme]
        wanted = urlsplit(f"{parts.scheme}://{host}")
        host_port = wanted.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:  # a port that is no number, or out of range
        return False
    return (parts.hostname, origin_port) == (wanted.hostname, host_port)


class _Channel:
    """One socket's tasks and the lock that keeps their frames whole and in order."""

    def __init__(
        self,
        websocket: WebSocket,
        services: Services,
        session: ConsoleSession,
        session_of: SessionOf,
    ) -> None:
        self._websocket = websocket
        self._services = services
        self._session = session
        self._session_of = session_of
        self.viewer = services.live.open(self._may_view)
        self._sending = asyncio.Lock()

    def _may_view(self, device: Device) -> bool:
        return self._session.caller.can_view_device(device)

    async def run(self) -> None:
        """Receive and send until the client leaves, the viewer falls behind or the session
        ends."""
        tasks = (
            asyncio.create_task(self._receive(), name="live-receive"),
            asyncio.create_task(self._send_updates(), name="live-send"),
            asyncio.create_task(self._check_session(), name="live-session"),
        )
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        close = next(iter(done)).result()
        if close is not None:
            with contextlib.suppress(Exception):  # the socket may be gone already
                await self._websocket.close(code=close)

    async def _check_session(self) -> int:
        """Read the session again every ``SESSION_CHECK_S``; the close code once it ended."""
        try:
            while True:
                await asyncio.sleep(SESSION_CHECK_S)
                await self._refresh_session()
        except SessionEnded:
            return CLOSE_POLICY

    async def _refresh_session(self) -> ConsoleSession:
        """The session as it is now (role, CSRF secret), kept for the next messages.

        Raises:
            SessionEnded: it was signed out, expired, or its user deleted.
        """
        session = await self._session_of(self._websocket)
        if session is None:
            logger.info("live.session_ended")
            raise SessionEnded
        self._session = session
        return session

    async def _receive(self) -> int | None:
        """Handle client messages until it disconnects (None) or breaks the protocol."""
        try:
            while True:
                message = await self._websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return None
                text = message.get("text")
                if text is None or len(text) > MAX_MESSAGE_BYTES:
                    return CLOSE_POLICY  # binary frames and oversized messages are no protocol
                await self._handle(text)
        except (WebSocketDisconnect, ViewerDisconnected):
            return None
        except SessionEnded:
            return CLOSE_POLICY

    async def _handle(self, text: str) -> None:
        ref: object = None
        try:
            data = orjson.loads(text)
            if not isinstance(data, dict):
                raise ClientError("bad_request", "A message is a JSON object.")
            ref = data.get("ref")
            kind = data.get("type")
            if kind == "subscribe":
                await self._subscribe(data)
            elif kind == "write":
                await self._write(data)
            else:
                raise ClientError("bad_request", "Unknown message type.")
        except orjson.JSONDecodeError:
            await self._error("bad_request", "A message is a JSON object.", None)
        except ClientError as refused:
            await self._error(refused.code, str(refused), ref)

    async def _subscribe(self, data: dict[str, Any]) -> None:
        ids = data.get("deviceIds")
        if not isinstance(ids, list) or not all(_is_id(item) for item in ids):
            raise ClientError("bad_request", "deviceIds is a list of device ids.")
        try:
            await self.viewer.subscribe([DeviceId(item) for item in ids])
        except TooManyDevices:
            raise ClientError(
                "bad_request", f"At most {MAX_VIEWED_DEVICES} devices per subscription."
            ) from None

    async def _write(self, data: dict[str, Any]) -> None:
        # A write is a person acting now: it must not outlive a sign-out by SESSION_CHECK_S.
        session = await self._refresh_session()
        token = data.get("csrf")
        if not isinstance(token, str) or not hmac.compare_digest(
            token.encode(), session.csrf_token.encode()
        ):
            raise ClientError("csrf", "The CSRF token is missing or wrong; reload the page.")
        device_id, datastream_id = data.get("deviceId"), data.get("dataStreamId")
        if not _is_id(device_id) or not _is_id(datastream_id) or "value" not in data:
            raise ClientError("bad_request", "A write names deviceId, dataStreamId and value.")
        caller = session.caller
        try:
            await self._services.datastream_values.write(
                caller,
                device_id,
                {datastream_id: data["value"]},
                origin=ORIGIN,
                user_email=caller.email,
            )
        except DeviceNotFound:
            raise ClientError("not_found", f"Device {device_id} not found.") from None
        except WriteNotAllowed:
            raise ClientError("forbidden", "Your role may not control this device.") from None
        except DatastreamNotFound:
            raise ClientError("not_found", f"Datastream {datastream_id} not found.") from None
        except ValueTooLong:
            raise ClientError(
                "invalid_value", f"Value is longer than {MAX_STRING_BYTES} bytes."
            ) from None
        except ValueMismatch:
            raise ClientError("invalid_value", "Value does not fit the datastream.") from None
        except StorageUnavailable:
            raise ClientError("unavailable", "The value could not be stored; retry.") from None

    async def _send_updates(self) -> int | None:
        """Send the viewer's snapshot and updates until it falls behind or closes."""
        try:
            while True:
                update = await self.viewer.next_update()
                for frame in _frames(update):
                    await self._send(frame)
        except ViewerDisconnected:
            return CLOSE_TRY_AGAIN
        except TimeoutError:
            logger.info("live.socket_slow wait_s=%s", MAX_SEND_WAIT_S)
            return CLOSE_TRY_AGAIN
        except (WebSocketDisconnect, RuntimeError, OSError):
            return None  # the client is gone; Starlette raises RuntimeError on a closed socket

    async def _error(self, code: str, message: str, ref: object) -> None:
        frame: dict[str, object] = {"type": "error", "code": code, "message": message}
        if isinstance(ref, str | int) and not isinstance(ref, bool):
            frame["ref"] = ref
        await self._send(frame)

    async def _send(self, frame: dict[str, object]) -> None:
        text = orjson.dumps(frame).decode()
        async with self._sending:
            await asyncio.wait_for(self._websocket.send_text(text), MAX_SEND_WAIT_S)


def _is_id(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID


def _frames(update: Snapshot | LiveUpdate) -> list[dict[str, object]]:
    """The JSON frames of one snapshot or update, in the order a page applies them."""
    if isinstance(update, Snapshot):
        return [
            {
                "type": "snapshot",
                "devices": [
                    {
                        "deviceId": device.device_id,
                        "online": device.online,
                        "statusChangedAt": device.changed_at,
                        "values": [
                            {
                                "dataStreamId": value.datastream_id,
                                "value": to_json(value.value),
                                "updatedAt": value.ts,
                            }
                            for value in device.values
                        ],
                        "properties": [
                            {"dataStreamId": ds_id, "name": name, "value": value}
                            for ds_id, by_name in device.properties.items()
                            for name, value in by_name.items()
                        ],
                    }
                    for device in update.devices
                ],
                "missing": list(update.missing),
            }
        ]
    frames: list[dict[str, object]] = []
    if update.statuses:
        statuses = [
            {"deviceId": change.device_id, "online": change.online, "changedAt": change.ts}
            for change in update.statuses
        ]
        frames.append({"type": "status", "devices": statuses})
    if update.properties:
        properties = [
            {
                "deviceId": change.device_id,
                "dataStreamId": change.datastream_id,
                "name": change.name,
                "value": change.value,
                "updatedAt": change.ts,
            }
            for change in update.properties
        ]
        frames.append({"type": "property", "properties": properties})
    if update.values:
        values = [
            {
                "deviceId": value.device_id,
                "dataStreamId": value.datastream_id,
                "value": to_json(value.value),
                "updatedAt": value.ts,
                "origin": value.origin,
            }
            for value in update.values
        ]
        frames.append({"type": "values", "values": values})
    if update.timeline:
        entries = [
            {
                "id": entry.id,
                "deviceId": entry.device_id,
                "eventId": entry.event_id,
                "code": entry.code,
                "name": entry.name,
                "type": entry.event_type,
                "description": entry.description,
                "createdAt": entry.ts,
            }
            for entry in update.timeline
        ]
        frames.append({"type": "timeline", "entries": entries})
    return frames
