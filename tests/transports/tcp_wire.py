"""A raw Blynk device for tests: exact frames in, exact frames out, over a real socket."""

import asyncio
import contextlib
import struct
from dataclasses import dataclass
from typing import Self

HEADER = struct.Struct(">BHH")

LOGIN, PING, BRIDGE, SYNC, INTERNAL, PROPERTY, HARDWARE, GROUP, HW_LOGIN = (
    2,
    6,
    15,
    16,
    17,
    19,
    20,
    21,
    29,
)
EVENT_LOG = 64
INFO = ("ver", "0.2.0", "h-beat", "10", "buff-in", "1024", "dev", "python")
"""The info body BlynkLib 0.2.0 sends (device-protocols.md §1.7.1)."""


def frame(command: int, msg_id: int, *parts: str) -> bytes:
    """A frame whose body is ``parts`` joined by NUL."""
    body = "\0".join(parts).encode()
    return HEADER.pack(command, msg_id, len(body)) + body


def response(msg_id: int, status: int) -> bytes:
    """A RESPONSE frame: the status sits in the length field and no body follows."""
    return HEADER.pack(0, msg_id, status)


@dataclass(frozen=True)
class Received:
    """One frame from the server; ``length`` is the status of a RESPONSE."""

    command: int
    msg_id: int
    length: int
    body: bytes = b""

    @property
    def parts(self) -> list[str]:
        """The body's NUL-separated elements."""
        return self.body.decode().split("\0")


class RawDevice:
    """A device that writes and reads frames byte for byte."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, *, source: str | None = None) -> Self:
        """Connect to 127.0.0.1:``port``, from loopback address ``source`` when given."""
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, local_addr=(source, 0) if source else None
        )
        return cls(reader, writer)

    async def send(self, *frames: bytes) -> None:
        """Write the frames in one piece."""
        self.writer.write(b"".join(frames))
        await self.writer.drain()

    async def read(self, wait: float = 3.0) -> Received:
        """The next frame from the server."""
        header = await asyncio.wait_for(self.reader.readexactly(5), wait)
        command, msg_id, length = HEADER.unpack(header)
        if command == 0:
            return Received(command, msg_id, length)
        body = await asyncio.wait_for(self.reader.readexactly(length), wait)
        return Received(command, msg_id, length, body)

    async def silent(self, seconds: float = 0.3) -> bool:
        """True when nothing arrives for ``seconds``."""
        try:
            data = await asyncio.wait_for(self.reader.read(1), seconds)
        except TimeoutError:
            return True
        return data == b""

    async def closed(self, wait: float = 3.0) -> bool:
        """True when the server closes the connection within ``wait`` s (reading what is left)."""
        try:
            while await asyncio.wait_for(self.reader.read(4096), wait):
                pass
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
        return True

    async def login(self, token: str, *, command: int = HW_LOGIN, info: bool = True) -> None:
        """Log in (and send BlynkLib's info message) and check both answers."""
        await self.send(frame(command, 1, token))
        assert await self.read() == Received(0, 1, 200)
        if info:
            await self.send(frame(INTERNAL, 2, *INFO))
            assert await self.read() == Received(0, 2, 200)

    async def close(self) -> None:
        """Close our side and wait for the socket to go."""
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
