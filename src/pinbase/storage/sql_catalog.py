"""``SqlCatalogQueries``: what the in-memory directory is loaded from (organizations, OAuth clients,
templates, devices, current values) and the creation of templates and devices. A mixin of
``SqlTransaction`` over its ``self._db``.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.domain.dashboards import Dashboard, parse_dashboard
from pinbase.domain.datastream_automation import parse_automation_setting
from pinbase.domain.datastreams import Datastream, DataType, EnumOption, InvalidatePolicy
from pinbase.domain.devices import Device, HardwareInfo
from pinbase.domain.ids import (
    DatastreamId,
    DeviceId,
    EventId,
    MetafieldId,
    OrgId,
    TemplateId,
    Token,
)
from pinbase.domain.notifications import EventNotifications, parse_notifications
from pinbase.domain.organizations import Organization
from pinbase.domain.pins import Pin, PinType
from pinbase.domain.points import Point
from pinbase.domain.templates import Metafield, Template, TemplateEvent
from pinbase.storage import schema
from pinbase.storage.base import Catalog
from pinbase.storage.codec import dump_json, load_value
from pinbase.storage.sql_oauth import oauth_client_from_row
from pinbase.storage.sql_organizations import organization_from_row


class SqlCatalogQueries:
    """Catalog reads and template and device creation over ``self._db``, an ``AsyncConnection``."""

    _db: AsyncConnection
    _insert_returning_id: Callable[[Any, dict[str, Any]], Awaitable[int]]
    """``SqlTransaction._insert_returning_id``: insert one row, return its new ``id``."""

    async def load_catalog(self) -> Catalog:
        """Every organization, OAuth client, template and device."""
        orgs = await self._db.execute(select(schema.organizations).order_by("id"))
        clients = await self._db.execute(select(schema.oauth_clients).order_by("id"))
        template_ids = await self._db.scalars(select(schema.templates.c.id).order_by("id"))
        templates = [await self._template(TemplateId(tid)) for tid in template_ids.all()]
        devices = await self._db.execute(select(schema.devices).order_by("id"))
        metas = await self._db.execute(
            select(schema.metafield_values).order_by(schema.metafield_values.c.metafield_id)
        )
        values_by_device: dict[int, list[tuple[int, str]]] = {}
        for meta in metas:
            values_by_device.setdefault(meta.device_id, []).append((meta.metafield_id, meta.value))
        return Catalog(
            organizations=tuple(organization_from_row(row) for row in orgs),
            oauth_clients=tuple(oauth_client_from_row(row) for row in clients),
            templates=tuple(t for t in templates if t is not None),
            devices=tuple(_device(row, values_by_device.get(row.id, [])) for row in devices),
        )

    async def load_current_values(self) -> list[Point]:
        """The current value of every (device, datastream) that has one."""
        rows = await self._db.execute(select(schema.current_values))
        return [
            Point(DeviceId(r.device_id), DatastreamId(r.datastream_id), r.ts, load_value(r.value))
            for r in rows
        ]

    async def find_device(self, token: Token) -> Device | None:
        """The device owning ``token``, or None."""
        return await self._device_where(schema.devices.c.token == token)

    async def find_device_by_id(self, device_id: DeviceId) -> Device | None:
        """The device with ``device_id``, or None."""
        return await self._device_where(schema.devices.c.id == device_id)

    async def load_template(self, template_id: TemplateId) -> Template | None:
        """One template with its datastreams, events and metafields, or None."""
        return await self._template(template_id)

    async def load_organizations(self) -> list[Organization]:
        """Every organization, by id."""
        rows = await self._db.execute(select(schema.organizations).order_by("id"))
        return [organization_from_row(row) for row in rows]

    async def add_template(
        self,
        *,
        org_id: OrgId,
        code: str,
        name: str,
        description: str | None,
        datastreams: Sequence[Datastream],
        events: Sequence[TemplateEvent],
        metafields: Sequence[Metafield],
        created_at: int,
        offline_ignore_period: int = 0,
    ) -> Template:
        """Create a template with its children."""
        values = {
            "org_id": org_id,
            "code": code,
            "name": name,
            "description": description,
            "created_at": created_at,
            "offline_ignore_period": offline_ignore_period,
        }
        template_id = TemplateId(await self._insert_returning_id(schema.templates, values))
        await insert_children(self._db, template_id, datastreams, events, metafields)
        return Template(
            id=template_id,
            code=code,
            org_id=org_id,
            name=name,
            description=description,
            datastreams=tuple(datastreams),
            events=tuple(events),
            metafields=tuple(metafields),
            created_at=created_at,
            offline_ignore_period=offline_ignore_period,
        )

    async def add_device(
        self,
        *,
        org_id: OrgId,
        template: Template,
        name: str,
        token: Token,
        created_at: int,
        owner_user_id: int | None = None,
    ) -> Device:
        """Create a device; its metafields start at the template's defaults."""
        values = {
            "org_id": org_id,
            "template_id": template.id,
            "name": name,
            "token": token,
            "owner_user_id": owner_user_id,
            "hardware_info": None,
            "created_at": created_at,
        }
        device_id = DeviceId(await self._insert_returning_id(schema.devices, values))
        defaults = [(m.id, m.default_value) for m in template.metafields if m.default_value]
        if defaults:
            await self._db.execute(
                schema.metafield_values.insert(),
                [{"device_id": device_id, "metafield_id": i, "value": v} for i, v in defaults],
            )
        return Device(
            id=device_id,
            org_id=org_id,
            template_id=template.id,
            name=name,
            token=token,
            owner_user_id=owner_user_id,
            created_at=created_at,
            metafield_values=tuple((i, v) for i, v in defaults if v is not None),
        )

    async def _device_where(self, condition: Any) -> Device | None:
        row = (await self._db.execute(select(schema.devices).where(condition))).first()
        if row is None:
            return None
        table = schema.metafield_values
        metas = await self._db.execute(
            select(table).where(table.c.device_id == row.id).order_by(table.c.metafield_id)
        )
        return _device(row, [(m.metafield_id, m.value) for m in metas])

    async def _template(self, template_id: TemplateId) -> Template | None:
        row = (
            await self._db.execute(
                select(schema.templates).where(schema.templates.c.id == template_id)
            )
        ).first()
        if row is None:
            return None
        ds_rows = await self._db.execute(
            select(schema.datastreams)
            .where(schema.datastreams.c.template_id == template_id)
            .order_by("id")
        )
        event_rows = await self._db.execute(
            select(schema.template_events)
            .where(schema.template_events.c.template_id == template_id)
            .order_by("id")
        )
        meta_rows = await self._db.execute(
            select(schema.metafields)
            .where(schema.metafields.c.template_id == template_id)
            .order_by("id")
        )
        datastreams = tuple(_datastream(r) for r in ds_rows)
        return Template(
            id=TemplateId(row.id),
            code=row.code,
            org_id=OrgId(row.org_id),
            name=row.name,
            description=row.description,
            created_at=row.created_at,
            offline_ignore_period=row.offline_ignore_period,
            dashboard=_dashboard(row.dashboard, datastreams),
            datastreams=datastreams,
            events=tuple(
                TemplateEvent(
                    id=EventId(r.id),
                    code=r.code,
                    name=r.name,
                    type=r.type,
                    description=r.description,
                    notifications=_notifications(r.notifications),
                    show_on_timeline=r.show_on_timeline,
                    send_to_notifications_tab=r.send_to_notifications_tab,
                )
                for r in event_rows
            ),
            metafields=tuple(
                Metafield(
                    id=MetafieldId(r.id), name=r.name, type=r.type, default_value=r.default_value
                )
                for r in meta_rows
            ),
        )


def _device(row: Row[Any], metafield_values: list[tuple[int, str]]) -> Device:
    info = orjson.loads(row.hardware_info) if row.hardware_info else {}
    return Device(
        id=DeviceId(row.id),
        org_id=OrgId(row.org_id),
        template_id=TemplateId(row.template_id),
        name=row.name,
        token=Token(row.token),
        owner_user_id=row.owner_user_id,
        created_at=row.created_at,
        hardware_info=HardwareInfo(**info),
        metafield_values=tuple(metafield_values),
    )


def _datastream_row(template_id: TemplateId, ds: Datastream) -> dict[str, Any]:
    return {
        "template_id": template_id,
        "id": ds.id,
        "label": ds.label,
        "alias": ds.alias,
        "pin_type": ds.pin.type.value,
        "pin": ds.pin.number,
        "type": ds.type.value,
        "min": ds.min,
        "max": ds.max,
        "default_value": None if ds.default_value is None else dump_json(ds.default_value),
        "decimals": ds.decimals,
        "units": ds.units,
        "save_raw": ds.save_raw,
        "sync_with_latest": ds.sync_with_latest,
        "enum_options": dump_json(
            [{"value": o.value, "label": o.label, "color": o.color} for o in ds.enum_options]
        ),
        "fallback_value": ds.fallback_value,
        "color": ds.color,
        "invalidate_after": ds.invalidate_after,
        "invalidate_policy": ds.invalidate_policy.value,
        "wait_confirmation": ds.wait_confirmation,
        "automation": None if ds.automation is None else dump_json(ds.automation.to_json()),
    }


def _datastream(row: Row[Any]) -> Datastream:
    default = load_value(row.default_value) if row.default_value is not None else None
    options = orjson.loads(row.enum_options) if row.enum_options else []
    return Datastream(
        id=DatastreamId(row.id),
        label=row.label,
        alias=row.alias,
        pin=Pin(PinType(row.pin_type), row.pin),
        type=DataType(row.type),
        min=row.min,
        max=row.max,
        default_value=default,
        decimals=row.decimals,
        units=row.units,
        save_raw=row.save_raw,
        sync_with_latest=row.sync_with_latest,
        enum_options=tuple(EnumOption(**option) for option in options),
        fallback_value=row.fallback_value,
        color=row.color,
        invalidate_after=row.invalidate_after,
        invalidate_policy=InvalidatePolicy(row.invalidate_policy),
        wait_confirmation=row.wait_confirmation,
        automation=(
            None
            if row.automation is None
            else parse_automation_setting(orjson.loads(row.automation))
        ),
    )


def _notifications(text: str | None) -> EventNotifications:
    """Stored settings; they were checked when saved."""
    return EventNotifications() if text is None else parse_notifications(orjson.loads(text))


def _notifications_text(settings: EventNotifications) -> str | None:
    return None if settings == EventNotifications() else orjson.dumps(settings.to_json()).decode()


def _dashboard(text: str | None, datastreams: Sequence[Datastream]) -> Dashboard | None:
    """The stored layout; it was checked against these datastreams when saved."""
    return None if text is None else parse_dashboard(orjson.loads(text), datastreams)


def dashboard_text(dashboard: Dashboard | None) -> str | None:
    """A layout as the JSON text ``templates.dashboard`` holds."""
    return None if dashboard is None else orjson.dumps(dashboard.to_json()).decode()


async def insert_children(
    db: AsyncConnection,
    template_id: TemplateId,
    datastreams: Sequence[Datastream],
    events: Sequence[TemplateEvent],
    metafields: Sequence[Metafield],
) -> None:
    """Store a template's datastreams, events and metafields (it has none stored yet)."""
    if datastreams:
        await db.execute(
            schema.datastreams.insert(), [_datastream_row(template_id, ds) for ds in datastreams]
        )
    if events:
        await db.execute(
            schema.template_events.insert(),
            [
                {
                    "template_id": template_id,
                    "id": e.id,
                    "code": e.code,
                    "name": e.name,
                    "type": e.type,
                    "description": e.description,
                    "notifications": _notifications_text(e.notifications),
                    "show_on_timeline": e.show_on_timeline,
                    "send_to_notifications_tab": e.send_to_notifications_tab,
                }
                for e in events
            ],
        )
    if metafields:
        await db.execute(
            schema.metafields.insert(),
            [
                {
                    "template_id": template_id,
                    "id": m.id,
                    "name": m.name,
                    "type": m.type,
                    "default_value": m.default_value,
                }
                for m in metafields
            ],
        )
