"""The live connections of devices: one per device, presence, and pushes from the bus.

A transport attaches a session once its device has logged in and detaches it when the connection
ends. A second login of the same device replaces the first session, which is told to close
(device-protocols.md §1.8.1 [R], the Blynk.Cloud MQTT rule), on whichever node of the
installation it is (issue #11): attaching claims the device in ``Presence`` (a ``SessionClaimed``
on the bus, sent to every node), and on each claim every node closes its session of the device
if that session no longer holds it. The same path serves one node and several. ``Presence``
follows the holding session only, so the replaced connection closing later does not mark the
device offline.

Values stored by anyone else (HTTP APIs, automations, another device) reach the device's session
at once (§1.11.1); a value the session's own link wrote is never echoed back (data-model.md
§2.1 step 8). A ``PinPushed`` value (a legacy webhook's answer, automations.md §4.6) reaches the
session the same way without being stored. A ``DeviceCommanded`` (an OTA notice, a reboot, a
ping…, device-lifecycle.md §1.3, §1.4, §4) reaches the session holding the device, here or on
another node. Bus delivery is synchronous, so sessions queue pushes and return.
"""

import logging
from typing import Protocol

from pinbase.domain.ids import DeviceId
from pinbase.services.bus import (
    Bus,
    DeviceCommanded,
    PinPushed,
    PropertyChanged,
    ValuesChanged,
    WrittenValue,
)
from pinbase.services.changes import DeviceRemoved
from pinbase.services.presence import Presence, PresenceHeld, SessionClaimed

logger = logging.getLogger(__name__)

PUSHED = "webhook"
"""The origin a ``PinPushed`` value reaches a session with (no link records under it)."""


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

    def send_command(self, command: DeviceCommanded) -> None:
        """Queue a command for the device the way its protocol expresses it (or log why it
        cannot); never blocks, never raises."""
        ...

    def replace(self) -> None:
        """Another login of the same device took over: close this connection."""
        ...


class DeviceSessions:
    """Which session each device connected to this node holds, kept in step with ``Presence``."""

    def __init__(self, bus: Bus, presence: Presence) -> None:
        self._presence = presence
        self._live: dict[DeviceId, tuple[int, LiveSession]] = {}
        # Presence subscribed first (it exists before any DeviceSessions), so it has taken each
        # claim in when ``_on_claimed`` asks it who holds the device.
        self._unsubscribe = (
            bus.subscribe(ValuesChanged, self._on_values, remote=True),
            bus.subscribe(PropertyChanged, self._on_property, remote=True),
            bus.subscribe(DeviceRemoved, self._on_removed, remote=True),
            bus.subscribe(SessionClaimed, self._on_claimed, remote=True),
            bus.subscribe(PresenceHeld, self._on_held, remote=True),
            bus.subscribe(PinPushed, self._on_pushed, remote=True),
            bus.subscribe(DeviceCommanded, self._on_commanded, remote=True),
        )

    def attach(self, device_id: DeviceId, session: LiveSession) -> None:
        """Make ``session`` the device's connection in the installation, mark it online, close
        a former one, here or on another node."""
        held = self._live.get(device_id)
        if held is not None and held[1] is session:  # the same link again: keep it open
            del self._live[device_id]
        claim = self._presence.claim(device_id)
        if self._presence.holds(device_id, claim):
            self._live[device_id] = (claim, session)
        else:  # a newer login elsewhere already holds it (clocks of nodes apart)
            logger.info("device.session_replaced device_id=%d", device_id)
            session.replace()

    def detach(self, device_id: DeviceId, session: LiveSession) -> None:
        """Forget ``session``; the device goes offline unless another session replaced it."""
        held = self._live.get(device_id)
        if held is not None and held[1] is session:
            del self._live[device_id]
            self._presence.release(device_id, held[0])

    def session(self, device_id: DeviceId) -> LiveSession | None:
        """The device's current session, if it is connected to this node."""
        held = self._live.get(device_id)
        return None if held is None else held[1]

    def close(self) -> None:
        """Stop listening to the bus (at shutdown)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def _on_claimed(self, claimed: SessionClaimed) -> None:
        self._close_if_replaced(claimed.device_id)

    def _on_held(self, held: PresenceHeld) -> None:
        for device_id, _, _ in held.held():
            self._close_if_replaced(device_id)

    def _close_if_replaced(self, device_id: DeviceId) -> None:
        held = self._live.get(device_id)
        if held is not None and not self._presence.holds(device_id, held[0]):
            del self._live[device_id]
            logger.info("device.session_replaced device_id=%d", device_id)
            held[1].replace()

    def _on_values(self, change: ValuesChanged) -> None:
        held = self._live.get(change.device_id)
        if held is not None and change.origin != held[1].origin:
            held[1].push_values(change)

    def _on_pushed(self, pushed: PinPushed) -> None:
        held = self._live.get(pushed.device_id)
        if held is not None:
            written = WrittenValue(pushed.datastream_id, pushed.pin, pushed.label, pushed.value)
            held[1].push_values(
                ValuesChanged(
                    device_id=pushed.device_id, writes=(written,), ts=pushed.ts, origin=PUSHED
                )
            )

    def _on_commanded(self, command: DeviceCommanded) -> None:
        held = self._live.get(command.device_id)
        if held is not None:
            held[1].send_command(command)

    def _on_property(self, change: PropertyChanged) -> None:
        held = self._live.get(change.device_id)
        if held is not None:
            held[1].push_property(change)

    def _on_removed(self, removed: DeviceRemoved) -> None:
        """A deleted device's connection closes like one replaced by a newer login; the
        transport then detaches it, which marks the device offline."""
        held = self._live.get(removed.device_id)
        if held is not None:
            logger.info("device.session_closed_deleted device_id=%d", removed.device_id)
            held[1].replace()
