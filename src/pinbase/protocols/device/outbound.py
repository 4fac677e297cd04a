"""What the server says to a device, as values (device-protocols.md §1.7 and §1.11).

A message answering a request takes the request's ``msg_id``; a push leaves it at None and the
connection numbers it 1..65535. The set is deliberately small: RESPONSE (0), BRIDGE (15),
INTERNAL (17) and HARDWARE (20) are the only commands all three target clients accept (§3.4).
PING, REDIRECT and DEBUG_PRINT make the Python libraries disconnect or crash (§1.11.5): their
values (``ServerPing``, ``Redirect``, ``DebugPrint``, the server commands of
device-lifecycle.md §4) are ``C_PLUS_PLUS_ONLY``, and the connection refuses them to any client
it has not recognised as the C++ library. PROPERTY has no value at all.
"""

from dataclasses import dataclass

from pinbase.domain.pins import Pin
from pinbase.protocols.device._checks import (
    check_msg_id,
    check_reply_id,
    check_text,
    check_values,
)
from pinbase.protocols.device.events import Response

INTERNAL_PUSHES = frozenset({"ota", "acon", "adis", "dbg"})
"""INTERNAL commands the server may push unasked (§1.7.3); ``vfs`` is undocumented: never sent."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HardwareWriteOut:
    """HARDWARE ``vw``/``dw``/``aw`` to the device: a push (msg_id None) or a sync answer."""

    pin: Pin
    values: tuple[str, ...]
    msg_id: int | None = None

    def __post_init__(self) -> None:
        check_reply_id(self.msg_id)
        check_values("values", self.values)


@dataclass(frozen=True, slots=True, kw_only=True)
class HardwareReadOut:
    """HARDWARE ``vr``/``dr``/``ar``: asks the device to report a pin (opt-in, §1.11.2).

    C++ HEAD answers RESPONSE 2 instead; the Python libraries run their read handlers.
    """

    pin: Pin
    msg_id: int | None = None

    def __post_init__(self) -> None:
        check_reply_id(self.msg_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeWriteOut:
    """BRIDGE ``vw <pin> <values>`` to a bridge target, reusing the sender's msg_id (§1.10.7)."""

    pin: Pin
    values: tuple[str, ...]
    msg_id: int | None = None

    def __post_init__(self) -> None:
        check_reply_id(self.msg_id)
        check_values("values", self.values)


@dataclass(frozen=True, slots=True, kw_only=True)
class RtcReply:
    """INTERNAL ``rtc <seconds>``: the device's local wall-clock time encoded as Unix seconds."""

    msg_id: int
    seconds: int

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        if self.seconds < 0:
            raise ValueError("seconds must not be negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class UtcReply:
    """INTERNAL ``utc <query> <values>``; echoing the query is mandatory (§1.7.2)."""

    msg_id: int
    query: str
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        check_text("query", self.query, allow_empty=False)
        check_values("values", self.values)


@dataclass(frozen=True, slots=True, kw_only=True)
class MetadataReply:
    """INTERNAL ``meta <name> <value>`` answering ``MetadataGet``."""

    msg_id: int
    name: str
    value: str

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        check_text("metadata name", self.name, allow_empty=False)
        check_text("metadata value", self.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class InternalPush:
    """INTERNAL ``ota <url>``, ``acon``, ``adis`` or ``dbg reboot``, sent unasked (§1.7.3)."""

    name: str
    args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.name not in INTERNAL_PUSHES:
            raise ValueError(f"INTERNAL push is one of {sorted(INTERNAL_PUSHES)}")
        for arg in self.args:
            check_text("internal argument", arg)


MAX_PORT = 65535


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerPing:
    """PING (6) from the server: the C++ library answers ``RESPONSE(id, 200)`` (§1.3); the
    connection numbers it, and ``DeviceConnection.last_sent_id`` tells the number to wait for."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Redirect:
    """REDIRECT (41) ``host\0port``: the C++ library reconnects there at once (§1.8.3). The
    port is always given: without it C++ falls back to 80, even on TLS builds."""

    host: str
    port: int

    def __post_init__(self) -> None:
        check_text("host", self.host, allow_empty=False)
        if not 1 <= self.port <= MAX_PORT:
            raise ValueError(f"port must be within 1..{MAX_PORT}")


@dataclass(frozen=True, slots=True, kw_only=True)
class DebugPrint:
    """DEBUG_PRINT (55): free text the C++ library logs as ``Server: <text>`` (§1.13 #3)."""

    text: str

    def __post_init__(self) -> None:
        check_text("text", self.text)


C_PLUS_PLUS_ONLY = (ServerPing, Redirect, DebugPrint)
"""Outbound values only the C++ library takes; the Python libraries disconnect (§1.11.5)."""

Outbound = (
    Response
    | HardwareWriteOut
    | HardwareReadOut
    | BridgeWriteOut
    | RtcReply
    | UtcReply
    | MetadataReply
    | InternalPush
    | ServerPing
    | Redirect
    | DebugPrint
)
"""Everything ``DeviceConnection.send`` accepts."""
