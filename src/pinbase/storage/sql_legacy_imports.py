"""SQL for ``LegacyImportRepository``: a mixin of ``SqlTransaction`` over its ``self._db``."""

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.domain.ids import DeviceId, OrgId
from pinbase.storage import schema
from pinbase.storage.legacy_imports import TraceEntry

_TRACE = schema.legacy_imports


class SqlLegacyImports:
    """Import-trace queries over ``self._db``, an ``AsyncConnection``."""

    _db: AsyncConnection
    _insert_returning_id: Callable[[Any, dict[str, Any]], Awaitable[int]]

    async def load_legacy_trace(self, kinds: Collection[str]) -> list[TraceEntry]:
        """Every trace entry of those kinds, by kind then key."""
        rows = await self._db.execute(
            select(_TRACE)
            .where(_TRACE.c.kind.in_(sorted(kinds)))
            .order_by(_TRACE.c.kind, _TRACE.c.legacy_key)
        )
        return [
            TraceEntry(
                kind=row.kind,
                legacy_key=row.legacy_key,
                pinbase_id=row.pinbase_id,
                org_id=OrgId(row.org_id),
            )
            for row in rows
        ]

    async def add_legacy_trace(self, entries: Collection[TraceEntry], *, ts: int) -> None:
        """Record what legacy things became."""
        if entries:
            await self._db.execute(
                insert(_TRACE),
                [
                    {
                        "kind": e.kind,
                        "legacy_key": e.legacy_key,
                        "pinbase_id": e.pinbase_id,
                        "org_id": e.org_id,
                        "imported_at": ts,
                    }
                    for e in entries
                ],
            )

    async def add_tag(
        self, org_id: OrgId, name: str, *, owner_user_id: int, created_at: int
    ) -> int:
        """Create an organization tag; returns its id."""
        return await self._insert_returning_id(
            schema.tags,
            {
                "org_id": org_id,
                "name": name,
                "owner_user_id": owner_user_id,
                "created_at": created_at,
            },
        )

    async def tag_devices(self, tag_id: int, device_ids: Collection[DeviceId]) -> None:
        """Put a tag on devices."""
        if device_ids:
            await self._db.execute(
                insert(schema.device_tags),
                [{"device_id": d, "tag_id": tag_id} for d in sorted(device_ids)],
            )

    async def set_last_logged_at(self, user_id: int, ts: int) -> None:
        """Set a user's ``lastLoggedAt``."""
        users = schema.users
        await self._db.execute(update(users).where(users.c.id == user_id).values(last_logged_at=ts))
