"""What the server says to a device, as values (device-protocols.md §1.7 and §1.11).

A message answering a request takes the request's ``msg_id``; a push leaves it at None and the
connection numbers it 1..65535. The set is deliberately small: RESPONSE (0), BRIDGE (15),
INTERNAL (17) and HARDWARE (20) are the only commands all three target clients accept (§3.4).
PING, PROPERTY, REDIRECT and DEBUG_PRINT make at least one of them disconnect or crash, so no
value here can express them.
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


Outbound = (
    Response
    | HardwareWriteOut
    | HardwareReadOut
    | BridgeWriteOut
    | RtcReply
    | UtcReply
    | MetadataReply
    | InternalPush
)
"""Everything ``DeviceConnection.send`` accepts."""
