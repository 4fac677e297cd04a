"""The server's device connection: login sequence, answers, pushes and bad input (spec §1.8)."""

from collections.abc import Callable

import pytest

from pinbase.domain.pins import Pin, PinType
from pinbase.protocols.device import (
    NEED_DATA,
    ClientLibrary,
    ConnectionClosed,
    DeviceConnection,
    DeviceInfo,
    Event,
    GroupBegin,
    GroupEnd,
    HardwareWrite,
    HardwareWriteOut,
    LocalProtocolError,
    LogEvent,
    Login,
    MetadataGet,
    MetadataReply,
    Notify,
    Ping,
    ProtocolError,
    Rejected,
    Response,
    RtcReply,
    RtcSync,
    Sentinel,
    SetProperty,
    State,
    Status,
    Sync,
    UtcReply,
    UtcRequest,
)
from pinbase.protocols.device.frames import MAX_LOGIN_BODY, Command

Recording = list[tuple[str, bytes]]
V = PinType.VIRTUAL
TOKEN = b"A" * 32
OK_1 = bytes.fromhex("00 00 01 00 c8")
BLYNKLIB_INFO = b"ver\x000.2.6\x00buff-in\x001024\x00h-beat\x0010\x00dev\x00python"
CPP_INFO = b"ver\x001.4.0\x00h-beat\x0040\x00buff-in\x004096\x00dev\x00Linux\x00"


def frame(command: int, msg_id: int, body: bytes = b"") -> bytes:
    """One device frame."""
    return bytes([command]) + msg_id.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


def events(connection: DeviceConnection) -> list[Event]:
    """Every event decodable now: up to NEED_DATA, the end, or a login awaiting its answer."""
    found: list[Event] = []
    while (event := connection.next_event()) is not NEED_DATA:
        assert not isinstance(event, Sentinel)
        found.append(event)
        if isinstance(event, ConnectionClosed) or connection.state is State.LOGGING_IN:
            break
    return found


def logged_in(
    *, command: Command = Command.HW_LOGIN, info: bytes | None = CPP_INFO
) -> DeviceConnection:
    """A connection past login and, when ``info`` is given, past the answered info message."""
    connection = DeviceConnection()
    connection.receive_data(frame(command, 1, TOKEN))
    assert events(connection) == [Login(msg_id=1, token=TOKEN.decode(), command=command)]
    assert connection.send(Response(msg_id=1, status=Status.OK)) == OK_1
    if info is not None:
        connection.receive_data(frame(Command.INTERNAL, 2, info))
        assert isinstance(connection.next_event(), DeviceInfo)
        connection.send(Response(msg_id=2, status=Status.OK))
        assert connection.state is State.READY
    return connection


Stored = dict[int, dict[Pin, tuple[str, ...]]]
"""Stored values by the msg id of the sync request they answer, as in the recordings."""

CPP_STORED: Stored = {
    3: {Pin(V, 1): ("all1",), Pin(V, 2): ("all2",)},
    4: {Pin(V, 1): ("one1",), Pin(V, 2): ("one2",)},
}
PYTHON_STORED: Stored = {4: {Pin(V, 1): ("stored1",), Pin(V, 2): ("stored2",)}}


def answer(connection: DeviceConnection, event: Event, stored: Stored | None = None) -> list[bytes]:
    """What a transport following the spec writes for ``event``, one frame per element."""
    reply: list[bytes] = []
    match event:
        case Login() | DeviceInfo() | Ping() | SetProperty() | Notify() | LogEvent():
            reply.append(connection.send(Response(msg_id=event.msg_id, status=Status.OK)))
        case Sync(msg_id=msg_id, pins=pins):
            for pin, values in (stored or {}).get(msg_id, {}).items():
                if pins is None or pin in pins:
                    out = HardwareWriteOut(msg_id=msg_id, pin=pin, values=values)
                    reply.append(connection.send(out))
        case RtcSync(msg_id=msg_id):
            reply.append(connection.send(RtcReply(msg_id=msg_id, seconds=1_700_000_000)))
        case UtcRequest(msg_id=msg_id, query="time"):
            utc = UtcReply(msg_id=msg_id, query="time", values=("1700000000123",))
            reply.append(connection.send(utc))
        case MetadataGet(msg_id=msg_id, name=name):
            reply.append(connection.send(MetadataReply(msg_id=msg_id, name=name, value="SN-1")))
        case Rejected(msg_id=msg_id, status=status):
            reply.append(connection.send(Response(msg_id=msg_id, status=status)))
    return reply


def replay(
    connection: DeviceConnection, conversation: Recording, stored: Stored | None = None
) -> None:
    """Feed each device frame and check the answers are exactly the recorded server frames."""
    expected: list[bytes] = []
    written: list[bytes] = []
    for direction, data in conversation:
        if direction == "<":
            expected.append(data)
            continue
        connection.receive_data(data)
        for event in events(connection):
            written.extend(answer(connection, event, stored))
    assert written == expected


@pytest.mark.parametrize(
    ("name", "client", "stored"),
    [
        ("cpp_connect", ClientLibrary.CPP, CPP_STORED),
        ("blynklib_connect", ClientLibrary.BLYNKLIB, PYTHON_STORED),
        ("blynk_library_python_connect", ClientLibrary.BLYNK_LIBRARY_PYTHON, PYTHON_STORED),
    ],
)
def test_recorded_conversations_get_the_recorded_answers(
    name: str, client: ClientLibrary, stored: Stored, recording: Callable[[str], Recording]
) -> None:
    """Each client's recorded session, replayed, gets byte-identical answers (§3)."""
    connection = DeviceConnection()
    replay(connection, recording(name), stored)
    assert connection.state is State.READY
    assert connection.client is client


def test_cpp_commands_get_the_recorded_answers(recording: Callable[[str], Recording]) -> None:
    """Property, events, rtc, utc, meta and group frames of §3.1 get the recorded answers."""
    replay(logged_in(), recording("cpp_commands"))


@pytest.mark.parametrize("command", [Command.LOGIN, Command.HW_LOGIN])
def test_both_login_forms_are_accepted(command: Command) -> None:
    """LOGIN 2 and HW_LOGIN 29 both get ``00 00 01 00 c8`` (§1.13 #1, §4.1 item 5)."""
    connection = logged_in(command=command, info=None)
    assert connection.state is State.AWAIT_INFO
    assert connection.login_command is command


def test_invalid_token_is_answered_then_closed() -> None:
    """An unknown token gets RESPONSE 9, and the connection is closed after it (§1.8.1)."""
    connection = DeviceConnection()
    connection.receive_data(frame(Command.HW_LOGIN, 1, TOKEN))
    events(connection)
    assert connection.send(Response(msg_id=1, status=Status.INVALID_TOKEN)) == bytes.fromhex(
        "00 00 01 00 09"
    )
    assert connection.state is State.CLOSED
    assert connection.next_event() == ConnectionClosed()
    connection.receive_data(frame(Command.PING, 2))  # ignored once closed
    assert connection.next_event() == ConnectionClosed()


def test_malformed_token_is_rejected_and_cannot_be_accepted() -> None:
    """A token with NUL becomes Rejected 9; accepting it anyway is a local error."""
    connection = DeviceConnection()
    connection.receive_data(frame(Command.LOGIN, 1, b"to\x00ken"))
    (event,) = events(connection)
    assert isinstance(event, Rejected)
    assert event.status == Status.INVALID_TOKEN
    with pytest.raises(LocalProtocolError):
        connection.send(Response(msg_id=1, status=Status.OK))
    connection.send(Response(msg_id=1, status=event.status))
    assert connection.state is State.CLOSED


@pytest.mark.parametrize(
    "response",
    [Response(msg_id=2, status=Status.OK), Response(msg_id=1, status=Status.ALREADY_REGISTERED)],
)
def test_login_answer_must_echo_the_id_and_use_200(response: Response) -> None:
    """The login answer echoes the login's id and is 200, never 4 (§1.13 #9)."""
    connection = DeviceConnection()
    connection.receive_data(frame(Command.HW_LOGIN, 1, TOKEN))
    events(connection)
    with pytest.raises(LocalProtocolError):
        connection.send(response)


def test_reading_on_before_answering_the_login_is_a_local_error() -> None:
    """The transport must answer the login before it reads the next event."""
    connection = DeviceConnection()
    connection.receive_data(frame(Command.HW_LOGIN, 1, TOKEN) + frame(Command.PING, 2))
    connection.next_event()
    with pytest.raises(LocalProtocolError):
        connection.next_event()


@pytest.mark.parametrize(
    "data",
    [b"GET / HTTP/1.1\r\n", b"\x16\x03\x01", frame(Command.PING, 1), frame(Command.RESPONSE, 1)],
)
def test_anything_but_a_login_first_is_a_protocol_error(data: bytes) -> None:
    """HTTP, a TLS hello or any other command before login closes the connection (§1.8.1)."""
    connection = DeviceConnection()
    connection.receive_data(data[:1])
    with pytest.raises(ProtocolError):
        connection.next_event()
    assert connection.state is State.CLOSED
    assert connection.next_event() == ConnectionClosed()


def test_oversize_login_is_a_protocol_error() -> None:
    """A first frame longer than MAX_LOGIN_BODY is refused from its header alone."""
    connection = DeviceConnection()
    connection.receive_data(frame(Command.LOGIN, 1, b"x" * (MAX_LOGIN_BODY + 1))[:5])
    with pytest.raises(ProtocolError):
        connection.next_event()


def test_long_token_within_the_login_cap_is_an_invalid_token() -> None:
    """A 100-byte token fits the frame cap but not the token rule: RESPONSE 9, not a crash."""
    connection = DeviceConnection()
    connection.receive_data(frame(Command.LOGIN, 1, b"x" * 100))
    (event,) = events(connection)
    assert isinstance(event, Rejected)
    assert event.status == Status.INVALID_TOKEN


def test_ping_is_answered_200_with_its_id() -> None:
    """PING gets ``RESPONSE(id, 200)`` (§1.9, §4.1 item 5)."""
    connection = logged_in()
    connection.receive_data(frame(Command.PING, 0x65))
    (ping,) = events(connection)
    assert answer(connection, ping) == [bytes.fromhex("00 00 65 00 c8")]


def test_request_with_id_0_is_accepted_but_never_answered_with_id_0() -> None:
    """Id 0 from ``blynklib``'s wrapped counter is accepted; its RESPONSE is not sent (§1.2)."""
    connection = logged_in()
    connection.receive_data(frame(Command.PING, 0))
    assert connection.next_event() == Ping(msg_id=0)
    assert connection.send(Response(msg_id=0, status=Status.OK)) == b""


def test_sync_answer_to_id_0_takes_a_fresh_id() -> None:
    """A HARDWARE answer to a sync numbered 0 is renumbered rather than sent with id 0."""
    connection = logged_in()
    data = connection.send(HardwareWriteOut(msg_id=0, pin=Pin(V, 1), values=("x",)))
    assert data[1:3] == b"\x00\x01"


def test_hardware_write_with_several_values_gets_no_answer() -> None:
    """``vw 5 42 x`` is one event with two values; success is not answered (§1.10.1)."""
    connection = logged_in()
    connection.receive_data(frame(Command.HARDWARE, 3, b"vw\x005\x0042\x00x"))
    (event,) = events(connection)
    assert event == HardwareWrite(msg_id=3, pin=Pin(V, 5), values=("42", "x"))
    assert answer(connection, event) == []


@pytest.mark.parametrize(
    ("body", "pins"),
    [
        (b"", None),
        (b"vr\x001", (Pin(V, 1),)),
        (b"vr\x001\x002", (Pin(V, 1), Pin(V, 2))),
        (b"dr\x0013", (Pin(PinType.DIGITAL, 13),)),
    ],
)
def test_sync_forms(body: bytes, pins: tuple[Pin, ...] | None) -> None:
    """Empty body is sync-all, ``vr``/``dr`` list the pins (§1.10.3)."""
    connection = logged_in()
    connection.receive_data(frame(Command.HARDWARE_SYNC, 4, body))
    assert events(connection) == [Sync(msg_id=4, pins=pins)]


def test_sync_answers_reuse_the_request_id() -> None:
    """HARDWARE answers to a sync carry the sync's msg id (§4.1 item 5)."""
    connection = logged_in()
    out = connection.send(HardwareWriteOut(msg_id=4, pin=Pin(V, 1), values=("stored1",)))
    assert out == bytes.fromhex("14 00 04 00 0c") + b"vw\x001\x00stored1"


def test_multi_pin_set_property_is_one_event_and_answered_200() -> None:
    """``0 1 2 isDisabled true`` is one SetProperty over three pins (§1.10.4)."""
    connection = logged_in()
    connection.receive_data(frame(Command.PROPERTY, 5, b"0\x001\x002\x00isDisabled\x00true"))
    (event,) = events(connection)
    assert event == SetProperty(
        msg_id=5, pins=(Pin(V, 0), Pin(V, 1), Pin(V, 2)), name="isDisabled", values=("true",)
    )
    assert answer(connection, event) == [bytes.fromhex("00 00 05 00 c8")]


def test_group_begin_and_end() -> None:
    """``b``, ``t <ms>`` and ``e`` are group events with no answer (§1.10.5)."""
    connection = logged_in()
    connection.receive_data(
        frame(Command.GROUP, 11, b"b")
        + frame(Command.GROUP, 12, b"t\x001700000000000")
        + frame(Command.GROUP, 13, b"e")
    )
    assert events(connection) == [
        GroupBegin(msg_id=11),
        GroupBegin(msg_id=12, timestamp_ms=1_700_000_000_000),
        GroupEnd(msg_id=13),
    ]


def test_device_response_is_an_event() -> None:
    """A device's RESPONSE (C++ HEAD answering a ``vr`` push with 2) is reported, not answered."""
    connection = logged_in()
    connection.receive_data(bytes.fromhex("00 00 66 00 02"))
    assert events(connection) == [Response(msg_id=0x66, status=Status.ILLEGAL_COMMAND)]


def test_unknown_command_is_rejected_and_the_stream_goes_on() -> None:
    """Command 99 becomes Rejected 2, its body is skipped and the next frame decodes (§1.4)."""
    connection = logged_in()
    connection.receive_data(frame(99, 7, b"\x00\x01garbage") + frame(Command.PING, 8))
    rejected, ping = events(connection)
    assert isinstance(rejected, Rejected)
    assert (rejected.command, rejected.status) == (99, Status.ILLEGAL_COMMAND)
    assert answer(connection, rejected) == [bytes.fromhex("00 00 07 00 02")]
    assert ping == Ping(msg_id=8)


def test_second_login_is_already_registered() -> None:
    """A login on a logged-in connection is answered 4 and changes nothing (§1.8.1)."""
    connection = logged_in()
    connection.receive_data(frame(Command.LOGIN, 9, TOKEN))
    (event,) = events(connection)
    assert isinstance(event, Rejected)
    assert event.status == Status.ALREADY_REGISTERED
    assert connection.send(Response(msg_id=9, status=event.status)) == bytes.fromhex(
        "00 00 09 00 04"
    )
    assert connection.state is State.READY


def test_oversize_frame_after_login_is_a_protocol_error() -> None:
    """A length above the connection's cap closes it (§1.2 rule 4)."""
    connection = DeviceConnection(max_body_size=1000)
    connection.receive_data(frame(Command.HW_LOGIN, 1, TOKEN))
    events(connection)
    connection.send(Response(msg_id=1, status=Status.OK))
    connection.receive_data(bytes.fromhex("14 00 02 03 e9"))
    with pytest.raises(ProtocolError):
        connection.next_event()
    assert connection.state is State.CLOSED


def test_split_and_coalesced_frames_across_receive_calls() -> None:
    """Frames split over calls and several frames in one call decode the same (§4.1 item 5)."""
    stream = (
        frame(Command.HW_LOGIN, 1, TOKEN)
        + frame(Command.PING, 2)
        + frame(Command.HARDWARE, 3, b"vw\x000\x0010")
        + frame(Command.PING, 4)
    )
    connection = DeviceConnection()
    found: list[Event] = []
    for start in range(0, len(stream), 3):
        connection.receive_data(stream[start : start + 3])
        for event in events(connection):
            found.append(event)
            if isinstance(event, Login):
                connection.send(Response(msg_id=1, status=Status.OK))
    assert found[1:] == [
        Ping(msg_id=2),
        HardwareWrite(msg_id=3, pin=Pin(V, 0), values=("10",)),
        Ping(msg_id=4),
    ]


def test_end_of_stream_is_connection_closed() -> None:
    """``receive_data(b"")`` ends the stream: remaining frames, then ConnectionClosed."""
    connection = logged_in()
    connection.receive_data(frame(Command.PING, 3))
    connection.receive_data(b"")
    connection.receive_data(b"")
    assert events(connection) == [Ping(msg_id=3), ConnectionClosed()]
    assert connection.state is State.CLOSED
    assert connection.next_event() == ConnectionClosed()


def test_end_of_stream_inside_a_frame_is_a_protocol_error() -> None:
    """A stream that stops mid-frame is malformed."""
    connection = logged_in()
    connection.receive_data(frame(Command.PING, 3)[:3])
    connection.receive_data(b"")
    with pytest.raises(ProtocolError):
        connection.next_event()


def test_data_after_end_of_stream_is_a_local_error() -> None:
    """Feeding bytes after ``b""`` is a bug in the transport."""
    connection = DeviceConnection()
    connection.receive_data(b"")
    with pytest.raises(LocalProtocolError):
        connection.receive_data(b"x")
