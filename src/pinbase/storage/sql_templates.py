"""``SqlTemplateQueries``: saving, deleting and erasing for template editing. A mixin of
``SqlTransaction`` over its ``self._db``."""

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.domain.ids import DatastreamId, DeviceId, MetafieldId, TemplateId
from pinbase.domain.templates import Template
from pinbase.storage import schema
from pinbase.storage.sql_catalog import dashboard_text, insert_children

_CHILDREN: tuple[Table, ...] = (schema.datastreams, schema.template_events, schema.metafields)

_DATASTREAM_DATA: tuple[Table, ...] = (
    schema.current_values,
    schema.history,
    schema.history_minutes,
    schema.properties,
)
"""What devices keep per datastream."""


class SqlTemplateQueries:
    """Template changes over ``self._db``, an ``AsyncConnection``."""

    _db: AsyncConnection

    async def save_template(self, template: Template) -> bool:
        """Store ``template`` as it is now; False when it is missing."""
        table = schema.templates
        result = await self._db.execute(
            update(table)
            .where(table.c.id == template.id)
            .values(
                name=template.name,
                description=template.description,
                offline_ignore_period=template.offline_ignore_period,
                dashboard=dashboard_text(template.dashboard),
            )
        )
        if not result.rowcount:
            return False
        for child in _CHILDREN:
            await self._db.execute(delete(child).where(child.c.template_id == template.id))
        await insert_children(
            self._db, template.id, template.datastreams, template.events, template.metafields
        )
        return True

    async def count_template_devices(self, template_id: TemplateId) -> int:
        """How many devices use the template."""
        devices = schema.devices
        query = select(func.count()).select_from(devices)
        return int(await self._db.scalar(query.where(devices.c.template_id == template_id)) or 0)

    async def delete_template(self, template_id: TemplateId) -> bool:
        """Delete a template no device uses, with its children; False when it is missing."""
        for child in _CHILDREN:
            await self._db.execute(delete(child).where(child.c.template_id == template_id))
        table = schema.templates
        result = await self._db.execute(delete(table).where(table.c.id == template_id))
        return bool(result.rowcount)

    async def erase_datastream_data(
        self, template_id: TemplateId, datastream_id: DatastreamId
    ) -> list[DeviceId]:
        """Erase what every device of the template keeps for one datastream."""
        ids = await self._device_ids(template_id)
        if ids:
            for table in _DATASTREAM_DATA:
                await self._db.execute(
                    delete(table).where(
                        table.c.device_id.in_(ids), table.c.datastream_id == datastream_id
                    )
                )
        return [DeviceId(device_id) for device_id in ids]

    async def erase_metafield_values(
        self, template_id: TemplateId, metafield_id: MetafieldId
    ) -> None:
        """Erase every device's value of one metadata field of the template."""
        ids = await self._device_ids(template_id)
        if ids:
            table = schema.metafield_values
            await self._db.execute(
                delete(table).where(
                    table.c.device_id.in_(ids), table.c.metafield_id == metafield_id
                )
            )

    async def _device_ids(self, template_id: TemplateId) -> list[int]:
        devices = schema.devices
        query = select(devices.c.id).where(devices.c.template_id == template_id)
        return list(await self._db.scalars(query.order_by(devices.c.id)))
