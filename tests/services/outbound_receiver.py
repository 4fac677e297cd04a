"""A real local HTTP(S) receiver for outbound calls: an asyncio server on 127.0.0.1, port 0.

It parses HTTP/1.1 with h11 (a library nobody here wrote), records every request it got (and
the TLS server name the client sent), and answers what the test scripted. A reply with
``hold`` set never answers, so a client's timeout can be seen without timing anything.
"""

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import h11


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    """One request as the receiver read it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    server_name: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """What the receiver answers."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b"ok"
    hold: bool = False


@dataclass
class Receiver:
    """The running receiver: where it listens, what it got, what it answers."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    reply: Callable[[Received], Reply] = lambda _: Reply()
    server_names: list[str | None] = field(default_factory=list)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"


@asynccontextmanager
async def receiver(tls: ssl.SSLContext | None = None) -> AsyncIterator[Receiver]:
    """Serve on a free loopback port until the block ends; with ``tls``, HTTPS."""
    state = Receiver()
    held = asyncio.Event()  # never set: a held reply waits until the receiver stops
    handlers: set[asyncio.Task[None]] = set()
    if tls is not None:
        tls.sni_callback = lambda sock, name, ctx: state.server_names.append(name)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        task.add_done_callback(handlers.discard)
        connection = h11.Connection(h11.SERVER)
        request: h11.Request | None = None
        body = bytearray()
        try:
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    connection.receive_data(data)
                    if not data:
                        return
                elif isinstance(event, h11.Request):
                    request = event
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage) and request is not None:
                    got = Received(
                        method=request.method.decode(),
                        target=request.target.decode(),
                        headers={k.decode(): v.decode() for k, v in request.headers},
                        body=bytes(body),
                        server_name=state.server_names[-1] if state.server_names else None,
                    )
                    state.received.append(got)
                    reply = state.reply(got)
                    if reply.hold:
                        await held.wait()
                    headers = [*reply.headers, ("Content-Length", str(len(reply.body)))]
                    writer.write(
                        connection.send(h11.Response(status_code=reply.status, headers=headers))
                        or b""
                    )
                    writer.write(connection.send(h11.Data(data=reply.body)) or b"")
                    writer.write(connection.send(h11.EndOfMessage()) or b"")
                    writer.write(connection.send(h11.ConnectionClosed()) or b"")
                    await writer.drain()
                    return
                else:
                    return
        except (ConnectionError, h11.ProtocolError, ssl.SSLError):
            return
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        for task in tuple(handlers):
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()
