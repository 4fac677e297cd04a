"""Widget properties per device datastream (data-model.md §3): stored, then announced.

Any property name is accepted and stored verbatim (data-model.md §5.28); the few with a known
format (booleans, numbers) are checked so a typo does not reach every dashboard.
"""

import re

from pinbase.domain.datastreams import Datastream
from pinbase.domain.devices import Device
from pinbase.domain.errors import ValueMismatch
from pinbase.domain.values import MAX_STRING_BYTES
from pinbase.services.bus import Bus, PropertyChanged
from pinbase.services.clock import Clock
from pinbase.storage.base import Store
from pinbase.storage.codec import dump_json

BOOLEAN_PROPERTIES = frozenset(
    {"isDisabled", "isHidden", "isOnPlay", "isMuted", "autoplay", "loop"}
)
NUMERIC_PROPERTIES = frozenset({"step", "opacity", "scale", "rotation", "min", "max"})
_BOOLEAN_TEXT = frozenset({"true", "false", "1", "0"})
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
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
    if name in BOOLEAN_PROPERTIES and not all(item.lower() in _BOOLEAN_TEXT for item in items):
        raise ValueMismatch(f"{name} takes true or false")
    if name in NUMERIC_PROPERTIES and not all(_NUMBER_TEXT.fullmatch(item) for item in items):
        raise ValueMismatch(f"{name} takes a number")
    return items[0] if len(items) == 1 else items


class Properties:
    """Sets properties of device datastreams."""

    def __init__(self, store: Store, bus: Bus, clock: Clock) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock

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
        for name, value in changes.items():
            self._bus.publish(
                PropertyChanged(device=device, datastream=datastream, name=name, value=value, ts=ts)
            )
