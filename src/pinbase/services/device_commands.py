"""Commands a person sends to a connected device: reboot, ping, redirect, reconfigure
(device-lifecycle.md §4; issue #12 point 5).

Theory of operation. A use case checks the caller's scope and that the device is online
somewhere in the installation (``Presence``), then publishes a ``DeviceCommanded``: the node
holding the device's connection (this one or another, ``DeviceSessions``) puts it on the wire in
the device's protocol. A ping carries a random ``request_id``; the session times the device's
answer (binary RESPONSE to PING, MQTT PUBACK of ``downlink/ping``) and publishes a
``DevicePingAnswered`` to every node, which resolves the waiting call here. Each command is an
actions-log entry (``ActionsLog.command_sent``), written once the command is sent (a ping's
once answered, with the round trip). The console, the Platform API extension and the CLI are
thin adapters over this class.
"""

import asyncio
import logging
import secrets
from typing import Any

from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import DeviceId
from pinbase.services.actions import ActionsLog
from pinbase.services.bus import (
    CONNECTION_CLOSED,
    NOT_CONNECTED,
    Bus,
    DeviceCommanded,
    DevicePingAnswered,
)
from pinbase.services.directory import BoundDevice, Directory
from pinbase.services.presence import Presence
from pinbase.services.scope import Scoped, device_in_scope

logger = logging.getLogger(__name__)

PING_TIMEOUT_S = 10.0
"""How long a ping waits for the device's answer (device-lifecycle.md §4 Recommendation)."""

PYTHON_BOARD = "python"
"""The ``dev`` the Python libraries announce: never pinged or redirected (§1.11.5)."""

MAX_HOST_CHARS = 253
"""The longest DNS name."""
REDIRECT_SCHEMES = ("mqtt://", "mqtts://", "ws://", "wss://")
"""The URI schemes of ``downlink/redirect`` (device-protocols.md §2.5)."""
MAX_URI_CHARS = 512
"""A redirect URI is a host, a port and maybe a short path; a device's ``rxbuff`` (1024 by
default) must hold it with the topic."""

COMMAND_LABELS = {
    "reboot": "Reboot",
    "ping": "Ping",
    "redirect": "Redirect",
    "reconfigure": "Reconfigure",
    "ota": "Firmware update",
    "diag": "Diagnostic",
}
"""How the actions log names each command."""


class DeviceCommandError(PinbaseError):
    """A command cannot be sent; ``str()`` is the message the adapters show."""


class DeviceOffline(DeviceCommandError):
    """The device has no live connection: commands reach connected devices only."""


class CommandNotSupported(DeviceCommandError):
    """The device's client library cannot take the command (the Python libraries and PING or
    REDIRECT), or its connection refused it (an MQTT device not subscribed to
    ``downlink/ping``)."""


class BadRedirect(DeviceCommandError):
    """The redirect's host, port or URI is not usable."""


class DeviceCommands:
    """Sends commands to devices' live connections and logs them."""

    def __init__(
        self,
        *,
        directory: Directory,
        presence: Presence,
        bus: Bus,
        actions: ActionsLog,
        ping_timeout_s: float = PING_TIMEOUT_S,
    ) -> None:
        self._directory = directory
        self._presence = presence
        self._bus = bus
        self._actions = actions
        self._ping_timeout_s = ping_timeout_s
        self._waiting: dict[tuple[DeviceId, int], asyncio.Future[DevicePingAnswered]] = {}
        self._unsubscribe = bus.subscribe(DevicePingAnswered, self._on_answer, remote=True)

    def close(self) -> None:
        """Stop listening for ping answers (at shutdown)."""
        self._unsubscribe()

    async def reboot(
        self, caller: Scoped, device_id: int, *, user_email: str | None = None
    ) -> None:
        """Ask the device to restart: MQTT ``downlink/reboot``, binary INTERNAL ``dbg reboot``;
        no answer is expected. ``user_email`` is the console user's (None: an API client).

        Raises:
            DeviceNotFound, DeviceOffline.
        """
        bound = await self._online(caller, device_id)
        await self._send(bound, "reboot", (), details=None, user_email=user_email)

    async def reconfigure(
        self, caller: Scoped, device_id: int, *, user_email: str | None = None
    ) -> None:
        """Ask the device to reopen its Wi-Fi setup (experimental, §4): MQTT
        ``downlink/reconfigure``, binary INTERNAL ``dbg config start``.

        Raises:
            DeviceNotFound, DeviceOffline.
        """
        bound = await self._online(caller, device_id)
        await self._send(bound, "reconfigure", (), details=None, user_email=user_email)

    async def redirect(
        self,
        caller: Scoped,
        device_id: int,
        host: str,
        port: int,
        *,
        uri: str | None = None,
        user_email: str | None = None,
    ) -> None:
        """Move the device to another server: binary REDIRECT ``host port`` (always with the
        port), MQTT ``downlink/redirect`` with ``uri`` (default ``mqtt://host:port``).

        Raises:
            BadRedirect, DeviceNotFound, DeviceOffline, CommandNotSupported (a Python client
                over the binary protocol: it cannot follow a REDIRECT, §1.8.3).
        """
        target = redirect_uri(host, port, uri=uri)
        bound = await self._online(caller, device_id)
        self._refuse_python(bound, "redirected")
        details = {"host": host, "port": port, "uri": target}
        await self._send(
            bound, "redirect", (host, str(port), target), details=details, user_email=user_email
        )

    async def ping(
        self, caller: Scoped, device_id: int, *, user_email: str | None = None
    ) -> float | None:
        """The round trip to the device in milliseconds (binary PING to its RESPONSE, MQTT
        ``downlink/ping`` at QoS 1 to its PUBACK), or None when no answer came within the
        timeout or the connection ended meanwhile.

        Raises:
            DeviceNotFound, DeviceOffline, CommandNotSupported (a Python client, §1.11.5, or a
                connection that cannot be pinged: the reason is the message).
        """
        bound = await self._online(caller, device_id)
        self._refuse_python(bound, "pinged")
        device_id_ = bound.device.id
        request_id = secrets.randbits(53) or 1
        key = (device_id_, request_id)
        answer: asyncio.Future[DevicePingAnswered] = asyncio.get_running_loop().create_future()
        self._waiting[key] = answer
        try:
            self._bus.publish(DeviceCommanded(device_id_, "ping", (), request_id))
            try:
                got = await asyncio.wait_for(answer, self._ping_timeout_s)
            except TimeoutError:
                got = None
        finally:
            self._waiting.pop(key, None)
        if got is not None and got.reason == NOT_CONNECTED:
            raise DeviceOffline("The device is offline: commands reach connected devices only")
        if got is not None and got.ms is None and got.reason != CONNECTION_CLOSED:
            raise CommandNotSupported(f"The device cannot be pinged: {got.reason}")
        ms = None if got is None else got.ms
        await self._actions.command_sent(
            bound.device, "ping", details={"ms": ms}, user_email=user_email, online=True
        )
        logger.info("device.pinged device_id=%d ms=%s", device_id_, ms)
        return ms

    async def _online(self, caller: Scoped, device_id: int) -> BoundDevice:
        bound = await device_in_scope(self._directory, caller, device_id)
        if not self._presence.is_online(bound.device.id):
            raise DeviceOffline("The device is offline: commands reach connected devices only")
        return bound

    def _refuse_python(self, bound: BoundDevice, what: str) -> None:
        if bound.device.hardware_info.board_type == PYTHON_BOARD:
            raise CommandNotSupported(
                f"The device runs a Python Blynk library, which cannot be {what}"
            )

    async def _send(
        self,
        bound: BoundDevice,
        kind: str,
        args: tuple[str, ...],
        *,
        details: Any,
        user_email: str | None,
    ) -> None:
        self._bus.publish(DeviceCommanded(bound.device.id, kind, args))
        await self._actions.command_sent(
            bound.device, kind, details=details, user_email=user_email, online=True
        )
        logger.info("device.commanded device_id=%d kind=%s", bound.device.id, kind)

    def _on_answer(self, answer: DevicePingAnswered) -> None:
        waiting = self._waiting.get((answer.device_id, answer.request_id))
        if waiting is not None and not waiting.done():
            waiting.set_result(answer)


def redirect_uri(host: str, port: int, *, uri: str | None) -> str:
    """The URI an MQTT device is redirected to: ``uri`` when given (checked), else
    ``mqtt://host:port``.

    Raises:
        BadRedirect: an empty or oversized host, one with spaces, NUL or a scheme; a port
            outside 1..65535; a URI without an ``mqtt``, ``mqtts``, ``ws`` or ``wss`` scheme.
    """
    if not host or len(host) > MAX_HOST_CHARS or any(c in host for c in " \t\r\n\0/"):
        raise BadRedirect("host must be a host name or address (no spaces, no scheme)")
    if not 1 <= port <= 65535:
        raise BadRedirect("port must be within 1..65535")
    if uri is None or uri == "":
        return f"mqtt://{host}:{port}"
    if not uri.startswith(REDIRECT_SCHEMES) or len(uri) > MAX_URI_CHARS or "\0" in uri:
        raise BadRedirect("uri must start with mqtt://, mqtts://, ws:// or wss://")
    return uri


def command_summary(kind: str, details: Any) -> str:
    """An actions-log entry's command as one line: ``Reboot``, ``Ping: 12.5 ms``…"""
    label = COMMAND_LABELS.get(kind, kind)
    if kind == "ping" and isinstance(details, dict):
        ms = details.get("ms")
        return f"{label}: {ms} ms" if ms is not None else f"{label}: no answer"
    if kind == "redirect" and isinstance(details, dict):
        return f"{label} to {details.get('uri') or details.get('host')}"
    return label
