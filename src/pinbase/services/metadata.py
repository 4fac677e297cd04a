"""Device metadata read and written by the device itself (DEV-09, DEV-10; data-model.md §1.6).

A key is a metafield's numeric id or its exact, case-sensitive name (http-api.md OP-16). Besides
the template's own metafields a device can read two built-in names: ``Device Name`` (its name)
and ``Auth Token`` (its token, unless the template defines a field of that name itself).
``loc.latlon`` is documented too, but Pinbase has no device location yet, so it does not exist.

Values are kept as text, as the storage contract holds them; a ``Number`` field is answered as a
JSON number. Every write is announced (``DeviceSaved``), and ``CachedState`` replaces the
in-memory device in the ``Directory``, so reads never go to the database. The hardware facts a
device reports about itself (DEV-12, the binary login's info message) are kept the same way.
"""

import math
import re
from dataclasses import dataclass, replace

from pinbase.domain.devices import HardwareInfo
from pinbase.domain.errors import PinbaseError
from pinbase.domain.templates import Metafield
from pinbase.services.bus import Bus, DeviceInfoReported
from pinbase.services.changes import DeviceSaved
from pinbase.services.directory import BoundDevice, Directory
from pinbase.storage.base import Store

DEVICE_NAME = "Device Name"
AUTH_TOKEN = "Auth Token"  # noqa: S105  # a metafield name, not a credential

DEVICE_NAME_TYPE = "DeviceName"
"""The type literal of the built-in Device Name field (data-model.md §1.6)."""

MAX_VALUE_CHARS = 255
"""Text metafields hold at most 255 characters (blynk.console/templates/metadata)."""

WRITABLE_TYPES = frozenset({"text", "number", "hotspotname", "list", "int", "imei", "iccid"})
"""Kinds a device may write over HTTPS (http-api.md DEV-10), normalised by ``_kind``.

``Device Name`` is listed as writable too, but renaming needs a storage operation Pinbase does
not have yet, so the built-in stays read-only here.
"""

_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_INT_TEXT = re.compile(r"[+-]?[0-9]{1,15}")
_IMEI_TEXT = re.compile(r"[0-9]{15}")
_ICCID_TEXT = re.compile(r"[0-9]{18,22}")
"""ICCIDs are 18 to 22 digits (ITU-T E.118)."""

MetaValue = str | int | float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MetaReading:
    """What DEV-09 answers: the field's type literal and its value."""

    type: str
    value: MetaValue


class MetafieldNotFound(PinbaseError):
    """No metafield (nor built-in name) matches the key."""


class MetafieldReadOnly(PinbaseError):
    """The field exists, but a device may not write it."""


class InvalidMetaValue(PinbaseError):
    """The value does not fit the field's type or is too long."""


class Metadata:
    """Reads and writes the metadata of devices."""

    def __init__(self, store: Store, directory: Directory, bus: Bus) -> None:
        self._store = store
        self._directory = directory
        self._bus = bus

    def read(self, bound: BoundDevice, key: str) -> MetaReading:
        """The value of the field ``key`` of a device.

        Raises:
            MetafieldNotFound: neither a template field nor a built-in name matches ``key``.
        """
        if key == DEVICE_NAME:
            return MetaReading(type=DEVICE_NAME_TYPE, value=bound.device.name)
        metafield = bound.template.metafield(key)
        if metafield is None:
            if key == AUTH_TOKEN:
                return MetaReading(type="Text", value=bound.device.token)
            raise MetafieldNotFound(key)
        text = dict(bound.device.metafield_values).get(metafield.id)
        return MetaReading(type=metafield.type, value=_rendered(metafield, text))

    async def write(self, bound: BoundDevice, key: str, value: str) -> None:
        """Store a new value of the field ``key`` and refresh the device in the directory.

        Raises:
            MetafieldNotFound: no template field matches ``key`` (built-in names included).
            MetafieldReadOnly: the field's type is not one a device may write.
            InvalidMetaValue: the value is too long or does not parse as the field's type.
        """
        metafield = None if key == DEVICE_NAME else bound.template.metafield(key)
        if metafield is None:
            if key == DEVICE_NAME:
                raise MetafieldReadOnly(key)
            raise MetafieldNotFound(key)
        if not is_writable(metafield):
            raise MetafieldReadOnly(key)
        checked = checked_value(metafield, value)
        device_id = bound.device.id
        async with self._store.transaction() as tx:
            await tx.set_metafield_value(device_id, metafield.id, checked)
        # Take the directory's newest copy: another write may have replaced it meanwhile.
        current = self._directory.by_id(device_id)
        device = current.device if current is not None else bound.device
        values = dict(device.metafield_values)
        values[metafield.id] = checked
        self._bus.publish(
            DeviceSaved(device=replace(device, metafield_values=tuple(values.items())))
        )

    async def record_hardware(self, bound: BoundDevice, info: HardwareInfo) -> None:
        """Keep what the device reported about its firmware and board as its hardware info."""
        async with self._store.transaction() as tx:
            await tx.update_hardware_info(bound.device.id, info)
        current = self._directory.by_id(bound.device.id)
        device = current.device if current is not None else bound.device
        self._bus.publish(DeviceSaved(device=replace(device, hardware_info=info)))

    def announce_firmware(self, bound: BoundDevice, info: HardwareInfo) -> None:
        """Tell that the device just reported its firmware (changed or not): an evaluation
        point of Blynk.Air shipments (device-lifecycle.md §1.7)."""
        self._bus.publish(
            DeviceInfoReported(
                device_id=bound.device.id,
                version=info.version,
                build=info.build,
                fw_type=info.fw_type,
                library_version=info.blynk_version,
                template_code=info.template_code,
            )
        )


def is_writable(metafield: Metafield) -> bool:
    """Whether a value of ``metafield`` may be written (DEV-10's writable kinds)."""
    return _kind(metafield.type) in WRITABLE_TYPES


def _kind(type_literal: str) -> str:
    """``Hotspot Name``, ``HotspotName`` and ``hotspotname`` are one kind."""
    kind = type_literal.replace(" ", "").replace("_", "").lower()
    return "int" if kind == "integer" else kind


def checked_value(metafield: Metafield, value: str) -> str:
    """``value`` as the field keeps it; the one rule for device writes and template defaults.

    Raises:
        InvalidMetaValue: too long, holds NUL, or does not parse as the field's type.
    """
    if len(value) > MAX_VALUE_CHARS:
        raise InvalidMetaValue(f"longer than {MAX_VALUE_CHARS} characters")
    if "\0" in value:
        # PostgreSQL text cannot hold NUL, and no metadata kind needs it.
        raise InvalidMetaValue("contains NUL")
    kind = _kind(metafield.type)
    text = value.strip()
    if kind == "number":
        if not _NUMBER_TEXT.fullmatch(text) or not math.isfinite(float(text)):
            raise InvalidMetaValue("not a number")
        return text
    pattern = {"int": _INT_TEXT, "imei": _IMEI_TEXT, "iccid": _ICCID_TEXT}.get(kind)
    if pattern is not None:
        if not pattern.fullmatch(text):
            raise InvalidMetaValue(f"not a valid {metafield.type}")
        return text
    return value


def _rendered(metafield: Metafield, text: str | None) -> MetaValue:
    """A Number as a JSON number (None when unset), any other kind as text ("" when unset)."""
    kind = _kind(metafield.type)
    if kind not in ("number", "int"):
        return "" if text is None else text
    if text is None:
        return None
    if _INT_TEXT.fullmatch(text):
        return int(text)
    if _NUMBER_TEXT.fullmatch(text):
        return float(text)
    return text
