"""Blynk binary framing: the 5-byte header, command and status codes, NUL-separated bodies.

Every message is ``command (u8) | msg_id (u16) | length (u16)`` in network byte order, then
``length`` bytes of body (device-protocols.md §1.2). RESPONSE (command 0) is the exception: its
third field is a status code and no body follows. The decoder reads exactly what the header
announces, so an unknown command is skipped whole and the stream stays in step.
"""

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from pinbase.protocols.device.errors import ProtocolError

HEADER = struct.Struct(">BHH")
HEADER_SIZE = HEADER.size
"""Command, message id and length: 1 + 2 + 2 bytes (§1.2)."""

MAX_MSG_ID = 0xFFFF
"""Message ids are unsigned 16-bit; the server numbers its own messages 1..65535, never 0."""

MAX_STATUS = 0xFFFF
"""A RESPONSE carries its status in the 16-bit length field."""

MAX_BODY = 0xFFFF
"""The length field is unsigned 16-bit: no frame body can be longer in either direction."""

MAX_INBOUND_BODY = 32_768
"""Default cap on a body from a device: Blynk's docs say bodies "could be up to 2^15 bytes" and
the spec recommends closing the connection above it (§1.2 rule 4). Configurable per connection."""

MAX_LOGIN_BODY = 256
"""Cap on the body of the first frame, before the device has proved anything: a token is at most
64 bytes (§1.13 #15), so this leaves room for padding while an anonymous peer can make the server
buffer no more than 261 bytes."""

DEFAULT_BUFF_IN = 255
"""Outbound frame size (header included) assumed until the device announces ``buff-in``: the
legacy server allowed a 250-byte body then, and the spec keeps that rule (§1.11.4)."""

MAX_BUFF_IN = HEADER_SIZE + MAX_BODY
"""A larger ``buff-in`` changes nothing: no frame can exceed a header plus a 65535-byte body."""

SEPARATOR = b"\0"
"""Body elements are joined by single NUL bytes (§1.3)."""

RawFrame = tuple[int, int, bytes, int | None]
"""A frame's fields ``(command, msg_id, body, status)`` as the decoder cut them, without building
a ``Frame``: the decoder only cuts well-formed frames, so checking them again would cost a
microsecond per message, a fifth of decoding a write (issue 4, bench/README.md)."""


class Command(IntEnum):
    """The 18 command codes a device connection uses (§1.4; appendix A has the legacy rest)."""

    RESPONSE = 0
    LOGIN = 2
    """Login of C++ 0.6.0 and older and of ``blynklib``."""
    PING = 6
    TWEET = 12
    EMAIL = 13
    NOTIFY = 14
    BRIDGE = 15
    HARDWARE_SYNC = 16
    INTERNAL = 17
    SMS = 18
    PROPERTY = 19
    HARDWARE = 20
    GROUP = 21
    """C++ 1.x command grouping; the legacy server's CREATE_DASH was app-only (§1.13 #2)."""
    HW_LOGIN = 29
    """Login of C++ 0.6.1 and newer and of ``BlynkLib``."""
    REDIRECT = 41
    DEBUG_PRINT = 55
    EVENT_LOG = 64
    EVENT_CLEAR = 65
    """C++ 1.x ``resolveEvent``; legacy HARDWARE_RESEND_FROM_BLUETOOTH (§1.13 #4)."""


class Status(IntEnum):
    """RESPONSE status codes: C++ ``BlynkStatus`` and legacy ``Response.java`` together (§1.5)."""

    OK = 200
    QUOTA_LIMIT = 1
    ILLEGAL_COMMAND = 2
    NOT_REGISTERED = 3
    ALREADY_REGISTERED = 4
    NOT_AUTHENTICATED = 5
    NOT_ALLOWED = 6
    DEVICE_NOT_IN_NETWORK = 7
    NO_ACTIVE_DASHBOARD = 8
    INVALID_TOKEN = 9
    ILLEGAL_COMMAND_BODY = 11
    GET_GRAPH_DATA_EXCEPTION = 12
    NOTIFICATION_INVALID_BODY = 13
    NOTIFICATION_NOT_AUTHORIZED = 14
    NOTIFICATION_ERROR = 15
    TIMEOUT = 16
    NO_DATA = 17
    DEVICE_WENT_OFFLINE = 18
    SERVER_ERROR = 19
    NOT_SUPPORTED_VERSION = 20
    ENERGY_LIMIT = 21
    FACEBOOK_USER_LOGIN_WITH_PASS = 22
    OPERATION_ACCEPT = 23
    OPERATION_DECLINE = 24


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """One message on the wire. ``status`` is set for RESPONSE frames and only for them."""

    command: int
    msg_id: int
    body: bytes = b""
    status: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.command <= 0xFF:
            raise ValueError(f"command {self.command} outside 0..255")
        if not 0 <= self.msg_id <= MAX_MSG_ID:
            raise ValueError(f"msg_id {self.msg_id} outside 0..{MAX_MSG_ID}")
        if self.command == Command.RESPONSE:
            if self.status is None or not 0 <= self.status <= MAX_STATUS:
                raise ValueError("a RESPONSE needs a status in 0..65535")
            if self.body:
                raise ValueError("a RESPONSE has no body")
        elif self.status is not None:
            raise ValueError("only a RESPONSE carries a status")
        elif len(self.body) > MAX_BODY:
            raise ValueError(f"body of {len(self.body)} bytes exceeds {MAX_BODY}")


def encode_frame(frame: Frame) -> bytes:
    """The frame as one contiguous buffer, to be written in one piece (§1.2 rule 5)."""
    if frame.status is not None:
        return HEADER.pack(frame.command, frame.msg_id, frame.status)
    return HEADER.pack(frame.command, frame.msg_id, len(frame.body)) + frame.body


class FrameDecoder:
    """Buffers bytes and cuts them into frames; it knows nothing about commands' meanings."""

    __slots__ = ("_buffer", "_start")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._start = 0

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        self._buffer += data

    @property
    def buffered(self) -> int:
        """How many bytes wait to be decoded."""
        return len(self._buffer) - self._start

    def peek_command(self) -> int | None:
        """The command byte of the next frame, as soon as one byte of it has arrived."""
        if self._start < len(self._buffer):
            return self._buffer[self._start]
        return None

    def next_frame(self, *, max_body: int = MAX_INBOUND_BODY) -> Frame | None:
        """The next complete frame, or None until more bytes arrive.

        Raises:
            ProtocolError: the header announces a body longer than ``max_body``; checked as soon
                as the header is complete, so an oversize frame is never buffered.
        """
        raw = self.next_raw(max_body=max_body)
        if raw is None:
            return None
        command, msg_id, body, status = raw
        return Frame(command=command, msg_id=msg_id, body=body, status=status)

    def next_raw(self, *, max_body: int = MAX_INBOUND_BODY) -> RawFrame | None:
        """``next_frame``'s fields as a tuple: the server's hot path (``RawFrame``).

        Raises:
            ProtocolError: as ``next_frame``.
        """
        start = self._start
        if len(self._buffer) - start < HEADER_SIZE:
            return None
        command, msg_id, length = HEADER.unpack_from(self._buffer, start)
        if command == Command.RESPONSE:
            self._advance(HEADER_SIZE)
            return command, msg_id, b"", length
        if length > max_body:
            raise ProtocolError(f"body of {length} bytes exceeds the {max_body}-byte limit")
        end = start + HEADER_SIZE + length
        if len(self._buffer) < end:
            return None
        body = bytes(self._buffer[start + HEADER_SIZE : end])
        self._advance(HEADER_SIZE + length)
        return command, msg_id, body, None

    def _advance(self, size: int) -> None:
        self._start += size
        # Compact once the consumed prefix dominates, so a long-lived connection that always
        # has a partial frame pending does not keep every byte it ever received.
        if self._start > len(self._buffer) // 2:
            del self._buffer[: self._start]
            self._start = 0


def split_body(body: bytes, *, drop_terminator: bool = True) -> list[str]:
    """Split a NUL-separated UTF-8 body into its elements (§1.3).

    Args:
        body: the frame body; empty gives no elements.
        drop_terminator: drop one trailing empty element when the body ends with NUL, as the
            server must for C++ info messages. Empty elements in the middle are kept.

    Raises:
        ProtocolError: the body is not UTF-8.
    """
    if not body:
        return []
    try:
        text = body.decode()
    except UnicodeDecodeError as error:
        raise ProtocolError("body is not UTF-8") from error
    parts = text.split("\0")
    if drop_terminator and len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return parts


def join_body(parts: Sequence[str]) -> bytes:
    """Join elements with NUL into a UTF-8 body; the inverse of ``split_body`` for clean input."""
    return "\0".join(parts).encode()
