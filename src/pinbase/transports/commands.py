"""How a ``DeviceCommanded`` reads in each device protocol (device-lifecycle.md §1.3, §1.4, §4).

Pure translations, shared by the binary and MQTT sessions: the binary protocol's outbound value
for a command, and the MQTT downlink (topic, payload, QoS). A command that cannot be expressed
(bad arguments from a newer node, a kind this protocol has no form for) becomes a
``CommandRefused`` with the reason the session logs; nothing here raises.
"""

from dataclasses import dataclass

import orjson

from pinbase.protocols.device import DebugPrint, InternalPush, Redirect, ServerPing
from pinbase.services.bus import DeviceCommanded

OTA_TOPIC = "downlink/ota/json"
REBOOT_TOPIC = "downlink/reboot"
RECONFIGURE_TOPIC = "downlink/reconfigure"
REDIRECT_TOPIC = "downlink/redirect"
DIAG_TOPIC = "downlink/diag"
PING_TOPIC = "downlink/ping"

DBG_REBOOT = "reboot"
"""``dbg`` NUL ``reboot``: the C++ library's reboot request (device-protocols.md §1.7.3)."""
DBG_CONFIG = "config start"
"""``dbg`` NUL ``config start``: Edgent's console command reopening its Wi-Fi access point
(device-lifecycle.md §4, an inference marked experimental)."""


@dataclass(frozen=True, slots=True)
class CommandRefused:
    """A command this protocol cannot carry; ``reason`` is logged."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttDownlink:
    """A command as an MQTT publish (the session applies the subscription rules, §2.3)."""

    topic: str
    payload: bytes


def ota_url(command: DeviceCommanded) -> str | CommandRefused:
    """The download URL of an ``ota`` command."""
    if not command.args or not command.args[0]:
        return CommandRefused("ota without a URL")
    return command.args[0]


def binary_outbound(
    command: DeviceCommanded,
) -> InternalPush | ServerPing | Redirect | DebugPrint | CommandRefused:
    """The binary protocol's form of a command: INTERNAL ``ota <url>``, ``dbg reboot`` or
    ``dbg config start`` (§1.7.3), PING, REDIRECT ``host port`` or DEBUG_PRINT (§4)."""
    args = command.args
    try:
        match command.kind:
            case "ota":
                url = ota_url(command)
                if isinstance(url, CommandRefused):
                    return url
                return InternalPush(name="ota", args=(url,))
            case "reboot":
                return InternalPush(name="dbg", args=(DBG_REBOOT,))
            case "reconfigure":
                return InternalPush(name="dbg", args=(DBG_CONFIG,))
            case "ping":
                return ServerPing()
            case "redirect":
                port = args[1] if len(args) > 1 else ""
                if not (port.isascii() and port.isdigit()):
                    return CommandRefused(f"redirect port {port!r} is not a number")
                return Redirect(host=args[0], port=int(port))
            case "diag":
                return DebugPrint(text=args[0] if args else "")
    except ValueError as error:  # a NUL in a URL or text, an empty host, a port out of range
        return CommandRefused(str(error))
    return CommandRefused(f"no binary form for {command.kind!r}")


def mqtt_downlink(command: DeviceCommanded) -> MqttDownlink | CommandRefused:
    """The downlink of a command: ``ping`` at QoS 1 (the session times it to the PUBACK), the
    others at the QoS the session's subscription rules give (§2.3, §2.6)."""
    match command.kind:
        case "ota":
            return _ota_json(command)
        case "reboot":
            return MqttDownlink(topic=REBOOT_TOPIC, payload=b"")
        case "reconfigure":
            return MqttDownlink(topic=RECONFIGURE_TOPIC, payload=b"")
        case "redirect":
            uri = command.args[2] if len(command.args) > 2 else ""
            if not uri:
                return CommandRefused("redirect without a URI")
            return MqttDownlink(topic=REDIRECT_TOPIC, payload=uri.encode())
        case "diag":
            text = command.args[0] if command.args else ""
            return MqttDownlink(topic=DIAG_TOPIC, payload=text.encode())
        case "ping":
            return MqttDownlink(topic=PING_TOPIC, payload=b"")
    return CommandRefused(f"no downlink for {command.kind!r}")


def _ota_json(command: DeviceCommanded) -> MqttDownlink | CommandRefused:
    """``{"url", "size", "type", "ver", "build"}``, the last three only when known (§1.4)."""
    url = ota_url(command)
    if isinstance(url, CommandRefused):
        return url
    size_text, fw_type, version, build = (*command.args[1:5], "", "", "", "")[:4]
    if not (size_text.isascii() and size_text.isdigit()):
        return CommandRefused(f"ota size {size_text!r} is not a number of bytes")
    body: dict[str, str | int] = {"url": url, "size": int(size_text)}
    for key, text in (("type", fw_type), ("ver", version), ("build", build)):
        if text:
            body[key] = text
    return MqttDownlink(topic=OTA_TOPIC, payload=orjson.dumps(body))


MAX_PENDING_PINGS = 8
"""Pings one connection may have in flight: a person clicks Ping now and then; more would only
be someone hammering the button or the API."""


class PendingPings:
    """The pings a connection sent and waits an answer for, by the msg or packet id they went
    out with."""

    __slots__ = ("_sent",)

    def __init__(self) -> None:
        self._sent: dict[int, tuple[int, float]] = {}

    def is_full(self) -> bool:
        """Whether another ping must be refused (``MAX_PENDING_PINGS`` in flight)."""
        return len(self._sent) >= MAX_PENDING_PINGS

    def sent(self, wire_id: int, request_id: int, *, at: float) -> None:
        """A ping numbered ``wire_id`` on the wire went out at loop time ``at``."""
        self._sent[wire_id] = (request_id, at)

    def answered(self, wire_id: int, *, at: float) -> tuple[int, float] | None:
        """The request id and round-trip milliseconds of the ping ``wire_id`` answers, or None
        when no ping went out with that id (an answer to something else)."""
        found = self._sent.pop(wire_id, None)
        if found is None:
            return None
        request_id, sent_at = found
        return request_id, round((at - sent_at) * 1000, 1)

    def drain(self) -> list[int]:
        """The request ids still waiting (the connection is ending: none will be answered)."""
        waiting = [request_id for request_id, _ in self._sent.values()]
        self._sent.clear()
        return waiting
