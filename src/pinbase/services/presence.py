"""Which devices hold a live connection right now (the device listeners of a later issue mark it).

The HTTP API reads it for ``isHardwareConnected``; nothing here is persisted.
"""

from pinbase.domain.ids import DeviceId


class Presence:
    """The set of connected devices."""

    def __init__(self) -> None:
        self._online: set[DeviceId] = set()

    def mark_online(self, device_id: DeviceId) -> None:
        """Record that the device holds a connection."""
        self._online.add(device_id)

    def mark_offline(self, device_id: DeviceId) -> None:
        """Record that the device's connection ended."""
        self._online.discard(device_id)

    def is_online(self, device_id: DeviceId) -> bool:
        """Whether the device holds a connection now."""
        return device_id in self._online
