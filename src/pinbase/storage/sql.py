"""The SQLAlchemy implementation of the storage contract, for SQLite and PostgreSQL alike.

Dialect differences are limited to the upsert construct; everything else is portable Core SQL.
"""

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import Row, Table, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pinbase.domain.datastreams import Datastream, DataType, EnumOption
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
from pinbase.domain.organizations import OAuthClient, Organization
from pinbase.domain.pins import Pin, PinType
from pinbase.domain.points import Point
from pinbase.domain.templates import Metafield, Template, TemplateEvent
from pinbase.storage import schema
from pinbase.storage.base import (
    Catalog,
    OrganizationCounts,
    OrganizationProfile,
    StoredEvent,
    StoredFile,
    StoredTag,
    StoredToken,
)
from pinbase.storage.codec import dump_json, dump_value, history_columns, load_value
from pinbase.storage.point_writes import (
    POSTGRES_FOLD,
    SQLITE_FOLD,
    SQLITE_INSERT_HISTORY,
    postgres_arrays,
    sqlite_fold_bounds,
)
from pinbase.storage.sql_device_admin import SqlDeviceAdmin
from pinbase.storage.sql_device_records import SqlDeviceRecords
from pinbase.storage.sql_history import SqlHistoryQueries
from pinbase.storage.sql_users import SqlUserQueries

_HISTORY_KEYS = ("device_id", "datastream_id", "ts", "num", "text")


def _upsert(dialect: str, table: Table, keys: list[str], *, newer_only: bool = False) -> Any:
    """``INSERT … ON CONFLICT (keys) DO UPDATE`` of every other column, on either dialect.

    With ``newer_only`` a conflicting row is replaced only by a row with a ``ts`` at least as new.
    """
    statement: sqlite.Insert | postgresql.Insert = (
        sqlite.insert(table) if dialect == "sqlite" else postgresql.insert(table)
    )
    updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_=updates,
        where=(statement.excluded.ts >= table.c.ts) if newer_only else None,
    )


class SqlStore:
    """A ``Store`` over an async SQLAlchemy engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator["SqlTransaction"]:
        """Open a transaction that commits on a clean exit and rolls back on an exception."""
        async with self._engine.begin() as connection:
            yield SqlTransaction(connection)

    async def append_points(self, points: Sequence[Point], *, current: Sequence[Point]) -> None:
        """Append history points and raise current values, in one committed transaction."""
        async with self.transaction() as tx:
            await tx.append_points(points, current=current)

    async def checkpoint(self) -> None:
        """Nothing to do: PostgreSQL checkpoints on its own."""

    async def close(self) -> None:
        """Dispose of the connection pool."""
        await self._engine.dispose()


class SqlTransaction(SqlUserQueries, SqlDeviceAdmin, SqlDeviceRecords, SqlHistoryQueries):
    """A ``Transaction`` bound to one connection inside ``SqlStore.transaction``."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection
        self._dialect = connection.dialect.name

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
            organizations=tuple(_organization(row) for row in orgs),
            oauth_clients=tuple(_oauth_client(row) for row in clients),
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
        if "\0" in token:
            # No stored text holds NUL, and PostgreSQL refuses it even as a parameter.
            return None
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
        return [_organization(row) for row in rows]

    async def find_oauth_client(self, client_id: str) -> OAuthClient | None:
        """The OAuth client with the public ``client_id``, or None."""
        if "\0" in client_id:
            return None  # as in ``find_device``
        table = schema.oauth_clients
        row = (await self._db.execute(select(table).where(table.c.client_id == client_id))).first()
        return None if row is None else _oauth_client(row)

    async def list_oauth_clients(self) -> list[OAuthClient]:
        """Every OAuth client, by id."""
        rows = await self._db.execute(select(schema.oauth_clients).order_by("id"))
        return [_oauth_client(row) for row in rows]

    async def add_oauth_tokens(self, tokens: Sequence[StoredToken]) -> None:
        """Record issued tokens."""
        if tokens:
            await self._db.execute(
                schema.oauth_tokens.insert(),
                [
                    {
                        "token_hash": t.token_hash,
                        "kind": t.kind,
                        "client_id": t.client_id,
                        "org_id": t.org_id,
                        "expires_at": t.expires_at,
                        "created_at": t.created_at,
                        "revoked": t.revoked,
                    }
                    for t in tokens
                ],
            )

    async def find_oauth_token(self, token_hash: str) -> StoredToken | None:
        """The token whose hash is ``token_hash`` (revoked and expired ones included), or None."""
        table = schema.oauth_tokens
        row = (
            await self._db.execute(
                select(
                    table.c.token_hash,
                    table.c.kind,
                    table.c.client_id,
                    table.c.org_id,
                    table.c.expires_at,
                    table.c.created_at,
                    table.c.revoked,
                ).where(table.c.token_hash == token_hash)
            )
        ).first()
        if row is None:
            return None
        return StoredToken(
            token_hash=row.token_hash,
            kind=row.kind,
            client_id=row.client_id,
            org_id=OrgId(row.org_id),
            expires_at=row.expires_at,
            created_at=row.created_at,
            revoked=row.revoked,
        )

    async def revoke_oauth_token(self, token_hash: str) -> bool:
        """Revoke a token; True only for the one call that found it not yet revoked."""
        table = schema.oauth_tokens
        result = await self._db.execute(
            update(table)
            .where(table.c.token_hash == token_hash, table.c.revoked.is_(False))
            .values(revoked=True)
        )
        return bool(result.rowcount == 1)

    async def delete_expired_oauth_tokens(self, *, before: int) -> int:
        """Delete tokens that expired before ``before``; return how many."""
        table = schema.oauth_tokens
        result = await self._db.execute(delete(table).where(table.c.expires_at < before))
        return int(result.rowcount)

    async def add_organization(
        self, *, name: str, parent_id: OrgId | None, description: str | None, created_at: int
    ) -> Organization:
        """Create an organization."""
        values = {
            "name": name,
            "parent_id": parent_id,
            "description": description,
            "created_at": created_at,
        }
        new_id = await self._insert_returning_id(schema.organizations, values)
        return Organization(
            id=OrgId(new_id),
            name=name,
            parent_id=parent_id,
            description=description,
            created_at=created_at,
        )

    async def create_organization(
        self,
        *,
        name: str,
        parent_id: OrgId | None,
        description: str | None,
        type: str | None,
        tz: str | None,
        unit_system: str | None,
        phone_number: str | None,
        is_active: bool,
        created_at: int,
    ) -> OrganizationProfile:
        """Create an organization with its profile; ``lastModifiedTs`` is ``created_at``."""
        values = {
            "name": name,
            "parent_id": parent_id,
            "description": description,
            "created_at": created_at,
            "type": type,
            "tz": tz,
            "unit_system": unit_system,
            "phone_number": phone_number,
            "is_active": is_active,
            "last_modified_ts": created_at,
        }
        new_id = await self._insert_returning_id(schema.organizations, values)
        return OrganizationProfile(
            id=OrgId(new_id),
            name=name,
            parent_id=parent_id,
            description=description,
            type=type,
            tz=tz,
            unit_system=unit_system,
            phone_number=phone_number,
            address=None,
            is_active=is_active,
            last_modified_ts=created_at,
        )

    async def load_organization_profiles(
        self, org_ids: Collection[OrgId]
    ) -> list[OrganizationProfile]:
        """The profiles of those of ``org_ids`` that exist, by id."""
        if not org_ids:
            return []
        table = schema.organizations
        rows = await self._db.execute(
            select(table).where(table.c.id.in_(list(org_ids))).order_by(table.c.id)
        )
        return [_organization_profile(row) for row in rows]

    async def count_organization_contents(
        self, org_ids: Collection[OrgId]
    ) -> dict[OrgId, OrganizationCounts]:
        """Devices and users of each of ``org_ids`` (zero counts for an empty organization)."""
        wanted = list(org_ids)
        devices: dict[OrgId, int] = dict.fromkeys(wanted, 0)
        users: dict[OrgId, int] = dict.fromkeys(wanted, 0)
        if wanted:
            dev, tpl, usr = schema.devices, schema.templates, schema.users
            own = select(dev.c.id, dev.c.org_id).where(dev.c.org_id.in_(wanted))
            built = (
                select(dev.c.id, tpl.c.org_id)
                .join(tpl, dev.c.template_id == tpl.c.id)
                .where(tpl.c.org_id.in_(wanted))
            )
            both = own.union(built).subquery()
            rows = await self._db.execute(
                select(both.c.org_id, func.count()).group_by(both.c.org_id)
            )
            for org_id, count in rows:
                devices[OrgId(org_id)] = int(count)
            rows = await self._db.execute(
                select(usr.c.org_id, func.count())
                .where(usr.c.org_id.in_(wanted))
                .group_by(usr.c.org_id)
            )
            for org_id, count in rows:
                users[OrgId(org_id)] = int(count)
        return {
            org_id: OrganizationCounts(devices=devices[org_id], users=users[org_id])
            for org_id in wanted
        }

    async def list_tags(self, org_id: OrgId) -> list[StoredTag]:
        """The tags of an organization, by id."""
        table = schema.tags
        rows = await self._db.execute(
            select(table).where(table.c.org_id == org_id).order_by(table.c.id)
        )
        return [
            StoredTag(
                id=row.id, org_id=OrgId(row.org_id), name=row.name, owner_user_id=row.owner_user_id
            )
            for row in rows
        ]

    async def delete_organization(self, org_id: OrgId) -> bool:
        """Delete an organization that has no sub-organizations and no devices, with its users,
        tags, templates, OAuth clients and their tokens; False when it does not exist.
        """
        orgs, tags, users = schema.organizations, schema.tags, schema.users
        templates, clients, tokens = schema.templates, schema.oauth_clients, schema.oauth_tokens
        org_users = select(users.c.id).where(users.c.org_id == org_id)
        org_tags = select(tags.c.id).where(tags.c.org_id == org_id)
        org_templates = select(templates.c.id).where(templates.c.org_id == org_id)
        org_clients = select(clients.c.client_id).where(clients.c.org_id == org_id)
        await self._db.execute(
            update(tags).where(tags.c.owner_user_id.in_(org_users)).values(owner_user_id=None)
        )
        await self._db.execute(
            delete(schema.device_tags).where(schema.device_tags.c.tag_id.in_(org_tags))
        )
        await self._db.execute(delete(tags).where(tags.c.org_id == org_id))
        await self._db.execute(delete(users).where(users.c.org_id == org_id))
        for child in (schema.datastreams, schema.template_events, schema.metafields):
            await self._db.execute(delete(child).where(child.c.template_id.in_(org_templates)))
        await self._db.execute(delete(templates).where(templates.c.org_id == org_id))
        await self._db.execute(
            delete(tokens).where(tokens.c.client_id.in_(org_clients) | (tokens.c.org_id == org_id))
        )
        await self._db.execute(delete(clients).where(clients.c.org_id == org_id))
        result = await self._db.execute(delete(orgs).where(orgs.c.id == org_id))
        return bool(result.rowcount)

    async def add_oauth_client(
        self, *, org_id: OrgId, name: str, client_id: str, secret_hash: str, created_at: int
    ) -> OAuthClient:
        """Create an OAuth client; only the secret's hash is given and kept."""
        values = {
            "org_id": org_id,
            "name": name,
            "client_id": client_id,
            "secret_hash": secret_hash,
            "created_at": created_at,
        }
        new_id = await self._insert_returning_id(schema.oauth_clients, values)
        return OAuthClient(
            id=new_id,
            org_id=org_id,
            name=name,
            client_id=client_id,
            secret_hash=secret_hash,
            created_at=created_at,
        )

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
    ) -> Template:
        """Create a template with its children."""
        values = {
            "org_id": org_id,
            "code": code,
            "name": name,
            "description": description,
            "created_at": created_at,
        }
        template_id = TemplateId(await self._insert_returning_id(schema.templates, values))
        if datastreams:
            await self._db.execute(
                schema.datastreams.insert(),
                [_datastream_row(template_id, ds) for ds in datastreams],
            )
        if events:
            await self._db.execute(
                schema.template_events.insert(),
                [
                    {
                        "template_id": template_id,
                        "id": e.id,
                        "code": e.code,
                        "name": e.name,
                        "type": e.type,
                        "description": e.description,
                    }
                    for e in events
                ],
            )
        if metafields:
            await self._db.execute(
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

    async def append_points(self, points: Sequence[Point], *, current: Sequence[Point]) -> None:
        """Append history points and raise current values to ``current`` where newer."""
        if points:
            # Raw rows, then their minute aggregates (storage.point_writes).
            columns = [
                (p.device_id, p.datastream_id, p.ts, *history_columns(p.value)) for p in points
            ]
            if self._dialect == "sqlite":
                raw = await self._db.exec_driver_sql(
                    SQLITE_INSERT_HISTORY, (orjson.dumps(columns).decode(),)
                )
                bounds = sqlite_fold_bounds(raw.lastrowid, raw.rowcount)
                await self._db.exec_driver_sql(SQLITE_FOLD, bounds)
            else:
                await self._db.execute(
                    schema.history.insert(),
                    [dict(zip(_HISTORY_KEYS, c, strict=True)) for c in columns],
                )
                await self._db.execute(text(POSTGRES_FOLD), postgres_arrays(columns))
        if current:
            await self._db.execute(
                _upsert(
                    self._dialect,
                    schema.current_values,
                    ["device_id", "datastream_id"],
                    newer_only=True,
                ),
                [
                    {
                        "device_id": p.device_id,
                        "datastream_id": p.datastream_id,
                        "ts": p.ts,
                        "value": dump_value(p.value),
                    }
                    for p in current
                ],
            )

    async def set_property(
        self, device_id: DeviceId, datastream_id: DatastreamId, *, name: str, value: str, ts: int
    ) -> None:
        """Store (or overwrite) one property of a device's datastream; ``value`` is JSON text."""
        await self._db.execute(
            _upsert(self._dialect, schema.properties, ["device_id", "datastream_id", "name"]),
            {
                "device_id": device_id,
                "datastream_id": datastream_id,
                "name": name,
                "value": value,
                "updated_at": ts,
            },
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

    async def update_hardware_info(self, device_id: DeviceId, info: HardwareInfo) -> None:
        """Replace what the device reported about itself."""
        await self._db.execute(
            update(schema.devices)
            .where(schema.devices.c.id == device_id)
            .values(hardware_info=dump_json(_hardware_dict(info)))
        )

    async def set_metafield_value(self, device_id: DeviceId, metafield_id: int, value: str) -> None:
        """Store a device's value for one metafield."""
        await self._db.execute(
            _upsert(self._dialect, schema.metafield_values, ["device_id", "metafield_id"]),
            {"device_id": device_id, "metafield_id": metafield_id, "value": value},
        )

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

    async def _device_where(self, condition: Any) -> Device | None:
        row = (await self._db.execute(select(schema.devices).where(condition))).first()
        if row is None:
            return None
        table = schema.metafield_values
        metas = await self._db.execute(
            select(table).where(table.c.device_id == row.id).order_by(table.c.metafield_id)
        )
        return _device(row, [(m.metafield_id, m.value) for m in metas])

    async def _insert_returning_id(self, table: Any, values: dict[str, Any]) -> int:
        result = await self._db.execute(table.insert().values(**values).returning(table.c.id))
        return int(result.scalar_one())

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
        return Template(
            id=TemplateId(row.id),
            code=row.code,
            org_id=OrgId(row.org_id),
            name=row.name,
            description=row.description,
            created_at=row.created_at,
            datastreams=tuple(_datastream(r) for r in ds_rows),
            events=tuple(
                TemplateEvent(
                    id=EventId(r.id),
                    code=r.code,
                    name=r.name,
                    type=r.type,
                    description=r.description,
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


def _organization(row: Row[Any]) -> Organization:
    return Organization(
        id=OrgId(row.id),
        name=row.name,
        parent_id=OrgId(row.parent_id) if row.parent_id is not None else None,
        description=row.description,
        created_at=row.created_at,
    )


def _organization_profile(row: Row[Any]) -> OrganizationProfile:
    return OrganizationProfile(
        id=OrgId(row.id),
        name=row.name,
        parent_id=OrgId(row.parent_id) if row.parent_id is not None else None,
        description=row.description,
        type=row.type,
        tz=row.tz,
        unit_system=row.unit_system,
        phone_number=row.phone_number,
        address=row.address,
        is_active=bool(row.is_active),
        last_modified_ts=int(row.last_modified_ts),
    )


def _oauth_client(row: Row[Any]) -> OAuthClient:
    return OAuthClient(
        id=row.id,
        org_id=OrgId(row.org_id),
        name=row.name,
        client_id=row.client_id,
        secret_hash=row.secret_hash,
        created_at=row.created_at,
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


def _hardware_dict(info: HardwareInfo) -> dict[str, str | None]:
    return {
        "version": info.version,
        "fw_type": info.fw_type,
        "blynk_version": info.blynk_version,
        "board_type": info.board_type,
        "build": info.build,
        "template_code": info.template_code,
    }


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
    )
