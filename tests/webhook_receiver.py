"""A real HTTP/1.1 receiver on 127.0.0.1 for webhook tests: it records every request as bytes
and answers from a script (status, headers, body), then 200 ``ok`` once the script is spent.

Run it on the test's event loop (``async with Receiver() as receiver``) or in a thread of its
own for a server in another process (``ThreadedReceiver``)."""

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

MAX_BODY = 1_000_000


@dataclass(frozen=True, slots=True)
class Received:
    """One request as it arrived."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (any case), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass(frozen=True, slots=True)
class Reply:
    """What the receiver answers to one request."""

    status: int = 200
    body: bytes = b"ok"
    headers: tuple[tuple[str, str], ...] = ()
    stall: bool = False
    """Never answer (until the client gives up): a slow receiver."""


@dataclass
class Receiver:
    """The receiver; ``url`` is its base URL once started."""

    script: list[Reply] = field(default_factory=list)
    routes: dict[str, list[Reply]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _tasks: set["asyncio.Task[None]"] = field(default_factory=set)
    _arrived: asyncio.Condition | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        self._arrived = asyncio.Condition()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        # Closed connections end their tasks (readline answers EOF); cancelling one instead
        # makes asyncio's stream callback raise CancelledError into the loop's handler.
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def wait_for(self, count: int) -> None:
        """Wait until ``count`` requests arrived (callers bound the wait)."""
        assert self._arrived is not None
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.received) >= count)

    def _reply_for(self, target: str) -> Reply:
        path = target.split("?", 1)[0]
        queue = self.routes.get(path)
        if queue:
            return queue.pop(0) if len(queue) > 1 else queue[0]
        return self.script.pop(0) if self.script else Reply()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers: list[tuple[str, str]] = []
                while True:
                    raw = await reader.readline()
                    if raw in (b"\r\n", b"\n", b""):
                        break
                    key, _, value = raw.decode("latin-1").partition(":")
                    headers.append((key.strip(), value.strip()))
                length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
                body = await reader.readexactly(min(length, MAX_BODY)) if length else b""
                self.received.append(Received(method, target, headers, body))
                reply = self._reply_for(target)
                assert self._arrived is not None
                async with self._arrived:
                    self._arrived.notify_all()
                if reply.stall:
                    await reader.read()  # until the client closes the connection
                    return
                head = [f"HTTP/1.1 {reply.status} X", f"Content-Length: {len(reply.body)}"]
                head += [f"{k}: {v}" for k, v in reply.headers]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + reply.body)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            writer.close()


@contextmanager
def threaded_receiver() -> Iterator[Receiver]:
    """A receiver on an event loop in a thread of its own, for servers in other processes."""
    loop = asyncio.new_event_loop()
    receiver = Receiver()
    ready = threading.Event()
    stop = asyncio.Event()

    async def main() -> None:
        async with receiver:
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield receiver
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
