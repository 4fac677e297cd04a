"""The device-management part of the storage contract (PLT-DEV-09..14): renaming, owners,
transfers, erasing a device's data (all of it, or one current value or property: MQTT's
``erase`` topics) and deleting a device with everything that hangs off it.

No SQL here; ``storage.sql_device_admin`` implements it. Creating a device stays with
``Transaction.add_device``, which provisioning shares.
"""

from typing import Protocol

from pinbase.domain.ids import DatastreamId, DeviceId, OrgId


class DeviceAdminRepository(Protocol):
    """Changes to one device inside one transaction; each answers False for a missing device."""

    async def rename_device(self, device_id: DeviceId, name: str) -> bool:
        """Give the device a new name."""
        ...

    async def move_device(
        self, device_id: DeviceId, *, org_id: OrgId, owner_user_id: int | None
    ) -> bool:
        """Set the device's organization and owner (None: no owner) in one write."""
        ...

    async def clear_device_data(self, device_id: DeviceId) -> None:
        """Erase the device's current values, history (raw and per minute) and datastream
        properties."""
        ...

    async def clear_current_value(self, device_id: DeviceId, datastream_id: DatastreamId) -> None:
        """Erase one datastream's current value of the device; its history stays (MQTT
        ``ds/<name>/erase``)."""
        ...

    async def delete_property(
        self, device_id: DeviceId, datastream_id: DatastreamId, name: str
    ) -> bool:
        """Remove one stored property of a device's datastream; False when none was stored."""
        ...

    async def delete_device(self, device_id: DeviceId) -> bool:
        """Delete the device with its data, metadata, events, files, tags and actions log."""
        ...
