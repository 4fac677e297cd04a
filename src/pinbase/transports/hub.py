"""What every connection of the device listeners shares: services, limits, the live set."""

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
from pinbase.transports.lockout import LoginLockout
from pinbase.transports.outbox import MAX_QUEUED_FRAMES, MAX_WRITE_BUFFER


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkOptions:
    """The per-connection numbers; the defaults are the spec's, tests shrink them."""

    heartbeat_factor: float = HEARTBEAT_FACTOR
    push_interval: float = PUSH_INTERVAL_SECONDS
    login_timeout: float = LOGIN_TIMEOUT_SECONDS
    info_wait: float = INFO_WAIT_SECONDS
    max_body_size: int = MAX_INBOUND_BODY
    max_queued_frames: int = MAX_QUEUED_FRAMES
    max_write_buffer: int = MAX_WRITE_BUFFER
    flood_rate: float = FLOOD_RATE
    flood_burst: int = FLOOD_BURST


class Connection(Protocol):
    """What the listeners need of a live connection to stop it."""

    def shutdown(self) -> None:
        """Close, flushing what was written."""
        ...

    def abort(self) -> None:
        """Drop at once."""
        ...


@dataclass(slots=True, kw_only=True)
class Hub:
    """Shared by every connection of one set of listeners."""

    gateway: DeviceGateway
    sessions: DeviceSessions
    lockout: LoginLockout
    options: LinkOptions
    live: set[Connection] = field(default_factory=set)
    """Connections from accept to ``connection_lost``."""
    workers: set["asyncio.Task[None]"] = field(default_factory=set)
    """Tasks handling events right now; ``stop`` waits for them."""
