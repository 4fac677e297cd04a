"""What every connection of the MQTT listener shares: services, limits, the live set."""

from dataclasses import dataclass

from pinbase.protocols.mqtt.packets import DEFAULT_MAX_PACKET
from pinbase.services.named_gateway import NamedGateway
from pinbase.transports.hub import SessionHub, SessionOptions

CONNECT_TIMEOUT_SECONDS = 10.0
"""How long a new connection may take to send CONNECT, as long as a binary login may take."""

KEEP_ALIVE_FACTOR = 1.5
"""A connection silent for 1.5 x its keep-alive is dropped (MQTT 3.1.1 §3.1.2.10, §2.2)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttOptions(SessionOptions):
    """MQTT's per-connection numbers; the defaults are the spec's, tests shrink them."""

    max_packet: int = DEFAULT_MAX_PACKET
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS
    keep_alive_factor: float = KEEP_ALIVE_FACTOR


@dataclass(slots=True, kw_only=True)
class MqttHub(SessionHub):
    """Shared by every connection of the MQTT listeners."""

    named: NamedGateway
    options: MqttOptions
