"""Which devices hold a live connection right now, and since when; changes are announced.

``DeviceSessions`` marks it as device links log in and end. The HTTP API reads it for
``isHardwareConnected``, the console for its online dots (``PresenceChanged`` on the bus, and
``changed_at`` in a viewer's snapshot). Nothing here is persisted: after a restart every device
is offline until it reconnects, and no change time is known.
"""

from pinbase.domain.ids import DeviceId
from pinbase.services.bus import Bus, PresenceChanged
from pinbase.services.clock import Clock


class Presence:
    """The set of connected devices, with the time each one's presence last changed."""

    def __init__(self, bus: Bus, clock: Clock) -> None:
        self._bus = bus
        self._clock = clock
        self._online: set[DeviceId] = set()
        self._changed_at: dict[DeviceId, int] = {}

    def mark_online(self, device_id: DeviceId) -> None:
        """Record that the device holds a connection; announce it if it was offline."""
        if device_id not in self._online:
            self._online.add(device_id)
            self._announce(device_id, online=True)

    def mark_offline(self, device_id: DeviceId) -> None:
        """Record that the device's connection ended; announce it if it was online."""
        if device_id in self._online:
            self._online.discard(device_id)
            self._announce(device_id, online=False)

    def is_online(self, device_id: DeviceId) -> bool:
        """Whether the device holds a connection now."""
        return device_id in self._online

    def changed_at(self, device_id: DeviceId) -> int | None:
        """When the device last went online or offline (ms), None if not since the start."""
        return self._changed_at.get(device_id)

    def _announce(self, device_id: DeviceId, *, online: bool) -> None:
        ts = self._clock()
        self._changed_at[device_id] = ts
        self._bus.publish(PresenceChanged(device_id=device_id, online=online, ts=ts))
