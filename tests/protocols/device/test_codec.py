"""Body grammar: each command's body to its event and back, and what a bad body turns into."""

import pytest

from pinbase.domain.pins import Pin, PinType
from pinbase.protocols.device.client import encode_device_message, parse_server_frame
from pinbase.protocols.device.codec import (
    MAX_TOKEN_BYTES,
    encode_server_message,
    parse_device_frame,
    parse_login,
)
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
from pinbase.protocols.device.frames import Command, Frame, FrameDecoder, Status, encode_frame
from pinbase.protocols.device.outbound import (
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

V = PinType.VIRTUAL
TOKEN = "A" * 32

DEVICE_MESSAGES: list[Message] = [
    Login(msg_id=1, token=TOKEN),
    Login(msg_id=1, token=TOKEN, command=Command.LOGIN),
    Ping(msg_id=0),
    Response(msg_id=0x66, status=Status.ILLEGAL_COMMAND),
    HardwareWrite(msg_id=3, pin=Pin(V, 5), values=("42", "x")),
    HardwareWrite(msg_id=3, pin=Pin(PinType.DIGITAL, 13), values=("1",)),
    HardwareWrite(msg_id=3, pin=Pin(PinType.ANALOG, 0), values=("512",)),
    HardwareWrite(msg_id=3, pin=Pin(V, 1), values=("a", "")),
    HardwareWrite(msg_id=3, pin=Pin(V, 255), values=("", "b")),
    HardwareRead(msg_id=4, pin=Pin(V, 3)),
    HardwareRead(msg_id=4, pin=Pin(PinType.DIGITAL, 2)),
    Sync(msg_id=5),
    Sync(msg_id=5, pins=(Pin(V, 1), Pin(V, 2))),
    Sync(msg_id=5, pins=(Pin(PinType.ANALOG, 13),)),
    SetProperty(msg_id=6, pins=(Pin(V, 5),), name="label", values=("My Label",)),
    SetProperty(
        msg_id=6, pins=(Pin(V, 0), Pin(V, 1), Pin(V, 2)), name="isDisabled", values=("true",)
    ),
    SetProperty(msg_id=6, pins=(Pin(V, 3),), name="labels", values=("Item 1", "Item 2")),
    SetProperty(msg_id=6, pins=(Pin(V, 1),), name="url", values=("1", "https://x")),
    DeviceInfo(msg_id=2, fields=(("ver", "0.2.6"), ("buff-in", "1024"), ("dev", "python"))),
    DeviceInfo(msg_id=2, fields=(("mcu", "0.0.0"), ("fw", ""))),
    RtcSync(msg_id=8),
    UtcRequest(msg_id=9, query="tz_name"),
    MetadataGet(msg_id=10, name="Serial Number"),
    MetadataSet(msg_id=10, name="Hotspot Name", value="my-ssid"),
    Internal(msg_id=11, name="vfs", args=("ls", "")),
    Internal(msg_id=11, name="rtc"),
    LogEvent(msg_id=12, code="temp_high"),
    LogEvent(msg_id=12, code="temp_high", description="too hot"),
    LogEvent(msg_id=12, code="temp_high", description=""),
    ResolveEvent(msg_id=13, code="temp_high"),
    ResolveEvent(msg_id=13, code="temp_high", resolve_all=True),
    Notify(msg_id=14, text="hi"),
    Tweet(msg_id=14, text="tweet"),
    Sms(msg_id=14, text="sms"),
    Email(msg_id=15, to="a@example.com", subject="s", body="b"),
    Email(msg_id=15, to=None, subject="s", body=""),
    GroupBegin(msg_id=16),
    GroupBegin(msg_id=16, timestamp_ms=1_700_000_000_000),
    GroupEnd(msg_id=17),
    BridgeInit(msg_id=18, channel=1, token=TOKEN),
    BridgeWrite(msg_id=19, channel=1, pin=Pin(V, 4), values=("on",)),
]

SERVER_MESSAGES: list[Outbound] = [
    Response(msg_id=1, status=Status.OK),
    HardwareWriteOut(msg_id=100, pin=Pin(V, 1), values=("from-app", "second")),
    HardwareWriteOut(msg_id=1, pin=Pin(PinType.DIGITAL, 13), values=("1",)),
    HardwareWriteOut(msg_id=1, pin=Pin(V, 1), values=("",)),
    HardwareReadOut(msg_id=2, pin=Pin(V, 3)),
    BridgeWriteOut(msg_id=3, pin=Pin(V, 4), values=("on",)),
    RtcReply(msg_id=8, seconds=1_700_000_000),
    UtcReply(msg_id=9, query="tz", values=("120", "60")),
    MetadataReply(msg_id=10, name="Serial Number", value="SN-1"),
    InternalPush(name="acon"),
    InternalPush(name="ota", args=("https://example.com/fw.bin",)),
    InternalPush(name="dbg", args=("reboot",)),
    ServerPing(),
    Redirect(host="pinbase.example", port=8442),
    DebugPrint(text='Unknown datastream "Foo"'),
]


def decode(data: bytes) -> Frame:
    """The one frame in ``data``."""
    decoder = FrameDecoder()
    decoder.feed(data)
    frame = decoder.next_frame()
    assert frame is not None
    assert decoder.buffered == 0
    return frame


@pytest.mark.parametrize("message", DEVICE_MESSAGES, ids=repr)
def test_device_messages_round_trip(message: Message) -> None:
    """A device message encodes to one frame that the server decodes back to the same event."""
    frame = decode(encode_frame(encode_device_message(message)))
    parsed = parse_login(frame) if isinstance(message, Login) else parse_device_frame(frame)
    assert parsed == message


@pytest.mark.parametrize("message", SERVER_MESSAGES, ids=repr)
def test_server_messages_round_trip(message: Outbound) -> None:
    """A server message encodes to one frame that a device reads back to the same message."""
    pushes = InternalPush | ServerPing | Redirect | DebugPrint
    msg_id = 1 if isinstance(message, pushes) else message.msg_id
    assert msg_id is not None
    frame = decode(encode_frame(encode_server_message(message, msg_id=msg_id)))
    assert parse_server_frame(frame) == message


@pytest.mark.parametrize(
    ("body", "event"),
    [
        (b"vw\x005\x0042\x00x", HardwareWrite(msg_id=3, pin=Pin(V, 5), values=("42", "x"))),
        (
            b"vw\x007\x001.5000000\x00two",
            HardwareWrite(msg_id=3, pin=Pin(V, 7), values=("1.5000000", "two")),
        ),
        (b"vw\x00007\x001", HardwareWrite(msg_id=3, pin=Pin(V, 7), values=("1",))),
        (b"vw\x005\x00a\x00\x00", HardwareWrite(msg_id=3, pin=Pin(V, 5), values=("a", ""))),
    ],
)
def test_hardware_bodies_from_the_spec(body: bytes, event: HardwareWrite) -> None:
    """Multi-value writes keep every value as text, untouched (§1.3, §1.10.1)."""
    assert parse_device_frame(Frame(command=Command.HARDWARE, msg_id=3, body=body)) == event


def test_multi_pin_set_property_takes_leading_numbers_as_pins() -> None:
    """``0 1 2 isDisabled true`` sets the property on V0, V1 and V2 (§1.10.4)."""
    frame = Frame(command=Command.PROPERTY, msg_id=6, body=b"0\x001\x002\x00isDisabled\x00true")
    assert parse_device_frame(frame) == SetProperty(
        msg_id=6, pins=(Pin(V, 0), Pin(V, 1), Pin(V, 2)), name="isDisabled", values=("true",)
    )


def test_info_with_a_dangling_key_keeps_the_pairs() -> None:
    """An odd element count drops the last key, which has no value (§1.7.1: parse generically)."""
    frame = Frame(command=Command.INTERNAL, msg_id=2, body=b"ver\x000.2.0\x00h-beat")
    assert parse_device_frame(frame) == DeviceInfo(msg_id=2, fields=(("ver", "0.2.0"),))


def test_info_starting_with_mcu_is_an_info_message() -> None:
    """C++ Arduino 1.3+ starts its info with ``mcu``, which the legacy server missed (§1.7.1)."""
    frame = Frame(command=Command.INTERNAL, msg_id=2, body=b"mcu\x000.0.0\x00h-beat\x0045")
    event = parse_device_frame(frame)
    assert isinstance(event, DeviceInfo)
    assert event.heartbeat == 45


@pytest.mark.parametrize(
    ("command", "body", "status"),
    [
        (Command.HARDWARE, b"", Status.ILLEGAL_COMMAND),
        (Command.HARDWARE, b"vw\x005", Status.ILLEGAL_COMMAND),
        (Command.HARDWARE, b"vw\x005\x00", Status.ILLEGAL_COMMAND),
        (Command.HARDWARE, b"vw\x00256\x001", Status.ILLEGAL_COMMAND),
        (Command.HARDWARE, b"vw\x00x\x001", Status.ILLEGAL_COMMAND),
        (Command.HARDWARE, b"vw\x00-1\x001", Status.ILLEGAL_COMMAND),
        (Command.HARDWARE, b"vw\x001000\x001", Status.ILLEGAL_COMMAND),
        (Command.HARDWARE, b"vr\x001\x002", Status.ILLEGAL_COMMAND),
        (Command.HARDWARE, b"pm\x001\x00out", Status.ILLEGAL_COMMAND),
        (Command.HARDWARE, b"vw\x001\x00\xff", Status.ILLEGAL_COMMAND),
        (Command.HARDWARE_SYNC, b"vr", Status.ILLEGAL_COMMAND),
        (Command.HARDWARE_SYNC, b"vw\x001", Status.ILLEGAL_COMMAND),
        (Command.HARDWARE_SYNC, b"vr\x00a", Status.ILLEGAL_COMMAND),
        (Command.PROPERTY, b"5\x00label", Status.ILLEGAL_COMMAND_BODY),
        (Command.PROPERTY, b"5\x00label\x00", Status.ILLEGAL_COMMAND_BODY),
        (Command.PROPERTY, b"label\x00x", Status.ILLEGAL_COMMAND_BODY),
        (Command.PROPERTY, b"5\x00\x00x", Status.ILLEGAL_COMMAND_BODY),
        (Command.PROPERTY, b"5\x00label\x00\x00", Status.ILLEGAL_COMMAND_BODY),
        (Command.PROPERTY, b"256\x00label\x00x", Status.ILLEGAL_COMMAND_BODY),
        (Command.PROPERTY, b"1\x002\x003", Status.ILLEGAL_COMMAND_BODY),
        (Command.INTERNAL, b"", Status.ILLEGAL_COMMAND),
        (Command.INTERNAL, b"\x00x", Status.ILLEGAL_COMMAND),
        (Command.INTERNAL, b"utc\x00\x00", Status.ILLEGAL_COMMAND),
        (Command.INTERNAL, b"meta\x00get\x00\x00", Status.ILLEGAL_COMMAND),
        (Command.EVENT_LOG, b"", Status.ILLEGAL_COMMAND),
        (Command.EVENT_LOG, b"a\x00b\x00c", Status.ILLEGAL_COMMAND),
        (Command.EVENT_LOG, b"\x00description", Status.ILLEGAL_COMMAND),
        (Command.EVENT_CLEAR, b"", Status.ILLEGAL_COMMAND),
        (Command.EVENT_CLEAR, b"code\x00some", Status.ILLEGAL_COMMAND),
        (Command.NOTIFY, b"", Status.NOTIFICATION_INVALID_BODY),
        (Command.NOTIFY, b"a\x00b", Status.NOTIFICATION_INVALID_BODY),
        (Command.TWEET, b"", Status.NOTIFICATION_INVALID_BODY),
        (Command.SMS, b"", Status.NOTIFICATION_INVALID_BODY),
        (Command.EMAIL, b"only", Status.NOTIFICATION_INVALID_BODY),
        (Command.EMAIL, b"a\x00b\x00c\x00d", Status.NOTIFICATION_INVALID_BODY),
        (Command.EMAIL, b"\x00subject\x00body", Status.NOTIFICATION_INVALID_BODY),
        (Command.GROUP, b"x", Status.ILLEGAL_COMMAND),
        (Command.GROUP, b"t\x00soon", Status.ILLEGAL_COMMAND),
        (Command.GROUP, b"t\x001234567890123456", Status.ILLEGAL_COMMAND),
        (Command.BRIDGE, b"1\x00i", Status.ILLEGAL_COMMAND),
        (Command.BRIDGE, b"1\x00x\x00y", Status.ILLEGAL_COMMAND),
        (Command.BRIDGE, b"999\x00i\x00token", Status.ILLEGAL_COMMAND),
        (Command.BRIDGE, b"1\x00vw\x001", Status.ILLEGAL_COMMAND),
        (Command.REDIRECT, b"host\x00port", Status.ILLEGAL_COMMAND),
        (Command.DEBUG_PRINT, b"text", Status.ILLEGAL_COMMAND),
        (99, b"anything", Status.ILLEGAL_COMMAND),
    ],
)
def test_bad_bodies_are_rejected_with_the_spec_status(
    command: int, body: bytes, status: Status
) -> None:
    """A body that does not parse becomes Rejected with its command's status; nothing raises."""
    event = parse_device_frame(Frame(command=command, msg_id=7, body=body))
    assert isinstance(event, Rejected)
    assert (event.msg_id, event.command, event.status) == (7, command, status)
    assert event.reason


@pytest.mark.parametrize(
    ("body", "token"),
    [(b"A" * 32, "A" * 32), (b" tok \r\n", "tok"), (b"t" * MAX_TOKEN_BYTES, "t" * MAX_TOKEN_BYTES)],
)
def test_login_token_is_trimmed(body: bytes, token: str) -> None:
    """Surrounding whitespace is trimmed, and tokens up to 64 bytes are accepted (§1.13 #15)."""
    assert parse_login(Frame(command=Command.LOGIN, msg_id=1, body=body)) == Login(
        msg_id=1, token=token, command=Command.LOGIN
    )


@pytest.mark.parametrize(
    "body", [b"", b"   ", b"t" * (MAX_TOKEN_BYTES + 1), b"to\x00ken", b"\xff" * 4]
)
def test_malformed_tokens_are_invalid_tokens(body: bytes) -> None:
    """An empty, too long, NUL-holding or non-UTF-8 token is answered INVALID_TOKEN (§1.8.1)."""
    event = parse_login(Frame(command=Command.HW_LOGIN, msg_id=1, body=body))
    assert isinstance(event, Rejected)
    assert event.status == Status.INVALID_TOKEN


def test_tokens_stay_out_of_repr() -> None:
    """A logged event never shows its token."""
    assert TOKEN not in repr(Login(msg_id=1, token=TOKEN))
    assert TOKEN not in repr(BridgeInit(msg_id=1, channel=1, token=TOKEN))


@pytest.mark.parametrize(
    ("command", "body"),
    [
        (Command.PING, b"x"),
        (Command.REDIRECT, b"host"),
        (Command.REDIRECT, b"host\x00http"),
        (Command.REDIRECT, b"host\x0070000"),
        (Command.PROPERTY, b"5\x00label\x00x"),
        (Command.HARDWARE, b"pm\x001\x00out"),
        (Command.HARDWARE, b"vw\x00999\x00x"),
        (Command.BRIDGE, b"vr\x001"),
        (Command.INTERNAL, b"vfs\x00ls"),
        (Command.INTERNAL, b"rtc\x00soon"),
        (Command.INTERNAL, b""),
    ],
)
def test_device_side_refuses_what_a_server_never_sends(command: Command, body: bytes) -> None:
    """``parse_server_frame`` raises ProtocolError for frames outside the server's vocabulary."""
    with pytest.raises(ProtocolError):
        parse_server_frame(Frame(command=command, msg_id=1, body=body))
