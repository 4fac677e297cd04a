"""How a ``DeviceCommanded`` reads in each device protocol (device-lifecycle.md §1.3, §1.4, §4).

Pure translations, shared by the binary and MQTT sessions: the binary protocol's outbound value
for a command, and the MQTT downlink (topic, payload, QoS). A command that cannot be expressed
(bad arguments from a newer node, a kind this protocol has no form for) becomes a
``CommandRefused`` with the reason the session logs; nothing here raises.
"""

import logging
from dataclasses import dataclass

import orjson

from pinbase.protocols.device import InternalPush
from pinbase.services.bus import DeviceCommanded

logger = logging.getLogger(__name__)

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


def binary_internal(command: DeviceCommanded) -> InternalPush | CommandRefused:
    """The INTERNAL push for ``ota``, ``reboot`` and ``reconfigure`` (§1.7.3)."""
    try:
        if command.kind == "ota":
            url = ota_url(command)
            if isinstance(url, CommandRefused):
                return url
            return InternalPush(name="ota", args=(url,))
        if command.kind == "reboot":
            return InternalPush(name="dbg", args=(DBG_REBOOT,))
        if command.kind == "reconfigure":
            return InternalPush(name="dbg", args=(DBG_CONFIG,))
    except ValueError as error:  # a URL with a NUL in it
        return CommandRefused(str(error))
    return CommandRefused(f"no INTERNAL form for {command.kind!r}")


def mqtt_downlink(command: DeviceCommanded) -> MqttDownlink | CommandRefused:
    """The downlink for every kind but ``ping`` (which the session numbers and times)."""
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
