"""The server's codec: device frames to events, outbound messages to frames (spec §1.3 to §1.11).

``parse_device_frame`` never raises on a body it cannot read: the message becomes ``Rejected``
with the status the spec names for that command (ILLEGAL_COMMAND_BODY for PROPERTY,
NOTIFICATION_INVALID_BODY for notifications, ILLEGAL_COMMAND otherwise), so one bad message costs
one RESPONSE, not the connection. ``pinbase.protocols.device.client`` is the device's side.
"""

from collections.abc import Callable

from pinbase.domain.pins import MAX_PIN, Pin, PinType
from pinbase.protocols.device._checks import is_number
from pinbase.protocols.device.errors import ProtocolError
from pinbase.protocols.device.events import (
    INFO_KEYS,
    BridgeInit,
    BridgeWrite,
    DeviceInfo,
    Email,
    Event,
    GroupBegin,
    GroupEnd,
    HardwareRead,
    HardwareWrite,
    Internal,
    LogEvent,
    Login,
    MetadataGet,
    MetadataSet,
    Notify,
    Ping,
    Rejected,
    ResolveEvent,
    Response,
    RtcSync,
    SetProperty,
    Sms,
    Sync,
    Tweet,
    UtcRequest,
)
from pinbase.protocols.device.frames import (
    Command,
    Frame,
    RawFrame,
    Status,
    join_body,
    split_body,
)
from pinbase.protocols.device.outbound import (
    BridgeWriteOut,
    DebugPrint,
    HardwareReadOut,
    HardwareWriteOut,
    MetadataReply,
    Outbound,
    Redirect,
    RtcReply,
    ServerPing,
    UtcReply,
)

MAX_TOKEN_BYTES = 64
"""Longest token accepted at login: Pinbase issues 32 characters, and the spec allows any
non-empty token without NUL up to 64 bytes (§1.13 #15)."""

MAX_TIMESTAMP_DIGITS = 15
"""A GROUP timestamp is Unix milliseconds: 13 digits today, 15 reach the year 33658."""

_KINDS = {"v": PinType.VIRTUAL, "d": PinType.DIGITAL, "a": PinType.ANALOG}
WRITES = {"vw": PinType.VIRTUAL, "dw": PinType.DIGITAL, "aw": PinType.ANALOG}
READS = {"vr": PinType.VIRTUAL, "dr": PinType.DIGITAL, "ar": PinType.ANALOG}
_MAX_PIN_DIGITS = len(str(MAX_PIN))
_PIN_TEXTS = {
    f"{number:0{width}d}": number
    for width in range(1, _MAX_PIN_DIGITS + 1)
    for number in range(min(10**width, MAX_PIN + 1))
}
"""Every pin number text a body may hold, leading zeros included ("7", "07", "007"): 366 of
them, looked up instead of checked digit by digit, once per write (issue 4's hot path)."""
_PINS = {kind: {text: Pin(kind, n) for text, n in _PIN_TEXTS.items()} for kind in PinType}
"""The ``Pin`` of each kind and text, built once: a pin is an immutable value."""


def parse_pin(kind: PinType, text: str) -> Pin:
    """A pin number from a body: 1 to 3 ASCII digits, 0..255 (§1.3).

    Raises:
        ValueError: anything else.
    """
    pin = _PINS[kind].get(text)
    if pin is None:
        raise ValueError(f"bad pin number {text!r}")
    return pin


def parse_login(frame: Frame) -> Login | Rejected:
    """A LOGIN or HW_LOGIN frame: the token with surrounding whitespace trimmed (§1.8.1).

    A token that is empty, not UTF-8, longer than ``MAX_TOKEN_BYTES`` or holding NUL gives
    ``Rejected`` with INVALID_TOKEN, which the legacy server answered too.
    """
    token = frame.body.strip()
    try:
        if not 0 < len(token) <= MAX_TOKEN_BYTES:
            raise ValueError(f"token of {len(token)} bytes")
        return Login(msg_id=frame.msg_id, token=token.decode(), command=Command(frame.command))
    except ValueError as error:  # UnicodeDecodeError is a ValueError too
        return Rejected(
            msg_id=frame.msg_id,
            command=frame.command,
            status=Status.INVALID_TOKEN,
            reason=f"invalid token: {error}",
        )


def parse_device_frame(frame: Frame) -> Event:
    """The event a device frame carries, once logged in; ``Rejected`` when it makes no sense."""
    return parse_device_raw((frame.command, frame.msg_id, frame.body, frame.status))


def parse_device_raw(raw: RawFrame) -> Event:
    """``parse_device_frame`` for the decoder's ``RawFrame``, which the server reads."""
    command, msg_id, body, status = raw
    if status is not None:  # a RESPONSE, and only a RESPONSE, carries a status
        return Response(msg_id=msg_id, status=status)
    parser = _PARSERS.get(command)
    if parser is None:
        return Rejected(
            msg_id=msg_id,
            command=command,
            status=Status.ILLEGAL_COMMAND,
            reason=f"command {command} is not accepted from a device",
        )
    try:
        return parser(msg_id, split_body(body))
    except (ValueError, ProtocolError) as error:
        return Rejected(
            msg_id=msg_id,
            command=command,
            status=_FAILURE_STATUS.get(command, Status.ILLEGAL_COMMAND),
            reason=str(error),
        )


def _ping(msg_id: int, parts: list[str]) -> Event:
    return Ping(msg_id=msg_id)


def _hardware(msg_id: int, parts: list[str]) -> Event:
    op = parts[0] if parts else ""
    if op in WRITES and len(parts) >= 3:
        pin = parse_pin(WRITES[op], parts[1])
        return HardwareWrite(msg_id=msg_id, pin=pin, values=tuple(parts[2:]))
    if op in READS and len(parts) == 2:
        return HardwareRead(msg_id=msg_id, pin=parse_pin(READS[op], parts[1]))
    raise ValueError(f"unsupported HARDWARE body starting {op!r}")


def _sync(msg_id: int, parts: list[str]) -> Event:
    if not parts:
        return Sync(msg_id=msg_id)
    kind = READS.get(parts[0])
    if kind is None or len(parts) < 2:
        raise ValueError("a sync body is empty or a read op followed by pins")
    return Sync(msg_id=msg_id, pins=tuple(parse_pin(kind, text) for text in parts[1:]))


def _property(msg_id: int, parts: list[str]) -> Event:
    count = 0
    while count < len(parts) and is_number(parts[count]):
        count += 1
    if count == 0 or len(parts) < count + 2:
        raise ValueError("a property body is pins, a name and at least one value")
    pins = tuple(parse_pin(PinType.VIRTUAL, text) for text in parts[:count])
    return SetProperty(
        msg_id=msg_id, pins=pins, name=parts[count], values=tuple(parts[count + 1 :])
    )


def _internal(msg_id: int, parts: list[str]) -> Event:
    if not parts:
        raise ValueError("empty INTERNAL body")
    name, args = parts[0], tuple(parts[1:])
    if name in INFO_KEYS:
        # Pairs; a dangling key at the end has no value and is ignored (§1.7.1: be generic).
        return DeviceInfo(msg_id=msg_id, fields=tuple(zip(parts[::2], parts[1::2], strict=False)))
    if name == "rtc" and args == ("sync",):
        return RtcSync(msg_id=msg_id)
    if name == "utc" and len(args) == 1:
        return UtcRequest(msg_id=msg_id, query=args[0])
    if name == "meta" and len(args) == 2 and args[0] == "get":
        return MetadataGet(msg_id=msg_id, name=args[1])
    if name == "meta" and len(args) == 3 and args[0] == "set":
        return MetadataSet(msg_id=msg_id, name=args[1], value=args[2])
    return Internal(msg_id=msg_id, name=name, args=args)


def _event_log(msg_id: int, parts: list[str]) -> Event:
    if len(parts) not in (1, 2):
        raise ValueError("an event is a code and an optional description")
    description = parts[1] if len(parts) == 2 else None
    return LogEvent(msg_id=msg_id, code=parts[0], description=description)


def _event_clear(msg_id: int, parts: list[str]) -> Event:
    if len(parts) == 1 or (len(parts) == 2 and parts[1] == "all"):
        return ResolveEvent(msg_id=msg_id, code=parts[0], resolve_all=len(parts) == 2)
    raise ValueError("EVENT_CLEAR is a code, optionally followed by 'all'")


def _text(kind: type[Notify | Tweet | Sms]) -> Callable[[int, list[str]], Event]:
    def parse(msg_id: int, parts: list[str]) -> Event:
        if len(parts) != 1:
            raise ValueError("a notification is one non-empty text")
        return kind(msg_id=msg_id, text=parts[0])

    return parse


def _email(msg_id: int, parts: list[str]) -> Event:
    if len(parts) == 3:
        return Email(msg_id=msg_id, to=parts[0], subject=parts[1], body=parts[2])
    if len(parts) == 2:
        return Email(msg_id=msg_id, to=None, subject=parts[0], body=parts[1])
    raise ValueError("an e-mail is 'to, subject, body' or 'subject, body'")


def _group(msg_id: int, parts: list[str]) -> Event:
    if parts == ["b"]:
        return GroupBegin(msg_id=msg_id)
    if parts == ["e"]:
        return GroupEnd(msg_id=msg_id)
    if (
        len(parts) == 2
        and parts[0] == "t"
        and is_number(parts[1])
        and len(parts[1]) <= MAX_TIMESTAMP_DIGITS
    ):
        return GroupBegin(msg_id=msg_id, timestamp_ms=int(parts[1]))
    raise ValueError("a GROUP body is 'b', 't <ms>' or 'e'")


def _bridge(msg_id: int, parts: list[str]) -> Event:
    if len(parts) >= 3:
        channel = parse_pin(PinType.VIRTUAL, parts[0]).number
        if parts[1] == "i" and len(parts) == 3:
            return BridgeInit(msg_id=msg_id, channel=channel, token=parts[2])
        if parts[1] in WRITES and len(parts) >= 4:
            pin = parse_pin(WRITES[parts[1]], parts[2])
            return BridgeWrite(msg_id=msg_id, channel=channel, pin=pin, values=tuple(parts[3:]))
    raise ValueError("a BRIDGE body is '<channel> i <token>' or '<channel> vw <pin> <values>'")


_PARSERS: dict[int, Callable[[int, list[str]], Event]] = {
    Command.PING: _ping,
    Command.TWEET: _text(Tweet),
    Command.EMAIL: _email,
    Command.NOTIFY: _text(Notify),
    Command.BRIDGE: _bridge,
    Command.HARDWARE_SYNC: _sync,
    Command.INTERNAL: _internal,
    Command.SMS: _text(Sms),
    Command.PROPERTY: _property,
    Command.HARDWARE: _hardware,
    Command.GROUP: _group,
    Command.EVENT_LOG: _event_log,
    Command.EVENT_CLEAR: _event_clear,
}

_FAILURE_STATUS: dict[int, Status] = {
    Command.PROPERTY: Status.ILLEGAL_COMMAND_BODY,  # legacy SetWidgetPropertyLogic (§1.10.4)
    Command.EMAIL: Status.NOTIFICATION_INVALID_BODY,  # legacy MailLogic, PushLogic (§1.10.6)
    Command.NOTIFY: Status.NOTIFICATION_INVALID_BODY,
    Command.TWEET: Status.NOTIFICATION_INVALID_BODY,
    Command.SMS: Status.NOTIFICATION_INVALID_BODY,
}


# --- server → device -----------------------------------------------------------------------


def pin_parts(op: str, pin: Pin) -> list[str]:
    """The first two body elements addressing ``pin``: ``vw 5``, ``dr 13`` (op is w or r)."""
    return [f"{pin.type.letter}{op}", str(pin.number)]


def encode_server_message(message: Outbound, *, msg_id: int) -> Frame:
    """The frame for an outbound message numbered ``msg_id`` (the connection picks the id)."""
    match message:
        case Response(status=status):
            return Frame(command=Command.RESPONSE, msg_id=msg_id, status=status)
        case ServerPing():
            return Frame(command=Command.PING, msg_id=msg_id)
        case Redirect(host=host, port=port):
            command, parts = Command.REDIRECT, [host, str(port)]
        case DebugPrint(text=text):
            command, parts = Command.DEBUG_PRINT, [text]
        case HardwareWriteOut(pin=pin, values=values):
            command, parts = Command.HARDWARE, [*pin_parts("w", pin), *values]
        case HardwareReadOut(pin=pin):
            command, parts = Command.HARDWARE, pin_parts("r", pin)
        case BridgeWriteOut(pin=pin, values=values):
            command, parts = Command.BRIDGE, [*pin_parts("w", pin), *values]
        case RtcReply(seconds=seconds):
            command, parts = Command.INTERNAL, ["rtc", str(seconds)]
        case UtcReply(query=query, values=values):
            command, parts = Command.INTERNAL, ["utc", query, *values]
        case MetadataReply(name=name, value=value):
            command, parts = Command.INTERNAL, ["meta", name, value]
        case _:  # InternalPush, the last member of Outbound
            command, parts = Command.INTERNAL, [message.name, *message.args]
    return Frame(command=command, msg_id=msg_id, body=join_body(parts))
