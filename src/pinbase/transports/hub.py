"""What every connection of the device listeners shares: services, limits, the live set.

``SessionOptions`` and ``SessionHub`` are what both protocols have (``stream_session``,
``listening``); ``LinkOptions`` and ``Hub`` add the binary protocol's, ``mqtt_hub`` MQTT's.
"""

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from pinbase.protocols.device.flood import FLOOD_BURST, FLOOD_RATE
from pinbase.protocols.device.frames import MAX_INBOUND_BODY
from pinbase.protocols.device.timing import (
    HEARTBEAT_FACTOR,
    INFO_WAIT_SECONDS,
    LOGIN_TIMEOUT_SECONDS,
    PUSH_INTERVAL_SECONDS,
)
from pinbase.services.device_gateway import DeviceGateway
from pinbase.services.device_sessions import DeviceSessions
from pinbase.transports.login_guard import LoginGuard
from pinbase.transports.outbox import MAX_QUEUED_FRAMES, MAX_WRITE_BUFFER

DIAG_INTERVAL_SECONDS = 1.0
"""At most one diagnostic line (MQTT ``downlink/diag``, binary DEBUG_PRINT) per second per
connection, hence per device (device-lifecycle.md §4 Recommendation): a device looping on a
refused write is not sent a line per try."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionOptions:
    """The per-connection numbers of every protocol; the defaults are the spec's (§1.12)."""

    max_write_buffer: int = MAX_WRITE_BUFFER
    flood_rate: float = FLOOD_RATE
    flood_burst: int = FLOOD_BURST
    diag_interval: float = DIAG_INTERVAL_SECONDS


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkOptions(SessionOptions):
    """The binary protocol's per-connection numbers; the defaults are the spec's, tests shrink
    them."""

    heartbeat_factor: float = HEARTBEAT_FACTOR
    push_interval: float = PUSH_INTERVAL_SECONDS
    login_timeout: float = LOGIN_TIMEOUT_SECONDS
    info_wait: float = INFO_WAIT_SECONDS
    max_body_size: int = MAX_INBOUND_BODY
    max_queued_frames: int = MAX_QUEUED_FRAMES


class Connection(Protocol):
    """What the listeners need of a live connection to stop it."""

    def shutdown(self) -> None:
        """Close, flushing what was written."""
        ...

    def abort(self) -> None:
        """Drop at once."""
        ...


@dataclass(slots=True, kw_only=True)
class SessionHub:
    """Shared by every connection of one set of listeners, whatever the protocol."""

    sessions: DeviceSessions
    """The connected devices, across both protocols."""
    guard: LoginGuard
    """Failed logins: one rule, one count and one tarpit for both protocols."""
    options: SessionOptions
    live: set[Connection] = field(default_factory=set)
    """Connections from accept to ``connection_lost``."""
    workers: set["asyncio.Task[None]"] = field(default_factory=set)
    """Tasks handling events (and MQTT wills) right now; ``stop`` waits for them."""


@dataclass(slots=True, kw_only=True)
class Hub(SessionHub):
    """Shared by every connection of the binary listeners."""

    gateway: DeviceGateway
    options: LinkOptions
