"""``SqlSegments``: the ``SegmentRepository`` half of ``SqlTransaction``. A mixin: it uses the
transaction's connection."""

from collections import defaultdict
from collections.abc import Collection
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.domain.ids import OrgId
from pinbase.storage import schema
from pinbase.storage.segments import SegmentNameTaken, StoredSegment

_SEGMENTS = schema.segments
_MEMBERS = schema.segment_devices


class SqlSegments:
    """Segment reads and writes over ``self._db``."""

    _db: AsyncConnection

    async def list_segments(self, org_id: OrgId) -> list[StoredSegment]:
        """The organization's segments in creation order, with their members."""
        rows = list(
            await self._db.execute(
                select(_SEGMENTS).where(_SEGMENTS.c.org_id == org_id).order_by(_SEGMENTS.c.id)
            )
        )
        members = await self._members([row.id for row in rows])
        return [_segment(row, members.get(row.id, ())) for row in rows]

    async def find_segment(self, segment_id: int) -> StoredSegment | None:
        """One segment with its members, or None."""
        row = (
            await self._db.execute(select(_SEGMENTS).where(_SEGMENTS.c.id == segment_id))
        ).first()
        if row is None:
            return None
        members = await self._members([segment_id])
        return _segment(row, members.get(segment_id, ()))

    async def add_segment(
        self,
        org_id: OrgId,
        name: str,
        *,
        created_at: int,
        query: str | None = None,
        status: str = "",
    ) -> int:
        """Store a new empty segment (dynamic with a ``query``) and return its id."""
        # The service checks the name first; the unique index catches a concurrent twin (the
        # transaction is then lost, as for a taken e-mail).
        try:
            inserted = await self._db.scalar(
                _SEGMENTS.insert()
                .values(
                    org_id=org_id,
                    name=name,
                    created_at=created_at,
                    query=query,
                    status=status if query is not None else None,
                )
                .returning(_SEGMENTS.c.id)
            )
        except IntegrityError:
            raise SegmentNameTaken(name) from None
        return int(inserted)

    async def rename_segment(self, segment_id: int, name: str) -> bool:
        """Rename a segment; False when it does not exist."""
        try:
            result = await self._db.execute(
                update(_SEGMENTS).where(_SEGMENTS.c.id == segment_id).values(name=name)
            )
        except IntegrityError:
            raise SegmentNameTaken(name) from None
        return bool(result.rowcount)

    async def delete_segment(self, segment_id: int) -> bool:
        """Delete a segment and its member rows."""
        await self._db.execute(delete(_MEMBERS).where(_MEMBERS.c.segment_id == segment_id))
        result = await self._db.execute(delete(_SEGMENTS).where(_SEGMENTS.c.id == segment_id))
        return bool(result.rowcount)

    async def add_segment_devices(self, segment_id: int, device_ids: Collection[int]) -> int:
        """Make devices members; members already are ignored."""
        wanted = set(device_ids)
        if not wanted:
            return 0
        present = set(
            await self._db.scalars(
                select(_MEMBERS.c.device_id).where(
                    _MEMBERS.c.segment_id == segment_id, _MEMBERS.c.device_id.in_(wanted)
                )
            )
        )
        new = sorted(wanted - present)
        if new:
            await self._db.execute(
                _MEMBERS.insert(), [{"segment_id": segment_id, "device_id": d} for d in new]
            )
        return len(new)

    async def remove_segment_devices(self, segment_id: int, device_ids: Collection[int]) -> int:
        """Remove devices from a segment; how many were members."""
        if not device_ids:
            return 0
        result = await self._db.execute(
            delete(_MEMBERS).where(
                _MEMBERS.c.segment_id == segment_id, _MEMBERS.c.device_id.in_(set(device_ids))
            )
        )
        return int(result.rowcount)

    async def _members(self, segment_ids: list[int]) -> dict[int, tuple[int, ...]]:
        if not segment_ids:
            return {}
        found: defaultdict[int, list[int]] = defaultdict(list)
        rows = await self._db.execute(
            select(_MEMBERS.c.segment_id, _MEMBERS.c.device_id)
            .where(_MEMBERS.c.segment_id.in_(segment_ids))
            .order_by(_MEMBERS.c.segment_id, _MEMBERS.c.device_id)
        )
        for segment_id, device_id in rows:
            found[int(segment_id)].append(int(device_id))
        return {key: tuple(value) for key, value in found.items()}


async def delete_org_segments(db: AsyncConnection, org_id: OrgId) -> None:
    """Delete an organization's segments and their member rows (organization deletion)."""
    org_segments = select(_SEGMENTS.c.id).where(_SEGMENTS.c.org_id == org_id)
    await db.execute(delete(_MEMBERS).where(_MEMBERS.c.segment_id.in_(org_segments)))
    await db.execute(delete(_SEGMENTS).where(_SEGMENTS.c.org_id == org_id))


def _segment(row: Row[Any], device_ids: tuple[int, ...]) -> StoredSegment:
    return StoredSegment(
        id=int(row.id),
        org_id=OrgId(row.org_id),
        name=row.name,
        created_at=int(row.created_at),
        device_ids=device_ids,
        query=row.query,
        status=row.status or "",
    )
