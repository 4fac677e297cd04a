"""SQL for ``DeviceAdminRepository``: a mixin of ``SqlTransaction`` over its ``self._db``.

Deleting removes the rows that reference the device first, so the foreign keys both backends
enforce (``storage.engines`` turns them on for SQLite) hold. History, minute aggregates and
current values carry no foreign key (``storage.schema`` says why); they go all the same.
"""

from sqlalchemy import Table, delete, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.domain.ids import DatastreamId, DeviceId, OrgId
from pinbase.storage import schema

_DATA: tuple[Table, ...] = (
    schema.current_values,
    schema.history,
    schema.history_minutes,
    schema.properties,
)
"""What "erase all device data" (PLT-DEV-12) clears; the device, metadata and events stay."""

_DEPENDENTS: tuple[Table, ...] = tuple(
    table for table in reversed(schema.metadata.sorted_tables) if "device_id" in table.c
)
"""Every table with a ``device_id`` column (a table added later included), dependents first,
deleted before the device row itself."""


class SqlDeviceAdmin:
    """Device management queries over ``self._db``, an ``AsyncConnection``."""

    _db: AsyncConnection

    async def rename_device(self, device_id: DeviceId, name: str) -> bool:
        """Give the device a new name."""
        return await self._update_device(device_id, name=name)

    async def move_device(
        self, device_id: DeviceId, *, org_id: OrgId, owner_user_id: int | None
    ) -> bool:
        """Set the device's organization and owner (None: no owner) in one write."""
        return await self._update_device(device_id, org_id=org_id, owner_user_id=owner_user_id)

    async def clear_device_data(self, device_id: DeviceId) -> None:
        """Erase the device's current values, history (raw and per minute) and datastream
        properties."""
        for table in _DATA:
            await self._delete(table, device_id=device_id)

    async def clear_current_value(self, device_id: DeviceId, datastream_id: DatastreamId) -> None:
        """Erase one datastream's current value of the device; its history stays (MQTT
        ``ds/<name>/erase``)."""
        await self._delete(schema.current_values, device_id=device_id, datastream_id=datastream_id)

    async def delete_property(
        self, device_id: DeviceId, datastream_id: DatastreamId, name: str
    ) -> bool:
        """Remove one stored property of a device's datastream; False when none was stored."""
        deleted = await self._delete(
            schema.properties, device_id=device_id, datastream_id=datastream_id, name=name
        )
        return bool(deleted)

    async def delete_device(self, device_id: DeviceId) -> bool:
        """Delete the device with its data, metadata, events, files, tags and actions log."""
        for table in _DEPENDENTS:
            await self._delete(table, device_id=device_id)
        return bool(await self._delete(schema.devices, id=device_id))

    async def _delete(self, table: Table, **keys: object) -> int:
        """Delete the rows of ``table`` whose columns equal ``keys``; how many went."""
        conditions = [table.c[column] == value for column, value in keys.items()]
        result = await self._db.execute(delete(table).where(*conditions))
        return int(result.rowcount)

    async def _update_device(self, device_id: DeviceId, **values: object) -> bool:
        devices = schema.devices
        result = await self._db.execute(
            update(devices).where(devices.c.id == device_id).values(**values)
        )
        return bool(result.rowcount)
