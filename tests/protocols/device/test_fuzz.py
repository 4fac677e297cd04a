"""Hypothesis: any bytes give events, NEED_DATA or ProtocolError; valid messages round-trip."""

import contextlib
from dataclasses import replace

from hypothesis import assume, given
from hypothesis import strategies as st

from pinbase.domain.pins import MAX_PIN, Pin, PinType
from pinbase.protocols.device import (
    NEED_DATA,
    ConnectionClosed,
    DeviceConnection,
    Login,
    Message,
    Outbound,
    ProtocolError,
    Rejected,
    Response,
    Sentinel,
    State,
    Status,
    Undeliverable,
)
from pinbase.protocols.device import events as ev
from pinbase.protocols.device import outbound as out
from pinbase.protocols.device.client import encode_device_message, parse_server_frame
from pinbase.protocols.device.frames import Command, FrameDecoder, encode_frame

TOKEN = b"A" * 32
LOGIN = bytes([Command.HW_LOGIN, 0, 1, 0, len(TOKEN)]) + TOKEN
INFO_BODY = b"ver\x001.4.0\x00buff-in\x0065540"
INFO = bytes([Command.INTERNAL, 0, 2, 0, len(INFO_BODY)]) + INFO_BODY

# --- raw input ----------------------------------------------------------------------------

element = st.one_of(
    st.sampled_from(["vw", "vr", "dw", "ar", "pm", "t", "b", "e", "i", "all", "rtc", "sync"]),
    st.sampled_from(["utc", "time", "meta", "get", "set", "ver", "h-beat", "buff-in", "dev"]),
    st.integers(min_value=0, max_value=300).map(str),
    st.text(max_size=6),
)
body = st.one_of(
    st.binary(max_size=64),
    st.lists(element, max_size=6).map(lambda parts: "\0".join(parts).encode("utf-8", "replace")),
)


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    """A well-framed device frame with a plausible or random command and body."""
    command = draw(st.one_of(st.sampled_from(list(Command)), st.integers(0, 255)))
    msg_id = draw(st.integers(0, 0xFFFF))
    if command == Command.RESPONSE:
        return bytes([0]) + msg_id.to_bytes(2, "big") + draw(st.binary(min_size=2, max_size=2))
    data = draw(body)
    return bytes([command]) + msg_id.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data


streams = st.one_of(
    st.binary(max_size=512),
    st.lists(frames(), max_size=12).map(lambda fs: LOGIN + b"".join(fs)),
    st.lists(st.one_of(frames(), st.binary(max_size=8)), max_size=12).map(
        lambda fs: LOGIN + INFO + b"".join(fs)
    ),
)


@st.composite
def chunked(draw: st.DrawFn) -> list[bytes]:
    """A stream cut into non-empty chunks at random places."""
    data = draw(streams)
    cuts = sorted(draw(st.lists(st.integers(1, max(len(data), 1)), max_size=8)))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    return [piece for piece in pieces if piece]


@given(st.binary(max_size=1024))
def test_decoder_only_ever_raises_protocol_error(data: bytes) -> None:
    """Random bytes decode into frames until NEED_DATA, or raise ProtocolError."""
    decoder = FrameDecoder()
    decoder.feed(data)
    try:
        while decoder.next_frame(max_body=256) is not None:
            pass
    except ProtocolError:
        pass


def drive(connection: DeviceConnection) -> None:
    """Drain events, answering each the way a transport would, until NEED_DATA or the end."""
    while (event := connection.next_event()) is not NEED_DATA:
        assert not isinstance(event, Sentinel)
        if isinstance(event, ConnectionClosed):
            return
        if connection.state is State.LOGGING_IN:
            status = Status.OK if isinstance(event, Login) else Status.INVALID_TOKEN
            connection.send(Response(msg_id=event.msg_id, status=status))
        elif isinstance(event, Rejected):
            connection.send(Response(msg_id=event.msg_id, status=event.status))
        elif isinstance(event, ev.Ping | ev.DeviceInfo | ev.SetProperty | ev.Notify):
            connection.send(Response(msg_id=event.msg_id, status=Status.OK))
        elif isinstance(event, ev.Sync):
            with contextlib.suppress(Undeliverable):  # a fuzzed buff-in may be tiny
                connection.send(out.HardwareWriteOut(msg_id=event.msg_id, pin=P0, values=("1",)))


@given(chunked(), st.booleans())
def test_connection_only_ever_raises_protocol_error(chunks: list[bytes], close: bool) -> None:
    """Whatever a device sends, in whatever pieces, only ProtocolError escapes."""
    connection = DeviceConnection(max_body_size=128)
    try:
        for chunk in chunks:
            connection.receive_data(chunk)
            drive(connection)
        if close:
            connection.receive_data(b"")
            drive(connection)
    except ProtocolError:
        assert connection.state is State.CLOSED


# --- valid messages -----------------------------------------------------------------------

text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0"), max_size=12)
word = text.filter(bool)
values = st.lists(text, min_size=1, max_size=4).map(tuple)
msg_id = st.integers(0, 0xFFFF)
kinds = st.sampled_from(list(PinType))
pin = st.builds(Pin, kinds, st.integers(0, MAX_PIN))
vpin = st.builds(Pin, st.just(PinType.VIRTUAL), st.integers(0, MAX_PIN))
P0 = Pin(PinType.VIRTUAL, 0)


@st.composite
def sync_pins(draw: st.DrawFn) -> tuple[Pin, ...] | None:
    """None (sync all) or pins of one kind."""
    kind = draw(kinds)
    numbers = draw(st.lists(st.integers(0, MAX_PIN), max_size=5))
    return tuple(Pin(kind, n) for n in numbers) if numbers else None


def attempt(factory: type, **fields: st.SearchStrategy[object]) -> st.SearchStrategy[Message]:
    """``factory(**drawn)``, skipping draws its validation refuses."""

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        drawn = {name: draw(strategy) for name, strategy in fields.items()}
        try:
            message: Message = factory(**drawn)
        except ValueError:
            assume(False)
            raise  # pragma: no cover (assume(False) never returns)
        return message

    return build()


device_messages = st.one_of(
    attempt(ev.Ping, msg_id=msg_id),
    attempt(Response, msg_id=msg_id, status=st.integers(0, 0xFFFF)),
    attempt(ev.HardwareWrite, msg_id=msg_id, pin=pin, values=values),
    attempt(ev.HardwareRead, msg_id=msg_id, pin=pin),
    attempt(ev.Sync, msg_id=msg_id, pins=sync_pins()),
    attempt(
        ev.SetProperty,
        msg_id=msg_id,
        pins=st.lists(vpin, min_size=1, max_size=3).map(tuple),
        name=word,
        values=values,
    ),
    attempt(
        ev.DeviceInfo,
        msg_id=msg_id,
        fields=st.tuples(
            st.tuples(st.sampled_from(sorted(ev.INFO_KEYS)), text),
            *[st.tuples(text, text)] * 2,
        ),
    ),
    attempt(ev.RtcSync, msg_id=msg_id),
    attempt(ev.UtcRequest, msg_id=msg_id, query=word),
    attempt(ev.MetadataGet, msg_id=msg_id, name=word),
    attempt(ev.MetadataSet, msg_id=msg_id, name=word, value=text),
    attempt(ev.Internal, msg_id=msg_id, name=word, args=st.lists(text, max_size=3).map(tuple)),
    attempt(ev.LogEvent, msg_id=msg_id, code=word, description=st.none() | text),
    attempt(ev.ResolveEvent, msg_id=msg_id, code=word, resolve_all=st.booleans()),
    attempt(ev.Notify, msg_id=msg_id, text=word),
    attempt(ev.Tweet, msg_id=msg_id, text=word),
    attempt(ev.Sms, msg_id=msg_id, text=word),
    attempt(ev.Email, msg_id=msg_id, to=st.none() | word, subject=text, body=text),
    attempt(ev.GroupBegin, msg_id=msg_id, timestamp_ms=st.none() | st.integers(0, 10**15 - 1)),
    attempt(ev.GroupEnd, msg_id=msg_id),
    attempt(ev.BridgeInit, msg_id=msg_id, channel=st.integers(0, MAX_PIN), token=word),
    attempt(ev.BridgeWrite, msg_id=msg_id, channel=st.integers(0, MAX_PIN), pin=pin, values=values),
)

reply_id = st.none() | st.integers(1, 0xFFFF)
server_messages: st.SearchStrategy[Outbound] = st.one_of(
    st.builds(
        Response,
        msg_id=st.integers(1, 0xFFFF),
        status=st.sampled_from([s for s in Status if s is not Status.NOT_AUTHENTICATED]),
    ),
    st.builds(out.HardwareWriteOut, pin=pin, values=values, msg_id=reply_id),
    st.builds(out.HardwareReadOut, pin=pin, msg_id=reply_id),
    st.builds(out.BridgeWriteOut, pin=pin, values=values, msg_id=reply_id),
    st.builds(out.RtcReply, msg_id=st.integers(1, 0xFFFF), seconds=st.integers(0, 2**40)),
    st.builds(out.UtcReply, msg_id=st.integers(1, 0xFFFF), query=word, values=values),
    st.builds(out.MetadataReply, msg_id=st.integers(1, 0xFFFF), name=word, value=text),
    st.builds(
        out.InternalPush,
        name=st.sampled_from(sorted(out.INTERNAL_PUSHES)),
        args=st.lists(text, max_size=3).map(tuple),
    ),
)


def ready() -> DeviceConnection:
    """A logged-in connection whose device accepts the largest frames."""
    connection = DeviceConnection()
    connection.receive_data(LOGIN + INFO)
    connection.next_event()
    connection.send(Response(msg_id=1, status=Status.OK))
    connection.next_event()
    connection.send(Response(msg_id=2, status=Status.OK))
    assert connection.state is State.READY
    return connection


@given(device_messages)
def test_device_messages_round_trip_through_the_connection(message: Message) -> None:
    """Any valid device message, encoded as a client would, comes out as the same event."""
    connection = ready()
    connection.receive_data(encode_frame(encode_device_message(message)))
    assert connection.next_event() == message
    assert connection.next_event() is NEED_DATA


@given(word.filter(lambda t: t == t.strip() and len(t.encode()) <= 64), st.booleans())
def test_logins_round_trip(token: str, legacy: bool) -> None:
    """Any well-formed token logs in with either command."""
    command = Command.LOGIN if legacy else Command.HW_LOGIN
    login = Login(msg_id=1, token=token, command=command)
    connection = DeviceConnection()
    connection.receive_data(encode_frame(encode_device_message(login)))
    assert connection.next_event() == login


@given(server_messages)
def test_server_messages_round_trip_through_the_connection(message: Outbound) -> None:
    """Any valid server message is sent as one frame a device reads back as the same message."""
    connection = ready()
    try:
        data = connection.send(message)
    except Undeliverable:
        return
    decoder = FrameDecoder()
    decoder.feed(data)
    frame = decoder.next_frame(max_body=0xFFFF)
    assert frame is not None
    assert decoder.buffered == 0
    received = parse_server_frame(frame)
    if not isinstance(message, Response | out.InternalPush) and message.msg_id is None:
        message = replace(message, msg_id=frame.msg_id)
    assert received == message
