"""Framing: 5-byte header, RESPONSE without body, limits, NUL-separated bodies (§1.2, §1.3)."""

from collections.abc import Callable
from typing import Any

import pytest

from pinbase.protocols.device.errors import ProtocolError
from pinbase.protocols.device.frames import (
    HEADER_SIZE,
    MAX_BODY,
    MAX_INBOUND_BODY,
    Command,
    Frame,
    FrameDecoder,
    Status,
    encode_frame,
    join_body,
    split_body,
)

Recording = list[tuple[str, bytes]]


def decode_all(data: bytes, *, max_body: int = MAX_INBOUND_BODY) -> list[Frame]:
    """Every complete frame in ``data``."""
    decoder = FrameDecoder()
    decoder.feed(data)
    frames = []
    while (frame := decoder.next_frame(max_body=max_body)) is not None:
        frames.append(frame)
    assert decoder.buffered == 0
    return frames


@pytest.mark.parametrize("command", [c for c in Command if c is not Command.RESPONSE])
def test_every_command_round_trips(command: Command) -> None:
    """A frame of each command encodes to header + body and decodes to itself."""
    frame = Frame(command=command, msg_id=0x1234, body=b"vw\x001\x00x")
    data = encode_frame(frame)
    assert data[:HEADER_SIZE] == bytes([command, 0x12, 0x34, 0x00, 0x06])
    assert decode_all(data) == [frame]


@pytest.mark.parametrize("status", list(Status))
def test_response_carries_its_status_in_the_length_field(status: Status) -> None:
    """RESPONSE is 5 bytes, status where the length would be, and no body follows (§1.2 rule 1)."""
    frame = Frame(command=Command.RESPONSE, msg_id=1, status=status)
    data = encode_frame(frame)
    assert data == bytes([0, 0, 1, status >> 8, status & 0xFF])
    assert decode_all(data) == [frame]


def test_login_ok_is_the_conformance_frame() -> None:
    """The login answer of §4.1 item 5 is exactly ``00 00 01 00 c8``."""
    ok = encode_frame(Frame(command=Command.RESPONSE, msg_id=1, status=Status.OK))
    assert ok == bytes.fromhex("00 00 01 00 c8")


def test_spec_push_example_encodes_byte_for_byte() -> None:
    """``vw 1 from-app second`` with msg id 100 is the frame recorded in §1.11.1."""
    frame = Frame(command=Command.HARDWARE, msg_id=100, body=b"vw\x001\x00from-app\x00second")
    assert encode_frame(frame) == bytes.fromhex(
        "14 00 64 00 14 76 77 00 31 00 66 72 6f 6d 2d 61 70 70 00 73 65 63 6f 6e 64"
    )


@pytest.mark.parametrize(
    "name", ["cpp_connect", "cpp_commands", "blynklib_connect", "blynk_library_python_connect"]
)
def test_recorded_frames_decode_and_reencode(
    name: str, recording: Callable[[str], Recording]
) -> None:
    """Every recorded frame, either direction, decodes whole and encodes back to its bytes."""
    for _, data in recording(name):
        (frame,) = decode_all(data)
        assert encode_frame(frame) == data


def test_frame_split_byte_by_byte_is_reassembled() -> None:
    """A frame fed one byte at a time decodes once its last byte arrives."""
    data = encode_frame(Frame(command=Command.HARDWARE, msg_id=3, body=b"vw\x000\x0010"))
    decoder = FrameDecoder()
    for byte in data[:-1]:
        decoder.feed(bytes([byte]))
        assert decoder.next_frame() is None
    decoder.feed(data[-1:])
    assert decoder.next_frame() == Frame(command=Command.HARDWARE, msg_id=3, body=b"vw\x000\x0010")


def test_coalesced_frames_come_out_in_order() -> None:
    """Several frames in one chunk decode one after another (§4.1 item 5)."""
    frames = [Frame(command=Command.PING, msg_id=n) for n in range(1, 200)]
    frames.append(Frame(command=Command.RESPONSE, msg_id=7, status=200))
    assert decode_all(b"".join(encode_frame(f) for f in frames)) == frames


def test_decoder_keeps_a_partial_frame_across_compaction() -> None:
    """Consumed bytes are released while a partial frame stays intact."""
    decoder = FrameDecoder()
    ping = encode_frame(Frame(command=Command.PING, msg_id=5))
    decoder.feed(ping * 3 + ping[:2])
    assert [decoder.next_frame() for _ in range(3)] == [Frame(command=Command.PING, msg_id=5)] * 3
    assert decoder.next_frame() is None
    assert decoder.buffered == 2
    decoder.feed(ping[2:])
    assert decoder.next_frame() == Frame(command=Command.PING, msg_id=5)
    decoder.feed(ping)
    assert decoder.next_frame() == Frame(command=Command.PING, msg_id=5)


def test_oversize_length_is_refused_before_the_body_arrives() -> None:
    """A length above the cap raises ProtocolError as soon as the header is complete."""
    decoder = FrameDecoder()
    decoder.feed(bytes([Command.HARDWARE, 0, 1]) + (MAX_INBOUND_BODY + 1).to_bytes(2, "big"))
    with pytest.raises(ProtocolError, match="exceeds"):
        decoder.next_frame()


def test_body_at_the_cap_is_accepted() -> None:
    """A body of exactly the cap decodes."""
    body = b"x" * 100
    assert decode_all(encode_frame(Frame(command=20, msg_id=1, body=body)), max_body=100)[0].body


def test_response_status_is_never_checked_against_the_cap() -> None:
    """A RESPONSE with status 65535 is not mistaken for a long body."""
    assert decode_all(bytes.fromhex("00 00 01 ff ff"), max_body=0)[0].status == 0xFFFF


def test_peek_command_sees_the_first_byte() -> None:
    """The command byte is visible before the header is complete."""
    decoder = FrameDecoder()
    assert decoder.peek_command() is None
    decoder.feed(b"G")
    assert decoder.peek_command() == ord("G")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"command": 256, "msg_id": 1},
        {"command": -1, "msg_id": 1},
        {"command": 20, "msg_id": 65536},
        {"command": 0, "msg_id": 1},
        {"command": 0, "msg_id": 1, "status": 70000},
        {"command": 0, "msg_id": 1, "status": 200, "body": b"x"},
        {"command": 20, "msg_id": 1, "status": 200},
        {"command": 20, "msg_id": 1, "body": b"x" * (MAX_BODY + 1)},
    ],
)
def test_impossible_frames_are_refused(kwargs: dict[str, Any]) -> None:
    """A Frame that has no wire form raises ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011 (each case has its own message)
        Frame(**kwargs)


@pytest.mark.parametrize(
    ("body", "parts"),
    [
        (b"", []),
        (b"vw\x005\x0042", ["vw", "5", "42"]),
        (b"vw\x001\x00from-app\x00second", ["vw", "1", "from-app", "second"]),
        (b"ver\x001.4.0\x00", ["ver", "1.4.0"]),
        (b"a\x00\x00b", ["a", "", "b"]),
        (b"a\x00\x00", ["a", ""]),
        (b"\x00", [""]),
        ("caf\u00e9".encode(), ["caf\u00e9"]),
    ],
)
def test_bodies_split_on_nul_dropping_one_terminator(body: bytes, parts: list[str]) -> None:
    """Split on NUL, keep empty middles, drop exactly one trailing empty element (§1.3)."""
    assert split_body(body) == parts


def test_split_can_keep_the_terminator() -> None:
    """Without the trailing-NUL rule an empty last element survives."""
    assert split_body(b"vw\x001\x00", drop_terminator=False) == ["vw", "1", ""]


def test_non_utf8_body_is_a_protocol_error() -> None:
    """Bodies are UTF-8 text (§1.2 rule 6)."""
    with pytest.raises(ProtocolError):
        split_body(b"vw\x001\x00\xff")


def test_join_is_the_inverse_of_split() -> None:
    """Joining elements with NUL gives the body back."""
    assert join_body(["vw", "1", "from-app", "second"]) == b"vw\x001\x00from-app\x00second"
