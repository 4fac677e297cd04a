"""The Blynk binary protocol listeners: plain TCP and TLS, in the server's own event loop.

``DeviceListeners.start(services, settings)`` opens what the settings ask for (device-protocols.md
§1.1: 8442 plain, 8441 TLS when a certificate is configured; port 0 turns a listener off) and
wires every connection to the shared services. ``stop`` closes the listeners, then every
connection (each flushes what it was sent), and waits for the events in hand to be handled, so
the history writer, stopped after it, commits every value a device sent before the end.
"""

import asyncio
import logging
import ssl
from pathlib import Path

from pinbase.services.container import Services
from pinbase.services.device_gateway import DeviceGateway
from pinbase.services.device_sessions import DeviceSessions
from pinbase.settings import Settings
from pinbase.transports.hub import Hub, LinkOptions
from pinbase.transports.lockout import LoginLockout
from pinbase.transports.session import BinarySession

logger = logging.getLogger(__name__)

BACKLOG = 2048
"""Pending connections the kernel queues per listener: a fleet reconnecting after a restart
arrives at once (the HTTP listener uses the same)."""

TLS_HANDSHAKE_SECONDS = 10.0
"""A TLS handshake must finish as fast as a login must arrive (``LOGIN_TIMEOUT_SECONDS``)."""

TLS_SHUTDOWN_SECONDS = 5.0
"""How long a TLS close waits for the peer's close_notify."""

STOP_SECONDS = 5.0
"""How long ``stop`` waits for connections to flush and for handled events to be stored."""


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context for ``cert`` and ``key`` (PEM) that speaks TLS 1.2 and newer only."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


class DeviceListeners:
    """The device-facing binary protocol servers of one process."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._servers: list[asyncio.Server] = []

    @classmethod
    def for_services(
        cls, services: Services, *, settings: Settings, options: LinkOptions | None = None
    ) -> "DeviceListeners":
        """Listeners bound to ``services``, configured by ``settings``; nothing is open yet."""
        gateway = DeviceGateway(
            directory=services.directory,
            telemetry=services.telemetry,
            properties=services.properties,
            events=services.events,
            metadata=services.metadata,
            store=services.store,
            clock=services.clock,
            group_window_ms=settings.import_window_ms,
        )
        hub = Hub(
            gateway=gateway,
            sessions=DeviceSessions(services.bus, services.presence),
            lockout=LoginLockout(
                limit=settings.login_failures_limit, block_seconds=settings.login_block_s
            ),
            options=options
            or LinkOptions(
                heartbeat_factor=settings.heartbeat_factor,
                flood_rate=settings.device_message_rate,
                flood_burst=settings.device_message_burst,
            ),
        )
        return cls(hub)

    @classmethod
    async def start(cls, services: Services, settings: Settings) -> "DeviceListeners":
        """Open the listeners the settings configure.

        Raises:
            OSError: a port is taken, or the certificate or key cannot be read.
            ssl.SSLError: the certificate and key do not form a usable pair.
        """
        listeners = cls.for_services(services, settings=settings)
        try:
            if settings.hardware_port:
                await listeners.open(settings.host, settings.hardware_port)
            if settings.hardware_tls_port and settings.tls_cert and settings.tls_key:
                context = tls_context(settings.tls_cert, settings.tls_key)
                await listeners.open(settings.host, settings.hardware_tls_port, tls=context)
        except BaseException:
            await listeners.stop()
            raise
        return listeners

    @property
    def sessions(self) -> DeviceSessions:
        """The connected devices."""
        return self._hub.sessions

    async def open(self, host: str, port: int, *, tls: ssl.SSLContext | None = None) -> int:
        """Listen on ``host:port`` (0: any free port) and return the port bound."""
        loop = asyncio.get_running_loop()
        hub = self._hub
        server = await loop.create_server(
            lambda: BinarySession(hub),
            host,
            port,
            backlog=BACKLOG,
            ssl=tls,
            ssl_handshake_timeout=TLS_HANDSHAKE_SECONDS if tls else None,
            ssl_shutdown_timeout=TLS_SHUTDOWN_SECONDS if tls else None,
        )
        self._servers.append(server)
        bound = int(server.sockets[0].getsockname()[1])
        logger.info("tcp.listening host=%s port=%d tls=%s", host, bound, tls is not None)
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
        hub.sessions.close()
        logger.info("tcp.stopped")
