"""What a device says to the server, as values (device-protocols.md §1.4 to §1.10).

Each event carries the ``msg_id`` of its frame, because every answer reuses it (§1.2 rule 2);
the ids are not unique and the server never routes by them. ``Response`` travels both ways.
Text fields never hold NUL (it separates body elements) and are valid Unicode; tokens are kept
out of ``repr`` so they never reach a log line.
"""

from dataclasses import dataclass, field

from pinbase.domain.pins import Pin
from pinbase.protocols.device._checks import (
    check_channel,
    check_msg_id,
    check_text,
    check_values,
    check_virtual,
    check_written_values,
    has_own_event,
    is_number,
    parse_count,
)
from pinbase.protocols.device.frames import MAX_STATUS, Command

INFO_KEYS = frozenset(
    {"ver", "blynk", "mcu", "ncp", "fw", "fw-type", "build", "h-beat", "buff-in", "dev", "cpu"}
    | {"con", "conn", "tmpl"}
)
"""Keys that mark an INTERNAL message as the device info message when they come first (§1.7.1)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Login:
    """LOGIN (2) or HW_LOGIN (29) with a well-formed token, whitespace trimmed (§1.8.1)."""

    msg_id: int
    token: str = field(repr=False)
    command: Command = Command.HW_LOGIN

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        check_text("token", self.token, allow_empty=False)
        if self.token != self.token.strip():
            raise ValueError("token has surrounding whitespace")
        if self.command not in (Command.LOGIN, Command.HW_LOGIN):
            raise ValueError("login command is 2 or 29")


@dataclass(frozen=True, slots=True, kw_only=True)
class Ping:
    """PING (6): answer ``Response(msg_id, OK)`` at once; clients count on it (§1.9)."""

    msg_id: int

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    """RESPONSE (0), both directions: a status answering the request numbered ``msg_id``."""

    msg_id: int
    status: int

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        if not 0 <= self.status <= MAX_STATUS:
            raise ValueError(f"status {self.status} outside 0..{MAX_STATUS}")


@dataclass(frozen=True, slots=True, kw_only=True)
class HardwareWrite:
    """HARDWARE ``vw``/``dw``/``aw``: a value for a pin; several values for a multi-value pin.

    Not answered on success (§1.10.1).
    """

    msg_id: int
    pin: Pin
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        check_written_values(self.values)


@dataclass(frozen=True, slots=True, kw_only=True)
class HardwareRead:
    """HARDWARE ``vr``/``dr``/``ar`` from a device; the legacy server ignored it (§1.6)."""

    msg_id: int
    pin: Pin

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class Sync:
    """HARDWARE_SYNC (16): stored values wanted back as HARDWARE frames with this msg_id.

    ``pins`` is None for an empty body (``syncAll``), otherwise the listed pins, all of one
    kind. Pins without a value produce nothing, and success has no RESPONSE (§1.10.3).
    """

    msg_id: int
    pins: tuple[Pin, ...] | None = None

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        if self.pins is not None:
            if not self.pins:
                raise ValueError("a pin sync lists at least one pin")
            if len({pin.type for pin in self.pins}) != 1:
                raise ValueError("a sync lists pins of one kind")


@dataclass(frozen=True, slots=True, kw_only=True)
class SetProperty:
    """PROPERTY (19): ``setProperty`` on one or several virtual pins (§1.10.4)."""

    msg_id: int
    pins: tuple[Pin, ...]
    name: str
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        check_virtual(self.pins)
        check_text("property name", self.name, allow_empty=False)
        if is_number(self.name):
            raise ValueError("an all-digit element is a pin, not a property name")
        check_values("values", self.values)
        if self.values == ("",):
            raise ValueError("a property needs a value")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInfo:
    """The INTERNAL info message, as key/value pairs in the device's order (§1.7.1)."""

    msg_id: int
    fields: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        if not self.fields or self.fields[0][0] not in INFO_KEYS:
            raise ValueError("an info message starts with a known info key")
        for key, value in self.fields:
            check_text("info key", key)
            check_text("info value", value)

    def get(self, key: str) -> str | None:
        """The last value sent for ``key``, or None."""
        found = None
        for name, value in self.fields:
            if name == key:
                found = value
        return found

    @property
    def heartbeat(self) -> int | None:
        """``h-beat`` in seconds when it is a positive number."""
        return parse_count(self.get("h-beat")) or None

    @property
    def buff_in(self) -> int | None:
        """``buff-in``: the largest frame the device accepts, in bytes, when it is a number."""
        return parse_count(self.get("buff-in"))


@dataclass(frozen=True, slots=True, kw_only=True)
class RtcSync:
    """INTERNAL ``rtc sync``: answer ``RtcReply`` with the device's local time (§1.7.2)."""

    msg_id: int

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class UtcRequest:
    """INTERNAL ``utc <query>`` (``time``, ``iso``, ``tz``, ...): answer ``UtcReply`` (§1.7.2)."""

    msg_id: int
    query: str

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        check_text("query", self.query, allow_empty=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class MetadataGet:
    """INTERNAL ``meta get <name>``: answer ``MetadataReply`` (§1.7.2)."""

    msg_id: int
    name: str

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        check_text("metadata name", self.name, allow_empty=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class MetadataSet:
    """INTERNAL ``meta set <name> <value>``: answer ``Response`` 200, or 2 on error (§1.7.2)."""

    msg_id: int
    name: str
    value: str

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        check_text("metadata name", self.name, allow_empty=False)
        check_text("metadata value", self.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Internal:
    """Any other INTERNAL message, split into its first element and the rest."""

    msg_id: int
    name: str
    args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        check_text("internal name", self.name, allow_empty=False)
        for arg in self.args:
            check_text("internal argument", arg)
        if self.name in INFO_KEYS or has_own_event(self.name, self.args):
            raise ValueError(f"INTERNAL {self.name!r} with these arguments has its own event")


@dataclass(frozen=True, slots=True, kw_only=True)
class LogEvent:
    """EVENT_LOG (64): ``Blynk.logEvent(code[, description])`` (§1.10.6)."""

    msg_id: int
    code: str
    description: str | None = None

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        check_text("event code", self.code, allow_empty=False)
        if self.description is not None:
            check_text("description", self.description)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveEvent:
    """EVENT_CLEAR (65): resolve the latest open event with ``code``, or all of them."""

    msg_id: int
    code: str
    resolve_all: bool = False

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        check_text("event code", self.code, allow_empty=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class _TextMessage:
    """A legacy one-text message; each command is its own subclass, so handlers tell them apart."""

    msg_id: int
    text: str

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        check_text("text", self.text, allow_empty=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Notify(_TextMessage):
    """NOTIFY (14), the legacy push notification the Python libraries still send."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Tweet(_TextMessage):
    """TWEET (12), legacy; answer 200 or NOT_ALLOWED (§1.4)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Sms(_TextMessage):
    """SMS (18), legacy; answer 200 or NOT_ALLOWED (§1.4)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Email:
    """EMAIL (13): ``to, subject, body``, or ``subject, body`` for the owner (``to`` None)."""

    msg_id: int
    to: str | None
    subject: str
    body: str

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        if self.to is not None:
            check_text("recipient", self.to, allow_empty=False)
        check_text("subject", self.subject)
        check_text("body", self.body)


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupBegin:
    """GROUP ``b`` or ``t <ms>``: writes until ``GroupEnd`` share one timestamp (§1.10.5).

    ``timestamp_ms`` is None for ``b``: the server uses its own receive time.
    """

    msg_id: int
    timestamp_ms: int | None = None

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        if self.timestamp_ms is not None and self.timestamp_ms < 0:
            raise ValueError("timestamp must not be negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupEnd:
    """GROUP ``e``: the group opened by ``GroupBegin`` is over."""

    msg_id: int

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeInit:
    """BRIDGE ``<channel> i <token>``: open a bridge channel to another device (§1.10.7)."""

    msg_id: int
    channel: int
    token: str = field(repr=False)

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        check_channel(self.channel)
        check_text("token", self.token, allow_empty=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeWrite:
    """BRIDGE ``<channel> vw <pin> <values>``: a write for the device bridged on ``channel``."""

    msg_id: int
    channel: int
    pin: Pin
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)
        check_channel(self.channel)
        check_written_values(self.values)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    """A message the protocol layer refuses with its framing intact: unknown command, bad body,
    a second login. Answer ``Response(msg_id, status)`` and keep the connection (§1.4), except
    after a rejected login, where the connection closes once the answer is sent (§1.8.1).
    """

    msg_id: int
    command: int
    status: int
    reason: str

    def __post_init__(self) -> None:
        check_msg_id(self.msg_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionClosed:
    """The device closed its side, or the connection ended; nothing more will arrive."""


Message = (
    Login
    | Ping
    | Response
    | HardwareWrite
    | HardwareRead
    | Sync
    | SetProperty
    | DeviceInfo
    | RtcSync
    | UtcRequest
    | MetadataGet
    | MetadataSet
    | Internal
    | LogEvent
    | ResolveEvent
    | Notify
    | Tweet
    | Sms
    | Email
    | GroupBegin
    | GroupEnd
    | BridgeInit
    | BridgeWrite
)
"""What a device can put on the wire."""

Event = Message | Rejected | ConnectionClosed
"""Everything ``DeviceConnection.next_event`` can return besides ``NEED_DATA``."""
