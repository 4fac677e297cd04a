"""A deliberately naive HTTP/1.1 client over a raw socket, for requests httpx refuses to build.

Non-ASCII header bytes, a wrong or repeated ``Content-Length``, broken chunked framing: each
request is written byte for byte as given, on a connection of its own that the server closes
after answering (``Connection: close``), so one malformed request cannot confuse the next.
"""

import contextlib
import socket
from dataclasses import dataclass, field

TIMEOUT_S = 10.0
"""Generous for a loopback answer; a server that never answers fails the request, not the run."""

CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class RawRequest:
    """One request as bytes on the wire, with a label saying what is hostile about it."""

    label: str
    method: str
    target: bytes
    """The request target exactly as sent: path and query, already percent-encoded (or not)."""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    chunked: bool = False
    """Send ``body`` with ``Transfer-Encoding: chunked`` (in 64 KiB chunks) and no length."""
    framing: bool = True
    """Add ``Content-Length`` (or the chunked header); False when ``headers`` frame the body
    themselves, wrongly on purpose."""

    def encode(self) -> bytes:
        """The bytes to write."""
        lines = [b"%s %s HTTP/1.1" % (self.method.encode(), self.target)]
        names = {name.lower() for name, _ in self.headers}
        if b"host" not in names:
            lines.append(b"Host: 127.0.0.1")
        lines += [b"%s: %s" % pair for pair in self.headers]
        lines.append(b"Connection: close")
        body = self.body
        if self.framing and self.chunked:
            lines.append(b"Transfer-Encoding: chunked")
            body = b"".join(
                b"%x\r\n%s\r\n" % (len(body[at : at + CHUNK]), body[at : at + CHUNK])
                for at in range(0, len(body), CHUNK)
            )
            body += b"0\r\n\r\n"
        elif self.framing and (body or self.method in ("POST", "PUT", "PATCH")):
            lines.append(b"Content-Length: %d" % len(body))
        return b"\r\n".join(lines) + b"\r\n\r\n" + body


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """The status of an answer; None when the server closed the connection without one."""

    status: int | None
    head: bytes


def exchange(port: int, request: RawRequest) -> RawAnswer:
    """Send ``request`` to the server on loopback ``port`` and read its answer's status."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as connection:
        # The server may answer and close before the whole body is sent; read what it said.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(request.encode())
        received = b""
        try:
            while b"\r\n" not in received:
                data = connection.recv(CHUNK)
                if not data:
                    break
                received += data
        except ConnectionResetError:
            pass
    status_line = received.partition(b"\r\n")[0]
    parts = status_line.split(b" ")
    status = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None
    return RawAnswer(status, status_line)
