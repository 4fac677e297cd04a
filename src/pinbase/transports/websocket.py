"""An accepted ASGI WebSocket as an ``asyncio.Transport``, so that a device session written for a
socket (``stream_session.StreamSession``) runs unchanged over it (device-lifecycle.md §3).

Theory of operation. The binary frames a client sends are one byte stream (§3: "one frame may
carry several MQTT packets and a packet may span frames"): each frame's payload goes to the
protocol's ``data_received`` as if it had come from a socket. What the protocol writes is queued
and sent by one flushing task, everything queued at that moment in one binary frame (a frame
may carry several packets). ``pause_reading`` stops taking frames from the server (the ASGI
``receive`` is not called), which is the socket's backpressure one level up.

Endings, and ``connection_lost`` exactly once:

* the protocol closes (``close``): what is queued is sent, then the close frame;
* the protocol aborts (``abort``): the queue is dropped, the close frame is sent, or, when a
  frame is still being taken (the peer does not read), the connection is dropped at once;
* a text frame: close 1003, "unsupported data" (§3), as a protocol close would;
* the peer goes (``websocket.disconnect``): nothing can be sent any more; the protocol gets
  ``eof_received`` and handles what it had buffered, then closes as it does on a socket's end.

The WebSocket server (granian) answers pings itself and applies no idle timeout of its own, so
the protocol's keep-alive alone decides when a silent client is gone (§3).
"""

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

logger = logging.getLogger(__name__)

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Scope = MutableMapping[str, Any]

CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED_DATA = 1003
"""RFC 6455 §7.4.1: the endpoint received a type of data it cannot accept (a text frame)."""
CLOSE_POLICY = 1008
"""RFC 6455 §7.4.1: a message that violates the endpoint's policy."""


class WebSocketTransport(asyncio.Transport):
    """One accepted WebSocket, seen by its protocol as a stream transport."""

    def __init__(self, scope: Scope, send: Send, protocol: asyncio.Protocol) -> None:
        super().__init__()
        self._scope = scope
        self._send = send
        self._protocol = protocol
        self._loop = asyncio.get_running_loop()
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self._flusher: asyncio.Task[None] | None = None
        self._readable = asyncio.Event()
        self._readable.set()
        self._closing = False
        self._close_code = CLOSE_NORMAL
        self._peer_gone = False
        self._lost = False
        self.finished: asyncio.Future[None] = self._loop.create_future()
        """Settled once ``connection_lost`` has been called."""

    # --- asyncio.BaseTransport -------------------------------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """``peername`` is the client's address; ``sslcontext`` is never known here (the HTTP
        server terminates TLS), so it is ``default``."""
        if name == "peername":
            client = self._scope.get("client")
            return tuple(client) if client else default
        if name == "scheme":
            return self._scope.get("scheme", default)
        return default

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        """Send what is queued, then the close frame; ``connection_lost`` follows."""
        self._end_with(CLOSE_NORMAL)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:  # pragma: no cover - unused
        raise NotImplementedError

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._protocol

    # --- asyncio.ReadTransport -------------------------------------------------------------

    def is_reading(self) -> bool:
        return self._readable.is_set()

    def pause_reading(self) -> None:
        self._readable.clear()

    def resume_reading(self) -> None:
        self._readable.set()

    # --- asyncio.WriteTransport ------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data`` for the next binary frame; nothing once closing."""
        if self._closing or not data:
            return
        self._queue.append(bytes(data))
        self._queued += len(data)
        self._start_flusher()

    def get_write_buffer_size(self) -> int:
        """Bytes written and waiting while the previous frame is handed to the WebSocket
        server (a client that does not read makes that wait long, and this grow)."""
        return self._queued

    def can_write_eof(self) -> bool:
        return False

    def abort(self) -> None:
        """Drop what is queued. A frame the server is still taking (a client that does not
        read, a server that stopped) is abandoned and the connection ends now (the server then
        closes the socket); otherwise the close frame is sent and ``connection_lost`` follows."""
        self._queue.clear()
        self._queued = 0
        flusher = self._flusher
        if flusher is not None:
            self._flusher = None
            self._closing = True
            flusher.cancel()
            self._lose()
            return
        self._end_with(self._close_code)

    # --- the ASGI side ---------------------------------------------------------------------

    async def serve(self, receive: Receive) -> None:
        """Feed the protocol until the connection has ended (``connection_lost`` called)."""
        self._protocol.connection_made(self)
        reader = self._loop.create_task(self._read(receive))
        try:
            await asyncio.shield(self.finished)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            if not self._lost:  # cancelled by the server: the protocol still hears of it
                self._lose()

    async def _read(self, receive: Receive) -> None:
        while not self._closing:
            await self._readable.wait()
            if self.is_closing():  # ended while paused: nothing more is taken
                return
            try:
                message = await receive()
            except Exception as error:  # the server dropped the connection under us
                logger.debug("websocket.receive_failed error=%r", error)
                message = {"type": "websocket.disconnect"}
            kind = message.get("type")
            if kind == "websocket.receive":
                data = message.get("bytes")
                if data is None:
                    self._end_with(CLOSE_UNSUPPORTED_DATA)
                elif data:
                    self._protocol.data_received(data)
            elif kind == "websocket.disconnect":
                self._peer_left()
                return

    def _peer_left(self) -> None:
        """The peer's side is gone: the protocol handles what it had, then closes."""
        self._peer_gone = True
        self._queue.clear()
        self._queued = 0
        if self._closing:
            return
        keep_open = self._protocol.eof_received()
        if not keep_open and not self._closing:
            self._end_with(CLOSE_NORMAL)

    def _end_with(self, code: int) -> None:
        if self._closing:
            return
        self._closing = True
        self._close_code = code
        self._readable.set()  # a paused reader ends now
        self._start_flusher()

    def _start_flusher(self) -> None:
        if self._flusher is None and not self._lost:
            self._flusher = self._loop.create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self._queue and not self._peer_gone:
                frame = b"".join(self._queue)
                self._queue.clear()
                self._queued = 0
                await self._send({"type": "websocket.send", "bytes": frame})
            if self._closing and not self._peer_gone:
                await self._send({"type": "websocket.close", "code": self._close_code})
        except Exception as error:  # the peer went while a frame was on its way
            logger.debug("websocket.send_failed error=%r", error)
            self._peer_gone = True
            self._closing = True
        finally:
            self._flusher = None
        if self._closing:
            self._lose()
        elif self._queue:
            self._start_flusher()

    def _lose(self) -> None:
        if self._lost:
            return
        self._lost = True
        self._closing = True
        self._queue.clear()
        self._queued = 0
        flusher, self._flusher = self._flusher, None
        if flusher is not None and flusher is not asyncio.current_task():
            flusher.cancel()  # the server cancelled the connection: nothing more is sent
        try:
            self._protocol.connection_lost(None)
        finally:
            if not self.finished.done():
                self.finished.set_result(None)
