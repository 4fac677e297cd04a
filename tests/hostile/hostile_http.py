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
    """What came back: the status (None when the server closed without answering), the status
    line, the headers (names lower-cased) and the body."""

    status: int | None
    head: bytes
    headers: dict[bytes, bytes]
    body: bytes


def exchange(port: int, request: RawRequest, *, whole: bool = True) -> RawAnswer:
    """Send ``request`` to the server on loopback ``port`` and read the answer: to its end, or
    (``whole=False``) only up to the status line, which is quicker."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as connection:
        # The server may answer and close before the whole body is sent; read what it said.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(request.encode())
        with contextlib.suppress(ConnectionResetError):
            while data := connection.recv(CHUNK):
                received += data
                if not whole and b"\r\n" in received:
                    break
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    parts = status_line.split(b" ")
    status = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None
    headers = {}
    for line in lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return RawAnswer(status, status_line, headers, body)
