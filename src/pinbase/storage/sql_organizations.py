"""``SqlOrganizationQueries``: organizations (created by provisioning or by the platform API),
their profiles, counts, tags and deletion. A mixin of ``SqlTransaction`` over its ``self._db``.
"""

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.domain.ids import OrgId
from pinbase.domain.organizations import Organization
from pinbase.storage import schema
from pinbase.storage.base import OrganizationCounts, OrganizationProfile, StoredTag
from pinbase.storage.sql_automations import delete_org_automations
from pinbase.storage.sql_console_sessions import delete_user_credentials
from pinbase.storage.sql_firmware import delete_org_firmware
from pinbase.storage.sql_segments import delete_org_segments
from pinbase.storage.sql_webhooks import delete_org_webhooks


class SqlOrganizationQueries:
    """Organization reads and writes over ``self._db``, an ``AsyncConnection``."""

    _db: AsyncConnection
    _insert_returning_id: Callable[[Any, dict[str, Any]], Awaitable[int]]
    """``SqlTransaction._insert_returning_id``: insert one row, return its new ``id``."""

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

    async def delete_organization(self, org_id: OrgId) -> tuple[int, ...] | None:
        """Delete an organization that has no sub-organizations and no devices, with its users,
        their console sessions and invitation links, tags, templates, OAuth clients and their
        tokens, webhooks and their logs; devices elsewhere owned by its users lose their owner.
        Return the ids of the deleted users; None when it does not exist.
        """
        orgs, tags, users = schema.organizations, schema.tags, schema.users
        templates, clients, tokens = schema.templates, schema.oauth_clients, schema.oauth_tokens
        devices = schema.devices
        org_users = select(users.c.id).where(users.c.org_id == org_id)
        org_tags = select(tags.c.id).where(tags.c.org_id == org_id)
        org_templates = select(templates.c.id).where(templates.c.org_id == org_id)
        org_clients = select(clients.c.client_id).where(clients.c.org_id == org_id)
        user_ids = tuple(
            int(user_id) for user_id in await self._db.scalars(org_users.order_by(users.c.id))
        )
        await self._db.execute(
            update(tags).where(tags.c.owner_user_id.in_(org_users)).values(owner_user_id=None)
        )
        await self._db.execute(
            update(devices).where(devices.c.owner_user_id.in_(org_users)).values(owner_user_id=None)
        )
        await self._db.execute(
            delete(schema.device_tags).where(schema.device_tags.c.tag_id.in_(org_tags))
        )
        await self._db.execute(delete(tags).where(tags.c.org_id == org_id))
        await delete_user_credentials(self._db, org_users)
        await delete_org_automations(self._db, org_id)
        await self._db.execute(delete(users).where(users.c.org_id == org_id))
        for child in (schema.datastreams, schema.template_events, schema.metafields):
            await self._db.execute(delete(child).where(child.c.template_id.in_(org_templates)))
        await self._db.execute(delete(templates).where(templates.c.org_id == org_id))
        await self._db.execute(
            delete(tokens).where(tokens.c.client_id.in_(org_clients) | (tokens.c.org_id == org_id))
        )
        await self._db.execute(delete(clients).where(clients.c.org_id == org_id))
        await delete_org_webhooks(self._db, org_id)
        await delete_org_firmware(self._db, org_id)
        await delete_org_segments(self._db, org_id)
        result = await self._db.execute(delete(orgs).where(orgs.c.id == org_id))
        return user_ids if result.rowcount else None


def organization_from_row(row: Row[Any]) -> Organization:
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
