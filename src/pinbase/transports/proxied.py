"""A device listener behind a TCP balancer that speaks the PROXY protocol (``proxy_protocol``,
docs/scaling.md "Client addresses"): each connection begins with a header naming the device's
address, read off the socket before asyncio takes the connection over.

Why not ``loop.create_server``: a TLS server starts its handshake on the first bytes, which
here are the header, and a protocol that read the header itself could not hand the bytes after
it (the TLS ClientHello, often in the same segment) to the TLS layer. So connections are
accepted here, the header is peeked at and exactly its bytes are consumed
(``protocols.proxy_header``), and the socket, with the rest of its bytes still unread, goes to
``loop.connect_accepted_socket`` with or without TLS, as ``create_server`` would have.

A connection whose header does not come within ``HEADER_TIMEOUT_S`` or is not a PROXY header is
closed without a word: only the balancer should reach these ports.
"""

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable

from pinbase.protocols.proxy_header import ProxyHeader, ProxyHeaderError, parse_proxy_header
from pinbase.transports.stream_session import StreamSession

logger = logging.getLogger(__name__)

HEADER_TIMEOUT_S = 5.0
"""How long a connection may take to send its PROXY header (a balancer sends it at once)."""
PEEK_BYTES = 232
"""The most a header needs to be seen whole: a version 1 line (107 bytes) or a version 2 block
with IPv6 addresses (52 bytes), with room; TLVs beyond are consumed unread."""
PARTIAL_WAIT_S = 0.005
"""The pause before peeking again at a header whose end has not arrived: the bytes already
there keep the socket readable, so waiting for readability again would spin."""


class ProxiedServer:
    """Accepts connections on ``listener`` and starts a session for each after its header."""

    def __init__(
        self,
        listener: socket.socket,
        session: Callable[[], StreamSession],
        *,
        tls: ssl.SSLContext | None,
        handshake_timeout_s: float,
        shutdown_timeout_s: float,
    ) -> None:
        self._listener = listener
        self._session = session
        self._tls = tls
        self._handshake_timeout_s = handshake_timeout_s
        self._shutdown_timeout_s = shutdown_timeout_s
        self._loop = asyncio.get_running_loop()
        self._opening: set[asyncio.Task[None]] = set()
        self._accepting = self._loop.create_task(self._accept(), name="proxied_accept")

    @property
    def port(self) -> int:
        """The port the listener is bound to."""
        return int(self._listener.getsockname()[1])

    def close(self) -> None:
        """Stop accepting and drop the connections still sending their header."""
        self._accepting.cancel()
        for task in self._opening:
            task.cancel()

    async def wait_closed(self) -> None:
        """Wait until the accepting task and the half-open connections have ended, then close
        the listening socket (not before: the loop may still watch it until they end)."""
        await asyncio.gather(self._accepting, *self._opening, return_exceptions=True)
        self._listener.close()

    async def _accept(self) -> None:
        while True:
            try:
                connection, _ = await self._loop.sock_accept(self._listener)
            except OSError as error:  # out of file descriptors, say: the next may succeed
                logger.warning("proxied.accept_failed error=%s", error)
                await asyncio.sleep(0.1)
                continue
            connection.setblocking(False)
            task = self._loop.create_task(self._open(connection))
            self._opening.add(task)
            task.add_done_callback(self._opening.discard)

    async def _open(self, connection: socket.socket) -> None:
        try:
            async with asyncio.timeout(HEADER_TIMEOUT_S):
                header = await self._read_header(connection)
        except (ProxyHeaderError, OSError, TimeoutError) as error:
            logger.info("proxied.refused error=%s", error or type(error).__name__)
            connection.close()
            return
        except BaseException:
            connection.close()
            raise
        session = self._session()
        if header.source is not None:
            session.proxied_for(header.source)
        try:
            await self._loop.connect_accepted_socket(
                lambda: session,
                connection,
                ssl=self._tls,
                ssl_handshake_timeout=self._handshake_timeout_s if self._tls else None,
                ssl_shutdown_timeout=self._shutdown_timeout_s if self._tls else None,
            )
        except (OSError, ssl.SSLError, TimeoutError) as error:  # a failed TLS handshake
            logger.info("proxied.handshake_failed address=%s error=%s", header.source, error)
            connection.close()

    async def _read_header(self, connection: socket.socket) -> ProxyHeader:
        """Peek until the header is whole, then consume exactly its bytes.

        Raises:
            ProxyHeaderError: the bytes are not a PROXY header.
            OSError: the connection failed or ended before its header did.
        """
        while True:
            await self._readable(connection)
            try:
                seen = connection.recv(PEEK_BYTES, socket.MSG_PEEK)
            except BlockingIOError:  # woken without bytes after all
                continue
            if not seen:
                raise ConnectionResetError("the connection ended before its PROXY header")
            header = parse_proxy_header(seen)
            if header is not None:
                break
            await asyncio.sleep(PARTIAL_WAIT_S)
        remaining = header.length
        while remaining:
            taken = await self._loop.sock_recv(connection, min(remaining, 65536))
            if not taken:
                raise ConnectionResetError("the connection ended inside its PROXY header")
            remaining -= len(taken)
        return header

    async def _readable(self, connection: socket.socket) -> None:
        """Wait until the socket has bytes to read (or its end)."""
        ready = self._loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        descriptor = connection.fileno()
        self._loop.add_reader(descriptor, wake)
        try:
            await ready
        finally:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(descriptor)
