"""The Blynk binary protocol listeners: plain TCP and TLS, in the server's own event loop.

``DeviceListeners.start(services, settings)`` opens what the settings ask for (device-protocols.md
§1.1: 8442 plain, 8441 TLS when a certificate is configured; port 0 turns a listener off) and
wires every connection to the shared services. Opening and stopping are ``listening``'s, shared
with the MQTT listeners: ``stop`` closes the listeners, then every connection (each flushes what
it was sent), and waits for the events in hand to be handled, so the history writer, stopped
after it, commits every value a device sent before the end.
"""

from pinbase.services.container import Services
from pinbase.services.device_sessions import DeviceSessions
from pinbase.settings import Settings
from pinbase.transports.hub import Hub, LinkOptions
from pinbase.transports.listening import Listeners, device_gateway
from pinbase.transports.login_guard import LoginGuard
from pinbase.transports.session import BinarySession


class DeviceListeners(Listeners):
    """The device-facing binary protocol servers of one process."""

    KIND = "tcp"

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub, lambda: BinarySession(hub))

    @classmethod
    def for_services(
        cls,
        services: Services,
        *,
        settings: Settings,
        guard: LoginGuard,
        options: LinkOptions | None = None,
    ) -> "DeviceListeners":
        """Listeners bound to ``services``, configured by ``settings``, counting failed logins
        in ``guard`` (the MQTT listeners' too); nothing is open yet."""
        hub = Hub(
            gateway=device_gateway(services, settings),
            sessions=DeviceSessions(services.bus, services.presence),
            guard=guard,
            options=options
            or LinkOptions(
                heartbeat_factor=settings.heartbeat_factor,
                flood_rate=settings.device_message_rate,
                flood_burst=settings.device_message_burst,
            ),
        )
        return cls(hub)

    @classmethod
    async def start(
        cls, services: Services, settings: Settings, *, guard: LoginGuard
    ) -> "DeviceListeners":
        """Open the listeners the settings configure.

        Raises:
            OSError: a port is taken, or the certificate or key cannot be read.
            ssl.SSLError: the certificate and key do not form a usable pair.
        """
        listeners = cls.for_services(services, settings=settings, guard=guard)
        await listeners.open_ports(
            settings, port=settings.hardware_port, tls_port=settings.hardware_tls_port
        )
        return listeners

    @property
    def sessions(self) -> DeviceSessions:
        """The connected devices (the MQTT listeners share them)."""
        return self._hub.sessions

    async def stop(self) -> None:
        """Stop accepting, close every connection and wait (a bounded time) for them to end;
        then the sessions stop following the bus."""
        await super().stop()
        self._hub.sessions.close()
