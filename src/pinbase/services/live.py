"""Live console updates: a hub fanning bus messages out to viewers, one per browser tab.

Theory of operation (console.md §4). A viewer subscribes to the devices its page shows; what
the caller may see is a predicate over devices (``ConsoleCaller.can_view_device``: its scope, and
for a User role only the devices it owns), so a device it may not see is answered exactly like a
missing one and never delivered. Subscribing replaces the viewer's devices and queues a
``Snapshot`` (current values with their time, properties, online status) ahead of any change, so
the page starts from the full state after every (re)connection, then receives ``LiveUpdate``
deltas.

The bus calls the hub synchronously inside a device's write, so the hub only enqueues: a dict
lookup for devices nobody watches (the common case), and per watching viewer a few dict or list
operations. Everything slow (rendering, the socket) runs in the viewer's own task, which calls
``Viewer.next_update``. Between two updates a viewer keeps:

- the latest value per (device, datastream) and the latest property per (device, datastream,
  name) and status per device: a newer one replaces an older one, so a device writing faster
  than a browser can follow costs the viewer nothing more;
- String values (a Terminal appends each one, console.md §2.3) and timeline entries in order,
  never dropped.

``next_update`` hands them over at most once per ``FLUSH_INTERVAL_S`` (≤ 20 updates a second,
Blynk's web limit, blynk.console/limits.md); the first change after a quiet spell goes at once.
A viewer whose never-dropped entries pass ``MAX_PENDING_ENTRIES`` cannot keep up: it is
disconnected (``ViewerDisconnected``) and its queue freed, and the page reconnects to a fresh
snapshot. A slow browser therefore never slows a device or another viewer.
"""

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from pinbase.domain.devices import Device
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.value_types import Value
from pinbase.services.bus import (
    Bus,
    PresenceChanged,
    PropertyChanged,
    TimelineEntryAdded,
    ValuesChanged,
)
from pinbase.services.changes import DeviceRemoved, DeviceSaved
from pinbase.services.directory import Directory
from pinbase.services.presence import Presence
from pinbase.services.properties import Properties
from pinbase.services.telemetry import Telemetry

logger = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.05
"""At most 20 updates a second per viewer: Blynk's "20 real-time updates per second" for web and
app (blynk.console/limits.md, console.md §4)."""

MAX_VIEWED_DEVICES = 1_000
"""Devices one viewer may watch: a device list page shows at most one Platform API page of
devices (``Settings.max_page_size``'s ceiling, 1,000); a device page watches one."""

MAX_PENDING_ENTRIES = 4_096
"""Never-dropped entries (String values, timeline entries) waiting for one viewer before it is
disconnected. A healthy tab takes them every 50 ms; at the device flood rule (20 messages/s,
device-protocols.md §1.12) one device's Terminal fills this in over three minutes of a stalled
tab, and at the bench's 1,000 String writes/s in four seconds. Each entry is about 200 bytes
beside its string (≤ 1 KB), so a full queue holds at most ~5 MB."""

DevicePredicate = Callable[[Device], bool]
"""Whether the caller may see a device (``ConsoleCaller.can_view_device``)."""

PropertyValue = str | tuple[str, ...]


class ViewerDisconnected(Exception):
    """The viewer was closed: it fell behind (overflow) or its connection ended."""


class TooManyDevices(ValueError):
    """A subscription named more than ``MAX_VIEWED_DEVICES`` devices."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveValue:
    """A value of a device's datastream and when it was stored (``ts``, ms); ``origin`` is the
    writer's bus origin, None for a value read from the current state (snapshots)."""

    device_id: DeviceId
    datastream_id: DatastreamId
    value: Value
    ts: int | None
    origin: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSnapshot:
    """The state of one watched device when the subscription began.

    ``values`` holds each datastream's current value, or its default with ``ts`` None;
    ``properties`` the stored widget properties by datastream and name; ``changed_at`` when the
    device last went online or offline, None if not since the server started.
    """

    device_id: DeviceId
    online: bool
    changed_at: int | None
    values: tuple[LiveValue, ...]
    properties: Mapping[DatastreamId, Mapping[str, PropertyValue]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """What a subscription sees first. ``missing`` lists the ids asked for that are unknown or
    outside the caller's scope, alike."""

    devices: tuple[DeviceSnapshot, ...]
    missing: tuple[DeviceId, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveUpdate:
    """Changes since the viewer's last update; each tuple may be empty, not all are."""

    values: tuple[LiveValue, ...]
    properties: tuple[PropertyChanged, ...]
    statuses: tuple[PresenceChanged, ...]
    timeline: tuple[TimelineEntryAdded, ...]


class Viewer:
    """One browser tab's subscription and its bounded queue; built by ``LiveHub.open``."""

    def __init__(self, hub: "LiveHub", may_view: DevicePredicate, *, max_pending: int) -> None:
        self._hub = hub
        self._may_view = may_view
        self._max_pending = max_pending
        self.devices: frozenset[DeviceId] = frozenset()
        self._snapshot: Snapshot | None = None
        self._latest: dict[tuple[DeviceId, DatastreamId], LiveValue] = {}
        self._appended: list[LiveValue] = []
        self._properties: dict[tuple[DeviceId, DatastreamId, str], PropertyChanged] = {}
        self._statuses: dict[DeviceId, PresenceChanged] = {}
        self._timeline: list[TimelineEntryAdded] = []
        self._ready = asyncio.Event()
        self._last_flush = 0.0
        self._closed: str | None = None

    def may_view(self, device: Device) -> bool:
        """Whether the viewer's caller may see ``device``."""
        return self._may_view(device)

    async def subscribe(self, device_ids: Collection[DeviceId]) -> None:
        """Watch exactly ``device_ids`` from now on; the next ``next_update`` is their snapshot.

        Raises:
            TooManyDevices: more than ``MAX_VIEWED_DEVICES`` ids.
            ViewerDisconnected: the viewer was closed.
        """
        if len(device_ids) > MAX_VIEWED_DEVICES:
            raise TooManyDevices(f"at most {MAX_VIEWED_DEVICES} devices per subscription")
        self._check_open()
        await self._hub.resolve(device_ids)
        # From here to the end nothing awaits: no change can fall between snapshot and deltas.
        self._check_open()
        self._drop_pending()
        self._snapshot = self._hub.watch(self, device_ids)
        self._ready.set()

    async def next_update(self) -> Snapshot | LiveUpdate:
        """The pending snapshot, else the changes since the last update, waiting for one and
        at least ``FLUSH_INTERVAL_S`` after the previous update.

        Raises:
            ViewerDisconnected: the viewer fell behind or was closed.
        """
        loop = asyncio.get_running_loop()
        while True:
            self._check_open()
            snapshot = self._snapshot
            if snapshot is not None:
                self._snapshot = None
                return snapshot
            if self._has_pending():
                delay = self._last_flush + FLUSH_INTERVAL_S - loop.time()
                if delay <= 0:
                    self._last_flush = loop.time()
                    return self._take()
                await asyncio.sleep(delay)
                continue  # a new snapshot or a close may have come meanwhile
            self._ready.clear()
            await self._ready.wait()

    def close(self, reason: str = "closed") -> None:
        """Stop watching and free the queue; a waiting ``next_update`` raises."""
        if self._closed is None:
            self._closed = reason
            self._hub.unwatch(self)
            self._drop_pending()
            self._snapshot = None
            self._ready.set()

    @property
    def is_closed(self) -> bool:
        """Whether the viewer was closed (by its owner, or for falling behind)."""
        return self._closed is not None

    # --- called by the hub inside the bus callback: enqueue only --------------------------

    def add_values(self, values: list[LiveValue]) -> None:
        """Queue values: String values in order, any other as the latest of its datastream."""
        for value in values:
            if isinstance(value.value, str):
                self._appended.append(value)
            else:
                self._latest[(value.device_id, value.datastream_id)] = value
        self._queued()

    def add_property(self, change: PropertyChanged) -> None:
        """Queue a property change, replacing an older one of the same property."""
        self._properties[(change.device_id, change.datastream_id, change.name)] = change
        self._queued()

    def add_status(self, change: PresenceChanged) -> None:
        """Queue a device's presence change, replacing an older one."""
        self._statuses[change.device_id] = change
        self._queued()

    def add_timeline(self, entry: TimelineEntryAdded) -> None:
        """Queue a timeline entry (never dropped)."""
        self._timeline.append(entry)
        self._queued()

    def stop_watching(self, device_id: DeviceId) -> None:
        """The device was deleted or left the caller's scope: deliver nothing more of it."""
        self.devices = self.devices - {device_id}

    # --- internals --------------------------------------------------------------------------

    def _queued(self) -> None:
        if len(self._appended) + len(self._timeline) > self._max_pending:
            logger.warning("live.viewer_overflow pending=%d", self._max_pending)
            self.close("fell behind")
            return
        if not self._ready.is_set():
            self._ready.set()

    def _check_open(self) -> None:
        if self._closed is not None:
            raise ViewerDisconnected(self._closed)

    def _has_pending(self) -> bool:
        return bool(
            self._latest or self._appended or self._properties or self._statuses or self._timeline
        )

    def _take(self) -> LiveUpdate:
        update = LiveUpdate(
            values=(*self._latest.values(), *self._appended),
            properties=tuple(self._properties.values()),
            statuses=tuple(self._statuses.values()),
            timeline=tuple(self._timeline),
        )
        self._drop_pending()
        return update

    def _drop_pending(self) -> None:
        self._latest = {}
        self._appended = []
        self._properties = {}
        self._statuses = {}
        self._timeline = []


class LiveHub:
    """Subscribed to the bus for its lifetime; knows which viewers watch which device."""

    def __init__(
        self,
        bus: Bus,
        *,
        directory: Directory,
        telemetry: Telemetry,
        properties: Properties,
        presence: Presence,
        max_pending: int = MAX_PENDING_ENTRIES,
    ) -> None:
        """``max_pending`` is for tests of the overflow rule; servers keep the default."""
        self._directory = directory
        self._telemetry = telemetry
        self._properties = properties
        self._presence = presence
        self._max_pending = max_pending
        self._watching: dict[DeviceId, set[Viewer]] = {}
        self._unsubscribe = (
            bus.subscribe(ValuesChanged, self._on_values, remote=True),
            bus.subscribe(PropertyChanged, self._on_property, remote=True),
            bus.subscribe(PresenceChanged, self._on_presence, remote=True),
            bus.subscribe(TimelineEntryAdded, self._on_timeline, remote=True),
            bus.subscribe(DeviceSaved, self._on_device_saved, remote=True),
            bus.subscribe(DeviceRemoved, self._on_device_removed, remote=True),
        )

    def open(self, may_view: DevicePredicate) -> Viewer:
        """A new viewer for a caller who may see the devices ``may_view`` accepts (asked again
        at each subscription and each change of a watched device, so it may change)."""
        return Viewer(self, may_view, max_pending=self._max_pending)

    def close(self) -> None:
        """Stop listening to the bus (at shutdown)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def viewers_of(self, device_id: DeviceId) -> int:
        """How many viewers watch the device now."""
        return len(self._watching.get(device_id, ()))

    async def resolve(self, device_ids: Collection[DeviceId]) -> None:
        """Index devices the directory does not know yet (made by another process)."""
        for device_id in device_ids:
            if self._directory.by_id(device_id) is None:
                await self._directory.find_by_id(device_id)

    def watch(self, viewer: Viewer, device_ids: Collection[DeviceId]) -> Snapshot:
        """Make ``viewer`` watch the visible ones among ``device_ids``; their snapshot."""
        self.unwatch(viewer)
        shown: list[DeviceSnapshot] = []
        missing: list[DeviceId] = []
        for device_id in dict.fromkeys(device_ids):
            bound = self._directory.by_id(device_id)
            if bound is None or not viewer.may_view(bound.device):
                missing.append(device_id)
                continue
            self._watching.setdefault(device_id, set()).add(viewer)
            values = []
            for datastream in bound.template.datastreams:
                point = self._telemetry.current(device_id, datastream)
                if point is not None:
                    values.append(_value(device_id, datastream.id, point.value, point.ts))
                elif datastream.default_value is not None:
                    values.append(_value(device_id, datastream.id, datastream.default_value, None))
            stored = self._properties.of_device(device_id)
            shown.append(
                DeviceSnapshot(
                    device_id=device_id,
                    online=self._presence.is_online(device_id),
                    changed_at=self._presence.changed_at(device_id),
                    values=tuple(values),
                    properties={
                        ds_id: {name: _frozen(value) for name, value in by_name.items()}
                        for ds_id, by_name in stored.items()
                    },
                )
            )
        viewer.devices = frozenset(snapshot.device_id for snapshot in shown)
        return Snapshot(devices=tuple(shown), missing=tuple(missing))

    def unwatch(self, viewer: Viewer) -> None:
        """Forget every device ``viewer`` watches."""
        for device_id in viewer.devices:
            self._forget(viewer, device_id)

    # --- bus callbacks: inside a writer's call, so they only enqueue ------------------------

    def _on_values(self, change: ValuesChanged) -> None:
        viewers = self._watching.get(change.device_id)
        if not viewers:
            return
        values = [
            LiveValue(
                device_id=change.device_id,
                datastream_id=written.datastream_id,
                value=written.value,
                ts=change.ts,
                origin=change.origin,
            )
            for written in change.writes
        ]
        for viewer in tuple(viewers):  # an overflowing viewer leaves the set
            viewer.add_values(values)

    def _on_property(self, change: PropertyChanged) -> None:
        for viewer in tuple(self._watching.get(change.device_id, ())):
            viewer.add_property(change)

    def _on_presence(self, change: PresenceChanged) -> None:
        for viewer in tuple(self._watching.get(change.device_id, ())):
            viewer.add_status(change)

    def _on_timeline(self, entry: TimelineEntryAdded) -> None:
        if not entry.visible:
            return
        for viewer in tuple(self._watching.get(entry.device_id, ())):
            viewer.add_timeline(entry)

    def _on_device_saved(self, saved: DeviceSaved) -> None:
        """A device moved out of a viewer's sight (transfer, new owner) stops being delivered."""
        device = saved.device
        for viewer in tuple(self._watching.get(device.id, ())):
            if not viewer.may_view(device):
                self._forget(viewer, device.id)

    def _on_device_removed(self, removed: DeviceRemoved) -> None:
        for viewer in tuple(self._watching.get(removed.device_id, ())):
            self._forget(viewer, removed.device_id)

    def _forget(self, viewer: Viewer, device_id: DeviceId) -> None:
        viewer.stop_watching(device_id)
        watchers = self._watching.get(device_id)
        if watchers is not None:
            watchers.discard(viewer)
            if not watchers:
                del self._watching[device_id]


def _value(
    device_id: DeviceId, datastream_id: DatastreamId, value: Value, ts: int | None
) -> LiveValue:
    return LiveValue(
        device_id=device_id, datastream_id=datastream_id, value=value, ts=ts, origin=None
    )


def _frozen(value: str | list[str]) -> PropertyValue:
    return tuple(value) if isinstance(value, list) else value
