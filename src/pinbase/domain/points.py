"""Points: one value of one datastream of one device at one moment (milliseconds, UTC)."""

from dataclasses import dataclass

from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.value_types import Value


@dataclass(frozen=True, slots=True)
class Point:
    """A stored value. Positional and slotted: the hot path builds tens of thousands a second."""

    device_id: DeviceId
    datastream_id: DatastreamId
    ts: int
    value: Value
