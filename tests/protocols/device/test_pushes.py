"""What the server sends: held pushes, buff-in limits, message ids and client quirks (§1.11, §3)."""

from collections.abc import Callable

import pytest

from pinbase.domain.pins import Pin, PinType
from pinbase.protocols.device import (
    ClientLibrary,
    DebugPrint,
    DeviceConnection,
    DeviceInfo,
    HardwareReadOut,
    HardwareWriteOut,
    InternalPush,
    LocalProtocolError,
    Redirect,
    Response,
    ServerPing,
    State,
    Status,
    Undeliverable,
)
from pinbase.protocols.device.connection import MAX_HELD_MESSAGES
from pinbase.protocols.device.frames import MAX_BUFF_IN, MAX_MSG_ID, Command
from pinbase.protocols.device.timing import DEFAULT_HEARTBEAT_SECONDS, MAX_HEARTBEAT_SECONDS

V1 = Pin(PinType.VIRTUAL, 1)
TOKEN = b"A" * 32


def frame(command: int, msg_id: int, body: bytes = b"") -> bytes:
    """One device frame."""
    return bytes([command]) + msg_id.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


def after_login(command: Command = Command.HW_LOGIN) -> DeviceConnection:
    """A connection whose login was accepted; the info message has not arrived."""
    connection = DeviceConnection()
    connection.receive_data(frame(command, 1, TOKEN))
    connection.next_event()
    connection.send(Response(msg_id=1, status=Status.OK))
    return connection


def with_info(connection: DeviceConnection, info: bytes, msg_id: int = 2) -> DeviceInfo:
    """Feed an info message and answer it; returns the parsed info."""
    connection.receive_data(frame(Command.INTERNAL, msg_id, info))
    event = connection.next_event()
    assert isinstance(event, DeviceInfo)
    connection.send(Response(msg_id=msg_id, status=Status.OK))
    return event


def push(value: str = "x") -> HardwareWriteOut:
    """A value pushed to V1 unasked."""
    return HardwareWriteOut(pin=V1, values=(value,))


def test_pushes_wait_for_the_info_answer() -> None:
    """Nothing unsolicited goes out between the login answer and the info answer (§1.8.1)."""
    connection = after_login(Command.LOGIN)
    assert connection.send(push("a")) == b""
    assert connection.send(InternalPush(name="acon")) == b""
    assert connection.drain_held() == []
    with_info(connection, b"ver\x000.2.6\x00buff-in\x001024\x00h-beat\x0010\x00dev\x00python")
    assert connection.state is State.READY
    assert connection.drain_held() == [
        frame(Command.HARDWARE, 1, b"vw\x001\x00a"),
        frame(Command.INTERNAL, 2, b"acon"),
    ]
    assert connection.drain_held() == []


def test_answers_are_never_held() -> None:
    """A reply carrying a request's id goes out at once, even before the info answer."""
    connection = after_login()
    data = connection.send(HardwareWriteOut(msg_id=3, pin=V1, values=("x",)))
    assert data == frame(Command.HARDWARE, 3, b"vw\x001\x00x")


def test_info_wait_ends_without_an_info_message() -> None:
    """``end_info_wait`` (2 s after login, the transport's timer) releases the pushes."""
    connection = after_login()
    connection.send(push())
    connection.end_info_wait()
    assert connection.state is State.READY
    assert len(connection.drain_held()) == 1
    connection.end_info_wait()
    assert connection.state is State.READY


def test_held_queue_is_bounded() -> None:
    """Past MAX_HELD_MESSAGES a push is Undeliverable instead of queued."""
    connection = after_login()
    for _ in range(MAX_HELD_MESSAGES):
        connection.send(push())
    with pytest.raises(Undeliverable):
        connection.send(push())


def test_pushes_are_numbered_from_1_and_wrap_without_0() -> None:
    """The server's own ids run 1..65535 and then 1 again, never 0 (§1.2 rule 2)."""
    connection = after_login()
    connection.end_info_wait()
    ids = [int.from_bytes(connection.send(push())[1:3], "big") for _ in range(MAX_MSG_ID + 1)]
    assert ids[0] == 1
    assert ids[-2:] == [MAX_MSG_ID, 1]
    assert 0 not in ids


def test_default_buff_in_allows_250_byte_bodies() -> None:
    """Until the device announces buff-in, 5 + len must fit 255 (§1.11.4)."""
    connection = after_login()
    connection.end_info_wait()
    assert len(connection.send(push("x" * 245))) == 255  # header 5 + "vw 1 " 5 + 245
    with pytest.raises(Undeliverable):
        connection.send(push("x" * 246))


def test_announced_buff_in_sets_the_limit() -> None:
    """``buff-in 1024`` allows frames of 1024 bytes and no more."""
    connection = after_login()
    with_info(connection, b"ver\x000.2.0\x00h-beat\x0010\x00buff-in\x001024\x00dev\x00python")
    assert connection.buff_in == 1024
    assert len(connection.send(push("x" * 1014))) == 1024
    with pytest.raises(Undeliverable):
        connection.send(push("x" * 1015))


def test_body_beyond_the_length_field_is_undeliverable() -> None:
    """A value too long for any frame is Undeliverable, not a crash."""
    connection = after_login()
    with_info(connection, b"buff-in\x00999999")
    assert connection.buff_in == MAX_BUFF_IN
    with pytest.raises(Undeliverable):
        connection.send(push("x" * 70_000))


def test_heartbeat_comes_from_the_info_message() -> None:
    """``h-beat`` is read from the info, capped at an hour; 45 s until then (§1.9)."""
    connection = after_login()
    assert connection.heartbeat == DEFAULT_HEARTBEAT_SECONDS
    with_info(connection, b"ver\x001.4.0\x00h-beat\x0040")
    assert connection.heartbeat == 40
    with_info(connection, b"ver\x001.4.0\x00h-beat\x0099999999999", msg_id=9)
    assert connection.heartbeat == MAX_HEARTBEAT_SECONDS


def test_unusable_info_numbers_are_ignored() -> None:
    """A non-numeric or zero h-beat or buff-in leaves the previous value in place."""
    connection = after_login()
    with_info(connection, b"ver\x001.4.0\x00h-beat\x0040\x00buff-in\x004096")
    with_info(connection, b"ver\x001.4.0\x00h-beat\x000\x00buff-in\x00lots", msg_id=5)
    assert (connection.heartbeat, connection.buff_in) == (40, 4096)
    assert connection.device_info is not None
    assert connection.device_info.get("buff-in") == "lots"


@pytest.mark.parametrize(
    ("command", "dev", "client", "paced"),
    [
        (Command.HW_LOGIN, b"Linux", ClientLibrary.CPP, False),
        (Command.LOGIN, b"ESP32", ClientLibrary.CPP, False),
        (Command.LOGIN, b"python", ClientLibrary.BLYNKLIB, True),
        (Command.HW_LOGIN, b"python", ClientLibrary.BLYNK_LIBRARY_PYTHON, False),
    ],
)
def test_client_library_is_told_from_login_and_dev(
    command: Command, dev: bytes, client: ClientLibrary, paced: bool
) -> None:
    """Login 2 with ``dev=python`` is blynklib, which alone needs paced frames (§3.2)."""
    connection = after_login(command)
    assert connection.client is ClientLibrary.UNKNOWN
    with_info(connection, b"ver\x000.2.0\x00dev\x00" + dev)
    assert connection.client is client
    assert connection.needs_pacing is paced


def test_read_push_is_opt_in_but_encodable() -> None:
    """A ``vr`` push is a HARDWARE frame the transport may send when a device opts in."""
    connection = after_login()
    connection.end_info_wait()
    assert connection.send(HardwareReadOut(pin=V1)) == frame(Command.HARDWARE, 1, b"vr\x001")


def test_not_authenticated_is_never_sent_after_login() -> None:
    """Status 5 makes the C++ library disconnect, so it cannot be sent once logged in (§3.1)."""
    connection = after_login()
    with pytest.raises(LocalProtocolError):
        connection.send(Response(msg_id=3, status=Status.NOT_AUTHENTICATED))


@pytest.mark.parametrize("message", [push(), Response(msg_id=1, status=Status.OK)])
def test_nothing_is_sent_before_login(message: HardwareWriteOut | Response) -> None:
    """Before a login there is nobody to answer or push to."""
    with pytest.raises(LocalProtocolError):
        DeviceConnection().send(message)


def test_nothing_is_sent_after_close() -> None:
    """A closed connection refuses every message."""
    connection = DeviceConnection()
    connection.receive_data(frame(Command.LOGIN, 1, TOKEN))
    connection.next_event()
    connection.send(Response(msg_id=1, status=Status.INVALID_TOKEN))
    with pytest.raises(LocalProtocolError):
        connection.send(Response(msg_id=1, status=Status.OK))
    with pytest.raises(LocalProtocolError):
        connection.send(push())
    assert connection.drain_held() == []


CPP_INFO = b"mcu\x001.0.0\x00buff-in\x001024\x00h-beat\x0045\x00dev\x00ESP32"
PYTHON_INFO = b"ver\x000.2.6\x00buff-in\x001024\x00h-beat\x0010\x00dev\x00python"


@pytest.mark.parametrize(
    "message",
    [ServerPing(), Redirect(host="h", port=1), DebugPrint(text="x")],
    ids=repr,
)
@pytest.mark.parametrize("info", [None, PYTHON_INFO], ids=["no info", "python"])
def test_cpp_only_commands_are_refused_to_other_clients(
    message: ServerPing | Redirect | DebugPrint, info: bytes | None
) -> None:
    """PING, REDIRECT and DEBUG_PRINT never go to a client not known to be C++ (§1.11.5)."""
    connection = after_login(Command.LOGIN)
    if info is not None:
        with_info(connection, info)
    with pytest.raises(Undeliverable, match="known to be the C\\+\\+ library"):
        connection.send(message)


def test_server_ping_to_cpp_takes_a_fresh_id_it_reports() -> None:
    """A C++ device is pinged with a fresh non-zero id, which ``last_sent_id`` names."""
    connection = after_login()
    assert connection.last_sent_id == 0
    with_info(connection, CPP_INFO)
    assert connection.client is ClientLibrary.CPP
    connection.send(push())
    assert connection.send(ServerPing()) == frame(Command.PING, 2)
    assert connection.last_sent_id == 2
    assert connection.send(Redirect(host="h", port=80)) == frame(Command.REDIRECT, 3, b"h\x0080")
    assert connection.send(DebugPrint(text="hi")) == frame(Command.DEBUG_PRINT, 4, b"hi")


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: Redirect(host="", port=80), "host must not be empty"),
        (lambda: Redirect(host="h", port=0), "port must be within"),
        (lambda: Redirect(host="h", port=65536), "port must be within"),
        (lambda: Redirect(host="a\0b", port=80), "NUL"),
        (lambda: DebugPrint(text="a\0b"), "NUL"),
    ],
)
def test_command_values_check_their_fields(make: Callable[[], object], error: str) -> None:
    """Bad hosts, ports and texts are refused when the value is built."""
    with pytest.raises(ValueError, match=error):
        make()
