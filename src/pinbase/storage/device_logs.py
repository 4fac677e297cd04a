"""The device-logs part of the storage contract: what a device reports about itself and leaves
behind: hardware info, datastream properties, timeline events and uploaded files.

No SQL here; ``storage.sql_device_logs`` implements it. Writing a property stays with
``Transaction.set_property``, beside the other upserts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pinbase.domain.devices import HardwareInfo
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.templates import TemplateEvent

if TYPE_CHECKING:  # storage.base imports this module for the bases of Transaction
    from pinbase.storage.base import StoredEvent, StoredFile


class DeviceLogsRepository(Protocol):
    """Device event, file, property and hardware-info queries inside one transaction."""

    async def update_hardware_info(self, device_id: DeviceId, info: HardwareInfo) -> None:
        """Replace what the device reported about itself."""
        ...

    async def load_properties(
        self, device_id: DeviceId, datastream_id: DatastreamId
    ) -> dict[str, str]:
        """The stored properties of a device's datastream, as JSON text by name."""
        ...

    async def load_all_properties(self) -> dict[DeviceId, dict[DatastreamId, dict[str, str]]]:
        """Every stored property: JSON text by name, by datastream, by device."""
        ...

    async def add_device_event(
        self, device_id: DeviceId, event: TemplateEvent, *, description: str | None, ts: int
    ) -> StoredEvent:
        """Log an event occurrence on the device timeline."""
        ...

    async def count_device_events(self, device_id: DeviceId, *, since: int) -> int:
        """How many events the device logged at or after ``since``."""
        ...

    async def list_device_events(self, device_id: DeviceId, *, since: int) -> list[StoredEvent]:
        """Events the device logged at or after ``since``, oldest first."""
        ...

    async def lock_device_files(self, device_id: DeviceId) -> None:
        """Hold the device's uploads until this transaction ends: uploads of one device on
        several nodes take turns to count, record and evict (issue #11)."""
        ...

    async def add_device_file(
        self, device_id: DeviceId, *, original_name: str, stored_name: str, created_at: int
    ) -> StoredFile:
        """Record an uploaded file."""
        ...

    async def list_device_files(self, device_id: DeviceId) -> list[StoredFile]:
        """A device's uploaded files that are not evicted, oldest first."""
        ...

    async def evict_device_file(self, file_id: int, *, ts: int) -> None:
        """Mark an uploaded file evicted (the caller removes the bytes); it still counts."""
        ...

    async def count_device_files(self, device_id: DeviceId, *, since: int) -> int:
        """How many files the device uploaded at or after ``since`` (kept or evicted)."""
        ...
