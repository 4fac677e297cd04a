"""What the binary (``tcp``) and MQTT (``mqtt``) device listeners do alike: build the device use
cases, open servers, plain or TLS 1.2+ (one certificate for both protocols), and stop them
without losing what connections already sent.

Stopping is ordered so that the history writer, stopped after the listeners, commits every value
a device sent before the end: stop accepting, ask every connection to close (each flushes what it
was sent), wait a bounded time for the events in hand to be handled, then drop what is left.
"""

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from pinbase.services.container import Services
from pinbase.services.device_gateway import DeviceGateway
from pinbase.settings import Settings
from pinbase.transports.hub import SessionHub
from pinbase.transports.ports import unavailable
from pinbase.transports.proxied import ProxiedServer
from pinbase.transports.stream_session import StreamSession

logger = logging.getLogger(__name__)

BACKLOG = 2048
"""Pending connections the kernel queues per listener: a fleet reconnecting after a restart
arrives at once (the HTTP listener uses the same)."""

TLS_HANDSHAKE_SECONDS = 10.0
"""A TLS handshake must finish as fast as a login must arrive (``LOGIN_TIMEOUT_SECONDS``)."""

TLS_SHUTDOWN_SECONDS = 5.0
"""How long a TLS close waits for the peer's close_notify."""

STOP_SECONDS = 5.0
"""How long ``Listeners.stop`` waits for connections to flush and for handled events to be
stored."""


class TlsUnusable(ValueError):
    """The certificate and key of the TLS listeners cannot be loaded."""


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context for ``cert`` and ``key`` (PEM) that speaks TLS 1.2 and newer only.

    Raises:
        TlsUnusable: a file is missing or unreadable, or the two do not form a PEM pair.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except OSError as error:  # ssl.SSLError included
        missing = [str(path) for path in (cert, key) if not path.is_file()]
        if missing:
            reason = f"no such file: {missing[0]}"
        elif isinstance(error, ssl.SSLError):
            reason = f"not a PEM certificate and its key: {error.strerror or error}"
        else:
            reason = (error.strerror or str(error)).lower()
        raise TlsUnusable(
            f"cannot load the TLS certificate {cert} and key {key} ({reason})"
        ) from error
    return context


def device_gateway(services: Services, settings: Settings) -> DeviceGateway:
    """The device use cases over ``services``, as both protocols serve them."""
    return DeviceGateway(
        directory=services.directory,
        telemetry=services.telemetry,
        properties=services.properties,
        events=services.events,
        metadata=services.metadata,
        clock=services.clock,
        group_window_ms=settings.import_window_ms,
        legacy=services.legacy_messages,
    )


def _listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A non-blocking TCP socket listening on ``host:port``, as ``create_server`` makes one (one
    address: the first ``getaddrinfo`` gives).

    Raises:
        OSError: the address cannot be resolved or bound.
    """
    family, kind, protocol, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.socket(family, kind, protocol)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(address)
        listener.listen(BACKLOG)
        listener.setblocking(False)
    except BaseException:
        listener.close()
        raise
    return listener


class Listeners:
    """The servers of one protocol in one process, and their connections (``hub``)."""

    KIND: ClassVar[str]
    """The first word of the log events: ``tcp`` or ``mqtt``."""

    def __init__(self, hub: SessionHub, session: Callable[[], StreamSession]) -> None:
        self._hub = hub
        self._session = session
        self._servers: list[asyncio.Server | ProxiedServer] = []

    async def open_ports(self, settings: Settings, *, port: int, tls_port: int) -> None:
        """Open ``port`` plain and ``tls_port`` over TLS when a certificate and key are set;
        0 turns either off. On failure, what was opened is closed again.

        Raises:
            PortUnavailable: a port is taken (or not this host's, or privileged).
            TlsUnusable: the certificate or key cannot be loaded.
        """
        shared, proxied = settings.reuse_port, settings.proxy_protocol
        try:
            if port:
                await self.open(settings.host, port, reuse_port=shared, proxied=proxied)
            if tls_port and settings.tls_cert and settings.tls_key:
                context = tls_context(settings.tls_cert, settings.tls_key)
                await self.open(
                    settings.host, tls_port, tls=context, reuse_port=shared, proxied=proxied
                )
        except BaseException:
            await self.stop()
            raise

    async def open(
        self,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        reuse_port: bool = False,
        proxied: bool = False,
    ) -> int:
        """Listen on ``host:port`` (0: any free port) and return the port bound; with
        ``reuse_port``, together with other processes (SO_REUSEPORT: ``serve --workers``);
        ``proxied``, reading a PROXY header first on every connection (``transports.proxied``).

        Raises:
            PortUnavailable: the port cannot be bound.
        """
        server: asyncio.Server | ProxiedServer
        try:
            if proxied:
                server = ProxiedServer(
                    _listening_socket(host, port, reuse_port=reuse_port),
                    self._session,
                    tls=tls,
                    handshake_timeout_s=TLS_HANDSHAKE_SECONDS,
                    shutdown_timeout_s=TLS_SHUTDOWN_SECONDS,
                )
                bound = server.port
            else:
                server = await asyncio.get_running_loop().create_server(
                    self._session,
                    host,
                    port,
                    backlog=BACKLOG,
                    reuse_port=reuse_port or None,
                    ssl=tls,
                    ssl_handshake_timeout=TLS_HANDSHAKE_SECONDS if tls else None,
                    ssl_shutdown_timeout=TLS_SHUTDOWN_SECONDS if tls else None,
                )
                bound = int(server.sockets[0].getsockname()[1])
        except OSError as error:
            raise unavailable(host, port, error) from error
        self._servers.append(server)
        logger.info(
            "%s.listening host=%s port=%d tls=%s proxy_protocol=%s",
            self.KIND,
            host,
            bound,
            tls is not None,
            proxied,
        )
        return bound

    async def stop(self) -> None:
        """Stop accepting, close every connection and wait (a bounded time) for them to end."""
        for server in self._servers:
            server.close()
        hub = self._hub
        for session in list(hub.live):
            session.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_SECONDS
        while (hub.live or hub.workers) and loop.time() < deadline:
            if hub.workers:
                await asyncio.wait(set(hub.workers), timeout=deadline - loop.time())
            else:
                await asyncio.sleep(0.01)
        for session in list(hub.live):
            session.abort()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        logger.info("%s.stopped", self.KIND)
