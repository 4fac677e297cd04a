"""``SqlDeviceLogs``: what a device reports about itself and leaves behind: hardware info,
datastream properties, timeline events and uploaded files. A mixin of ``SqlTransaction`` over its
``self._db``; the upserting writes (``set_property``) stay in ``storage.sql`` with ``_upsert``.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.domain.devices import HardwareInfo
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.templates import TemplateEvent
from pinbase.storage import schema
from pinbase.storage.base import StoredEvent, StoredFile
from pinbase.storage.codec import dump_json


class SqlDeviceLogs:
    """Device event, file, property and hardware-info queries over ``self._db``."""

    _db: AsyncConnection
    _insert_returning_id: Callable[[Any, dict[str, Any]], Awaitable[int]]
    """``SqlTransaction._insert_returning_id``: insert one row, return its new ``id``."""

    async def update_hardware_info(self, device_id: DeviceId, info: HardwareInfo) -> None:
        """Replace what the device reported about itself."""
        await self._db.execute(
            update(schema.devices)
            .where(schema.devices.c.id == device_id)
            .values(hardware_info=dump_json(_hardware_dict(info)))
        )

    async def load_properties(
        self, device_id: DeviceId, datastream_id: DatastreamId
    ) -> dict[str, str]:
        """The stored properties of a device's datastream, as JSON text by name."""
        table = schema.properties
        rows = await self._db.execute(
            select(table.c.name, table.c.value).where(
                table.c.device_id == device_id, table.c.datastream_id == datastream_id
            )
        )
        return {row.name: row.value for row in rows}

    async def load_all_properties(self) -> dict[DeviceId, dict[DatastreamId, dict[str, str]]]:
        """Every stored property: JSON text by name, by datastream, by device."""
        table = schema.properties
        rows = await self._db.execute(
            select(table.c.device_id, table.c.datastream_id, table.c.name, table.c.value)
        )
        found: dict[DeviceId, dict[DatastreamId, dict[str, str]]] = {}
        for row in rows:
            by_datastream = found.setdefault(DeviceId(row.device_id), {})
            by_datastream.setdefault(DatastreamId(row.datastream_id), {})[row.name] = row.value
        return found

    async def add_device_event(
        self, device_id: DeviceId, event: TemplateEvent, *, description: str | None, ts: int
    ) -> StoredEvent:
        """Log an event occurrence on the device timeline."""
        values = {
            "device_id": device_id,
            "event_id": event.id,
            "code": event.code,
            "type": event.type,
            "description": description,
            "ts": ts,
            "visible_on_timeline": event.show_on_timeline,
        }
        new_id = await self._insert_returning_id(schema.device_events, values)
        return StoredEvent(
            id=new_id,
            device_id=device_id,
            event_id=event.id,
            code=event.code,
            type=event.type,
            description=description,
            ts=ts,
            visible_on_timeline=event.show_on_timeline,
        )

    async def count_device_events(self, device_id: DeviceId, *, since: int) -> int:
        """How many events the device logged at or after ``since``."""
        table = schema.device_events
        count = await self._db.scalar(
            select(func.count()).where(table.c.device_id == device_id, table.c.ts >= since)
        )
        return int(count or 0)

    async def list_device_events(self, device_id: DeviceId, *, since: int) -> list[StoredEvent]:
        """Events the device logged at or after ``since``, oldest first."""
        table = schema.device_events
        rows = await self._db.execute(
            select(table)
            .where(table.c.device_id == device_id, table.c.ts >= since)
            .order_by(table.c.ts, table.c.id)
        )
        return [StoredEvent(**row._asdict()) for row in rows]

    async def lock_device_files(self, device_id: DeviceId) -> None:
        """Hold the device's uploads until this transaction ends: on PostgreSQL a lock of the
        device's row (``FOR UPDATE``), which another node's upload of the device waits for;
        SQLite has one writer, and SQLAlchemy leaves ``FOR UPDATE`` out there."""
        table = schema.devices
        await self._db.execute(select(table.c.id).where(table.c.id == device_id).with_for_update())

    async def add_device_file(
        self, device_id: DeviceId, *, original_name: str, stored_name: str, created_at: int
    ) -> StoredFile:
        """Record an uploaded file."""
        values = {
            "device_id": device_id,
            "original_name": original_name,
            "stored_name": stored_name,
            "created_at": created_at,
        }
        new_id = await self._insert_returning_id(schema.device_files, values)
        return StoredFile(
            id=new_id,
            device_id=device_id,
            original_name=original_name,
            stored_name=stored_name,
            created_at=created_at,
        )

    async def list_device_files(self, device_id: DeviceId) -> list[StoredFile]:
        """A device's uploaded files that are not evicted, oldest first."""
        table = schema.device_files
        rows = await self._db.execute(
            select(
                table.c.id,
                table.c.device_id,
                table.c.original_name,
                table.c.stored_name,
                table.c.created_at,
            )
            .where(table.c.device_id == device_id, table.c.evicted_at.is_(None))
            .order_by(table.c.created_at, table.c.id)
        )
        return [StoredFile(**row._asdict()) for row in rows]

    async def evict_device_file(self, file_id: int, *, ts: int) -> None:
        """Mark an uploaded file evicted (the caller removes the bytes); it still counts."""
        table = schema.device_files
        await self._db.execute(update(table).where(table.c.id == file_id).values(evicted_at=ts))

    async def count_device_files(self, device_id: DeviceId, *, since: int) -> int:
        """How many files the device uploaded at or after ``since`` (kept or evicted)."""
        table = schema.device_files
        count = await self._db.scalar(
            select(func.count()).where(table.c.device_id == device_id, table.c.created_at >= since)
        )
        return int(count or 0)


def _hardware_dict(info: HardwareInfo) -> dict[str, str | None]:
    return {
        "version": info.version,
        "fw_type": info.fw_type,
        "blynk_version": info.blynk_version,
        "board_type": info.board_type,
        "build": info.build,
        "template_code": info.template_code,
    }
