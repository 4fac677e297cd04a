"""The device's side of the codec: what a Blynk library sends, and how it reads the server.

Used by fake devices and tests, never by the server: ``encode_device_message`` puts an event on
the wire as a client library would, and ``parse_server_frame`` reads a server frame the way the
Python libraries do (plain NUL split, no trailing-NUL rule).
"""

from collections.abc import Sequence

from pinbase.protocols.device.codec import READS, WRITES, parse_pin, pin_parts
from pinbase.protocols.device.errors import ProtocolError
from pinbase.protocols.device.events import (
    BridgeInit,
    BridgeWrite,
    DeviceInfo,
    Email,
    GroupBegin,
    GroupEnd,
    HardwareRead,
    HardwareWrite,
    Internal,
    LogEvent,
    Login,
    Message,
    MetadataGet,
    MetadataSet,
    Notify,
    Ping,
    ResolveEvent,
    Response,
    RtcSync,
    SetProperty,
    Sms,
    Sync,
    Tweet,
    UtcRequest,
)
from pinbase.protocols.device.frames import Command, Frame, join_body, split_body
from pinbase.protocols.device.outbound import (
    INTERNAL_PUSHES,
    BridgeWriteOut,
    DebugPrint,
    HardwareReadOut,
    HardwareWriteOut,
    InternalPush,
    MetadataReply,
    Outbound,
    Redirect,
    RtcReply,
    ServerPing,
    UtcReply,
)


def _device_body(parts: Sequence[str]) -> bytes:
    # The server drops one trailing empty element (§1.3), so an element list ending in "" is
    # sent with one extra NUL to arrive whole.
    body = join_body(parts)
    return body + b"\0" if parts and parts[-1] == "" else body


def encode_device_message(message: Message) -> Frame:
    """The frame a device sends for ``message``: what a fake device or a test puts on the wire."""
    msg_id = message.msg_id
    match message:
        case Response(status=status):
            return Frame(command=Command.RESPONSE, msg_id=msg_id, status=status)
        case Login(token=token, command=command):
            return Frame(command=command, msg_id=msg_id, body=token.encode())
        case Ping():
            return Frame(command=Command.PING, msg_id=msg_id)
    command, parts = _device_parts(message)
    return Frame(command=command, msg_id=msg_id, body=_device_body(parts))


def _device_parts(message: Message) -> tuple[Command, list[str]]:
    match message:
        case HardwareWrite(pin=pin, values=values):
            return Command.HARDWARE, [*pin_parts("w", pin), *values]
        case HardwareRead(pin=pin):
            return Command.HARDWARE, pin_parts("r", pin)
        case Sync(pins=None):
            return Command.HARDWARE_SYNC, []
        case Sync(pins=(first, *_) as pins):
            return Command.HARDWARE_SYNC, [f"{first.type.letter}r", *(str(p.number) for p in pins)]
        case SetProperty(pins=pins, name=name, values=values):
            return Command.PROPERTY, [*(str(p.number) for p in pins), name, *values]
        case DeviceInfo(fields=fields):
            return Command.INTERNAL, [item for pair in fields for item in pair]
        case RtcSync():
            return Command.INTERNAL, ["rtc", "sync"]
        case UtcRequest(query=query):
            return Command.INTERNAL, ["utc", query]
        case MetadataGet(name=name):
            return Command.INTERNAL, ["meta", "get", name]
        case MetadataSet(name=name, value=value):
            return Command.INTERNAL, ["meta", "set", name, value]
        case Internal(name=name, args=args):
            return Command.INTERNAL, [name, *args]
        case LogEvent(code=code, description=description):
            return Command.EVENT_LOG, [code] if description is None else [code, description]
        case ResolveEvent(code=code, resolve_all=resolve_all):
            return Command.EVENT_CLEAR, [code, "all"] if resolve_all else [code]
        case Notify(text=text):
            return Command.NOTIFY, [text]
        case Tweet(text=text):
            return Command.TWEET, [text]
        case Sms(text=text):
            return Command.SMS, [text]
        case Email(to=to, subject=subject, body=body):
            return Command.EMAIL, [subject, body] if to is None else [to, subject, body]
        case GroupBegin(timestamp_ms=None):
            return Command.GROUP, ["b"]
        case GroupBegin(timestamp_ms=timestamp):
            return Command.GROUP, ["t", str(timestamp)]
        case GroupEnd():
            return Command.GROUP, ["e"]
        case BridgeInit(channel=channel, token=token):
            return Command.BRIDGE, [str(channel), "i", token]
        case BridgeWrite(channel=channel, pin=pin, values=values):
            return Command.BRIDGE, [str(channel), *pin_parts("w", pin), *values]
    raise TypeError(f"not a device message: {message!r}")  # pragma: no cover


def parse_server_frame(frame: Frame) -> Outbound:
    """The outbound message a server frame carries, ``msg_id`` included.

    Raises:
        ProtocolError: the frame is nothing the server may send.
    """
    if frame.status is not None:
        return Response(msg_id=frame.msg_id, status=frame.status)
    parts = split_body(frame.body, drop_terminator=False)
    try:
        message = _server_message(frame.command, frame.msg_id, parts)
    except ValueError as error:
        raise ProtocolError(str(error)) from error
    if message is None:
        raise ProtocolError(f"command {frame.command} with body {parts!r} is no server message")
    return message


def _server_message(command: int, msg_id: int, parts: list[str]) -> Outbound | None:
    name, args = (parts[0], parts[1:]) if parts else ("", [])
    if command in (Command.HARDWARE, Command.BRIDGE) and name in WRITES and args:
        pin, values = parse_pin(WRITES[name], args[0]), tuple(args[1:])
        if command == Command.BRIDGE:
            return BridgeWriteOut(msg_id=msg_id, pin=pin, values=values)
        return HardwareWriteOut(msg_id=msg_id, pin=pin, values=values)
    if command == Command.HARDWARE and name in READS and len(args) == 1:
        return HardwareReadOut(msg_id=msg_id, pin=parse_pin(READS[name], args[0]))
    if command == Command.PING and not parts:
        return ServerPing()
    if command == Command.REDIRECT and len(args) == 1 and args[0].isascii() and args[0].isdigit():
        return Redirect(host=name, port=int(args[0]))
    if command == Command.DEBUG_PRINT:
        return DebugPrint(text="\0".join(parts))
    if command != Command.INTERNAL:
        return None
    if name == "rtc" and len(args) == 1 and args[0].isascii() and args[0].isdigit():
        return RtcReply(msg_id=msg_id, seconds=int(args[0]))
    if name == "utc" and len(args) >= 2:
        return UtcReply(msg_id=msg_id, query=args[0], values=tuple(args[1:]))
    if name == "meta" and len(args) == 2:
        return MetadataReply(msg_id=msg_id, name=args[0], value=args[1])
    if name in INTERNAL_PUSHES:
        return InternalPush(name=name, args=tuple(args))
    return None
