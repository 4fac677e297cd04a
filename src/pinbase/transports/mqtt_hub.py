"""What every connection of the MQTT listener shares: services, limits, the live set."""

import asyncio
from dataclasses import dataclass, field

from pinbase.protocols.device.flood import FLOOD_BURST, FLOOD_RATE
from pinbase.protocols.mqtt.packets import DEFAULT_MAX_PACKET
from pinbase.services.device_sessions import DeviceSessions
from pinbase.services.named_gateway import NamedGateway
from pinbase.transports.hub import Connection
from pinbase.transports.lockout import LoginLockout
from pinbase.transports.outbox import MAX_WRITE_BUFFER

CONNECT_TIMEOUT_SECONDS = 10.0
"""How long a new connection may take to send CONNECT, as long as a binary login may take."""

KEEP_ALIVE_FACTOR = 1.5
"""A connection silent for 1.5 x its keep-alive is dropped (MQTT 3.1.1 §3.1.2.10, §2.2)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttOptions:
    """The per-connection numbers; the defaults are the spec's, tests shrink them."""

    max_packet: int = DEFAULT_MAX_PACKET
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS
    keep_alive_factor: float = KEEP_ALIVE_FACTOR
    max_write_buffer: int = MAX_WRITE_BUFFER
    flood_rate: float = FLOOD_RATE
    flood_burst: int = FLOOD_BURST


@dataclass(slots=True, kw_only=True)
class MqttHub:
    """Shared by every connection of the MQTT listener."""

    named: NamedGateway
    sessions: DeviceSessions
    lockout: LoginLockout
    options: MqttOptions
    live: set[Connection] = field(default_factory=set)
    """Connections from accept to ``connection_lost``."""
    workers: set["asyncio.Task[None]"] = field(default_factory=set)
    """Tasks handling events (and wills) right now; ``stop`` waits for them."""
