"""The live connections of devices: one per device, presence, and pushes from the bus.

A transport attaches a session once its device has logged in and detaches it when the connection
ends. A second login of the same device replaces the first session, which is told to close
(device-protocols.md §1.8.1 [R], the Blynk.Cloud MQTT rule). ``Presence`` follows the current
session only, so the replaced connection closing later does not mark the device offline.

Values stored by anyone else (HTTP APIs, automations, another device) reach the device's session
at once (§1.11.1); a value the session's own link wrote is never echoed back (data-model.md
§2.1 step 8). Bus delivery is synchronous, so sessions queue pushes and return.
"""

import logging
from typing import Protocol

from pinbase.domain.ids import DeviceId
from pinbase.services.bus import Bus, PropertyChanged, ValuesChanged
from pinbase.services.changes import DeviceRemoved
from pinbase.services.presence import Presence

logger = logging.getLogger(__name__)


class LiveSession(Protocol):
    """What a transport's connection offers once its device logged in."""

    @property
    def origin(self) -> str:
        """The bus origin of the values this link records, so they are not echoed to it."""
        ...

    def push_values(self, change: ValuesChanged) -> None:
        """Queue values written elsewhere for the device; never blocks, never raises."""
        ...

    def push_property(self, change: PropertyChanged) -> None:
        """Queue a property change, where the link can express one; never blocks or raises."""
        ...

    def replace(self) -> None:
        """Another login of the same device took over: close this connection."""
        ...


class DeviceSessions:
    """Which session each connected device holds, kept in step with ``Presence``."""

    def __init__(self, bus: Bus, presence: Presence) -> None:
        self._presence = presence
        self._live: dict[DeviceId, LiveSession] = {}
        self._unsubscribe = (
            bus.subscribe(ValuesChanged, self._on_values, remote=True),
            bus.subscribe(PropertyChanged, self._on_property, remote=True),
            bus.subscribe(DeviceRemoved, self._on_removed, remote=True),
        )

    def attach(self, device_id: DeviceId, session: LiveSession) -> None:
        """Make ``session`` the device's connection, mark it online, close a former one."""
        former = self._live.get(device_id)
        self._live[device_id] = session
        self._presence.mark_online(device_id)
        if former is not None and former is not session:
            logger.info("device.session_replaced device_id=%d", device_id)
            former.replace()

    def detach(self, device_id: DeviceId, session: LiveSession) -> None:
        """Forget ``session``; the device goes offline unless another session replaced it."""
        if self._live.get(device_id) is session:
            del self._live[device_id]
            self._presence.mark_offline(device_id)

    def session(self, device_id: DeviceId) -> LiveSession | None:
        """The device's current session, if it is connected."""
        return self._live.get(device_id)

    def close(self) -> None:
        """Stop listening to the bus (at shutdown)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def _on_values(self, change: ValuesChanged) -> None:
        session = self._live.get(change.device_id)
        if session is not None and change.origin != session.origin:
            session.push_values(change)

    def _on_property(self, change: PropertyChanged) -> None:
        session = self._live.get(change.device_id)
        if session is not None:
            session.push_property(change)

    def _on_removed(self, removed: DeviceRemoved) -> None:
        """A deleted device's connection closes like one replaced by a newer login; the
        transport then detaches it, which marks the device offline."""
        session = self._live.get(removed.device_id)
        if session is not None:
            logger.info("device.session_closed_deleted device_id=%d", removed.device_id)
            session.replace()
