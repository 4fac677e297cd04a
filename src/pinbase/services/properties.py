"""Widget properties per device datastream (data-model.md §3): stored, then announced.

Any property name is accepted and stored verbatim (data-model.md §5.28); the few with a known
format (booleans, numbers) are checked so a typo does not reach every dashboard.

Reads (the Platform API's device info and property read-back) are answered from memory: every
stored property is loaded once at start (``load``, as ``Telemetry`` loads current values) and
kept current by ``set``, ``erase`` and ``forget``, so reading device info costs no query. Loading
each device's properties on its first read instead queued those reads one at a time behind the
SQLite store's lock, and the p99 of PLT-DEV-06 reached 1.2 s (bench/platform_api.py). Memory
(tracemalloc): 0.58 KB per device with two properties, 58 MB for 100,000 such devices.
"""

import re

import orjson

from pinbase.domain.datastreams import Datastream
from pinbase.domain.devices import Device
from pinbase.domain.errors import ValueMismatch
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.values import MAX_STRING_BYTES
from pinbase.services.bus import Bus, PropertyChanged, PropertyErased
from pinbase.services.clock import Clock
from pinbase.storage.base import Store
from pinbase.storage.codec import dump_json

DOCUMENTED_PROPERTIES = frozenset(
    {
        "label", "color", "isDisabled", "isHidden", "onLabel", "offLabel", "onColor", "offColor",
        "onBackColor", "offBackColor", "isOnPlay", "labels", "url", "urls", "step", "opacity",
        "scale", "rotation", "isMuted",
    }
)  # fmt: skip
"""DEV-06's widget properties (blynk.edgent-firmware-api/widget-properties.md)."""

LEGACY_PROPERTIES = frozenset(
    {
        "label", "color", "onLabel", "offLabel", "onColor", "offColor", "onBackColor",
        "offBackColor", "labels", "min", "max", "isOnPlay", "url", "urls", "step",
        "valueFormatting", "suffix", "maximumFractionDigits", "opacity", "scale", "rotation",
    }
)  # fmt: skip
"""The widget properties the legacy server accepted (http-api.md LEG-02)."""

KNOWN_PROPERTIES = (
    DOCUMENTED_PROPERTIES
    | LEGACY_PROPERTIES
    | {"onImageUrl", "offImageUrl", "page", "autoplay", "loop", "contentDesign"}  # §3.2
)
"""Property names PLT-DS-05 accepts; any other is ``Request with incorrect parameters`` (OP-14)."""

BOOLEAN_PROPERTIES = frozenset(
    {"isDisabled", "isHidden", "isOnPlay", "isMuted", "autoplay", "loop"}
)
NUMERIC_PROPERTIES = frozenset({"step", "opacity", "scale", "rotation", "min", "max"})
_BOOLEAN_TEXT = frozenset({"true", "false", "1", "0"})
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
PropertyValue = str | list[str]

PROPERTY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
"""Property names are identifiers such as ``onBackColor``; anything else is a malformed request."""


def check_property(name: str, items: list[str]) -> str | list[str]:
    """Validate a property value and return what is stored: one string, or a list when repeated.

    Raises:
        ValueMismatch: a boolean or numeric property got text of another shape, or the value is
            longer than a string value may be.
    """
    if sum(len(item.encode()) for item in items) > MAX_STRING_BYTES:
        raise ValueMismatch("property value too long")
    if any("\0" in item for item in items):
        # PostgreSQL text cannot hold NUL, and no property format needs it.
        raise ValueMismatch("property value holds NUL")
    if name in BOOLEAN_PROPERTIES and not all(item.lower() in _BOOLEAN_TEXT for item in items):
        raise ValueMismatch(f"{name} takes true or false")
    if name in NUMERIC_PROPERTIES and not all(_NUMBER_TEXT.fullmatch(item) for item in items):
        raise ValueMismatch(f"{name} takes a number")
    return items[0] if len(items) == 1 else items


DeviceProperties = dict[DatastreamId, dict[str, PropertyValue]]


class Properties:
    """Sets and reads properties of device datastreams."""

    def __init__(self, store: Store, bus: Bus, clock: Clock) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._stored: dict[DeviceId, DeviceProperties] = {}
        """Every stored property of every device that has one, as the database holds them."""

    def load(self, stored: dict[DeviceId, dict[DatastreamId, dict[str, str]]]) -> None:
        """Take every stored property (JSON text by name, by datastream, by device) at start."""
        self._stored = {
            device_id: {
                ds_id: {name: _loaded(text) for name, text in values.items()}
                for ds_id, values in by_datastream.items()
            }
            for device_id, by_datastream in stored.items()
        }

    async def set(
        self, device: Device, datastream: Datastream, changes: dict[str, str | list[str]]
    ) -> None:
        """Store every property of ``changes`` in one transaction, then publish each change."""
        ts = self._clock()
        async with self._store.transaction() as tx:
            for name, value in changes.items():
                await tx.set_property(
                    device.id, datastream.id, name=name, value=dump_json(value), ts=ts
                )
        self._stored.setdefault(device.id, {}).setdefault(datastream.id, {}).update(changes)
        for name, value in changes.items():
            self._bus.publish(
                PropertyChanged(
                    device_id=device.id,
                    datastream_id=datastream.id,
                    name=name,
                    value=tuple(value) if isinstance(value, list) else value,
                    ts=ts,
                )
            )

    async def erase(self, device: Device, datastream: Datastream, name: str) -> bool:
        """Remove one stored property (MQTT ``ds/<name>/prop/<property>/erase``); False when
        none was stored. ``PropertyErased`` tells the other nodes' caches."""
        async with self._store.transaction() as tx:
            erased = await tx.delete_property(device.id, datastream.id, name)
        self._drop(device.id, datastream.id, name)
        if erased:
            self._bus.publish(
                PropertyErased(device_id=device.id, datastream_id=datastream.id, name=name)
            )
        return erased

    def learn(self, change: PropertyChanged | PropertyErased) -> None:
        """Take a property another node stored or erased (committed). Called by ``CachedState``
        only, for a message from another node."""
        if isinstance(change, PropertyErased):
            self._drop(change.device_id, change.datastream_id, change.name)
            return
        value = list(change.value) if isinstance(change.value, tuple) else change.value
        by_datastream = self._stored.setdefault(change.device_id, {})
        by_datastream.setdefault(change.datastream_id, {})[change.name] = value

    def _drop(self, device_id: DeviceId, datastream_id: DatastreamId, name: str) -> None:
        by_datastream = self._stored.get(device_id, {})
        values = by_datastream.get(datastream_id, {})
        values.pop(name, None)
        if not values:  # as the database answers: no datastream without a property
            by_datastream.pop(datastream_id, None)
        if not by_datastream:
            self._stored.pop(device_id, None)

    def forget(self, device_id: DeviceId) -> None:
        """Drop the device's properties: erased or deleted in the database. Called by
        ``CachedState.apply`` only."""
        self._stored.pop(device_id, None)

    def forget_datastream(self, device_id: DeviceId, datastream_id: DatastreamId) -> None:
        """Drop the properties of one datastream of a device: erased in the database. Called by
        ``CachedState.apply`` only."""
        by_datastream = self._stored.get(device_id, {})
        by_datastream.pop(datastream_id, None)
        if not by_datastream:
            self._stored.pop(device_id, None)

    def of_datastream(
        self, device_id: DeviceId, datastream_id: DatastreamId
    ) -> dict[str, PropertyValue]:
        """The stored properties of one datastream of a device, by name."""
        return dict(sorted(self._stored.get(device_id, {}).get(datastream_id, {}).items()))

    def of_device(self, device_id: DeviceId) -> DeviceProperties:
        """Every stored property of a device, by datastream and name (a copy)."""
        return {ds_id: dict(values) for ds_id, values in self._stored.get(device_id, {}).items()}


def _loaded(text: str) -> PropertyValue:
    """Read back what ``set`` stored: one string, or a list of strings."""
    value = orjson.loads(text)
    if isinstance(value, list):
        return [str(item) for item in value]
    return str(value)
