"""The MQTT device API listeners (device-protocols.md §2.1: 1883 plain, 8883 TLS), in the server's
own loop, and the same sessions over WebSocket at ``/mqtt`` of the HTTP listener
(``mqtt_websocket``, device-lifecycle.md §3).

Pinbase speaks MQTT itself, through the sans-IO ``protocols.mqtt`` core, rather than embedding a
general broker: a device talks only to the server, never to other clients, and the measured
general broker (amqtt 0.12) handled 8,000-17,500 QoS 0 publishes/s here (about 11,000 per
CPU-second) before any routing or storage, below the 20,000 msg/s target (docs/mqtt.md).
Opening and stopping are the binary listeners' own (``listening``), TLS included (§2.1: 8883).
"""

from pinbase.services.container import Services
from pinbase.services.device_sessions import DeviceSessions
from pinbase.services.named_gateway import NamedGateway
from pinbase.settings import Settings
from pinbase.transports.listening import Listeners, device_gateway
from pinbase.transports.login_guard import LoginGuard
from pinbase.transports.mqtt_hub import MqttHub, MqttOptions
from pinbase.transports.mqtt_session import MqttSession
from pinbase.transports.mqtt_websocket import MqttWebSocket


class MqttListeners(Listeners):
    """The MQTT servers of one process, sharing ``DeviceSessions`` with the binary listeners so
    that a device holds one connection whichever protocol it uses (§2.2)."""

    KIND = "mqtt"

    def __init__(self, hub: MqttHub) -> None:
        super().__init__(hub, lambda: MqttSession(hub))
        self._mqtt_hub = hub

    def websocket(self, *, origins: tuple[str, ...] = ()) -> MqttWebSocket:
        """The ASGI application of ``/mqtt`` (device-lifecycle.md §3): its sessions are these
        listeners' (same hub, same limits; ``stop`` closes them too)."""
        return MqttWebSocket(self._mqtt_hub, origins=origins)

    @classmethod
    def for_services(
        cls,
        services: Services,
        *,
        settings: Settings,
        sessions: DeviceSessions,
        guard: LoginGuard,
        options: MqttOptions | None = None,
    ) -> "MqttListeners":
        """Listeners bound to ``services``, counting failed logins in ``guard`` (the binary
        listeners' too); nothing is open yet."""
        named = NamedGateway(
            device_gateway(services, settings),
            telemetry=services.telemetry,
            properties=services.properties,
            store=services.store,
            bus=services.bus,
            clock=services.clock,
            window_ms=settings.import_window_ms,
        )
        hub = MqttHub(
            named=named,
            sessions=sessions,
            guard=guard,
            options=options
            or MqttOptions(
                max_packet=settings.mqtt_max_packet,
                flood_rate=settings.device_message_rate,
                flood_burst=settings.device_message_burst,
            ),
        )
        return cls(hub)

    @classmethod
    async def start(
        cls,
        services: Services,
        settings: Settings,
        *,
        sessions: DeviceSessions,
        guard: LoginGuard,
    ) -> "MqttListeners":
        """Open the listeners the settings configure: ``mqtt_port`` plain, ``mqtt_tls_port``
        over TLS when a certificate and key are set (§2.1: 1883 and 8883; 0 turns one off).

        Raises:
            OSError: a port is taken, or the certificate or key cannot be read.
            ssl.SSLError: the certificate and key do not form a usable pair.
        """
        listeners = cls.for_services(services, settings=settings, sessions=sessions, guard=guard)
        await listeners.open_ports(
            settings, port=settings.mqtt_port, tls_port=settings.mqtt_tls_port
        )
        return listeners
