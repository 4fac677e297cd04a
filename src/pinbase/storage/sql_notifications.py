"""SQL for ``NotificationRepository``: a mixin of ``SqlTransaction`` over its ``self._db``.

The two small state tables are upserted with the dialect's ``ON CONFLICT``; the planner reads
and writes them in the transaction that stores the occurrence, so a crash keeps both or neither.
"""

from collections.abc import Collection, Sequence
from dataclasses import asdict
from typing import Any

import orjson
from sqlalchemy import Row, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.domain.device_notifications import DeviceEventSettings, parse_channels
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.notifications import LimitState
from pinbase.storage import schema
from pinbase.storage.codec import dump_json
from pinbase.storage.notifications import NotificationRecord, PresenceChange
from pinbase.storage.sql_device_records import MAX_IDS_PER_QUERY

_LOG = schema.notification_log


class SqlNotificationQueries:
    """Notification queries over ``self._db``, an ``AsyncConnection``."""

    _db: AsyncConnection
    _dialect: str

    async def add_notification_records(self, records: Sequence[NotificationRecord]) -> None:
        """Append rows to the notification log."""
        if records:
            rows = [{k: v for k, v in asdict(r).items() if k != "id"} for r in records]
            await self._db.execute(_LOG.insert(), rows)

    async def list_notification_records(
        self,
        org_id: OrgId,
        *,
        device_id: DeviceId | None = None,
        user_id: int | None = None,
        channel: str | None = None,
        before_id: int | None = None,
        limit: int,
    ) -> list[NotificationRecord]:
        """A page of an organization's log, newest first."""
        query = select(_LOG).where(_LOG.c.org_id == org_id)
        if device_id is not None:
            query = query.where(_LOG.c.device_id == device_id)
        if user_id is not None:
            query = query.where(_LOG.c.user_id == user_id)
        if channel is not None:
            query = query.where(_LOG.c.channel == channel)
        if before_id is not None:
            query = query.where(_LOG.c.id < before_id)
        rows = await self._db.execute(query.order_by(_LOG.c.id.desc()).limit(limit))
        return [_record(row) for row in rows]

    async def finish_notification(
        self, outbox_id: str, *, status: str, reason: str | None, attempts: int, error: str | None
    ) -> None:
        """Record a delivery's final outcome on the row that queued it."""
        await self._db.execute(
            update(_LOG)
            .where(_LOG.c.outbox_id == outbox_id)
            .values(status=status, reason=reason, attempts=attempts, last_error=error)
        )

    async def load_limit_state(
        self, device_id: DeviceId, event_id: int, *, limits_key: str
    ) -> LimitState:
        """The §1.4 state of a (device, event), fresh when counted under other limits."""
        table = schema.notification_limits
        row = (
            await self._db.execute(
                select(table).where(table.c.device_id == device_id, table.c.event_id == event_id)
            )
        ).first()
        if row is None or row.limits_key != limits_key:
            return LimitState()
        # ``Row.count`` is the tuple method; the column is read through the mapping.
        return LimitState(count=row._mapping["count"], period_started_at=row.period_started_at)

    async def save_limit_state(
        self, device_id: DeviceId, event_id: int, *, limits_key: str, state: LimitState
    ) -> None:
        """Store the §1.4 state of a (device, event)."""
        await self._db.execute(
            self._upsert(schema.notification_limits, ["device_id", "event_id"]),
            {
                "device_id": device_id,
                "event_id": event_id,
                "limits_key": limits_key,
                "count": state.count,
                "period_started_at": state.period_started_at,
            },
        )

    async def last_message_at(self, device_id: DeviceId, channel: str) -> int | None:
        """When the device last had a message queued on ``channel`` (ms), or None."""
        table = schema.notification_last_message
        found = await self._db.scalar(
            select(table.c.ts).where(table.c.device_id == device_id, table.c.channel == channel)
        )
        return None if found is None else int(found)

    async def set_last_message_at(self, device_id: DeviceId, channel: str, *, ts: int) -> None:
        """Remember a message queued for the device on ``channel`` at ``ts``."""
        await self._db.execute(
            self._upsert(schema.notification_last_message, ["device_id", "channel"]),
            {"device_id": device_id, "channel": channel, "ts": ts},
        )

    async def count_quota_uses(self, org_id: OrgId, *, since: int) -> int:
        """How many automation message actions of the organization queued at or after ``since``."""
        table = schema.notification_quota
        found = await self._db.scalar(
            select(func.count(table.c.id)).where(table.c.org_id == org_id, table.c.ts >= since)
        )
        return int(found or 0)

    async def add_quota_use(self, org_id: OrgId, *, ts: int) -> None:
        """Count one automation message action of the organization at ``ts``."""
        await self._db.execute(schema.notification_quota.insert(), {"org_id": org_id, "ts": ts})

    async def load_device_event_settings(
        self, device_id: DeviceId, event_id: int
    ) -> DeviceEventSettings | None:
        """A device's override of one event (automations.md §1.5), or None."""
        table = schema.device_event_notifications
        row = (
            await self._db.execute(
                select(table).where(table.c.device_id == device_id, table.c.event_id == event_id)
            )
        ).first()
        return None if row is None else _override(row)

    async def list_device_event_settings(
        self, device_id: DeviceId
    ) -> dict[int, DeviceEventSettings]:
        """Every override the device holds, by event id."""
        table = schema.device_event_notifications
        rows = await self._db.execute(select(table).where(table.c.device_id == device_id))
        return {int(row.event_id): _override(row) for row in rows}

    async def save_device_event_settings(
        self, device_id: DeviceId, event_id: int, settings: DeviceEventSettings, *, ts: int
    ) -> None:
        """Store (replace) a device's override of one event, changed at ``ts``."""
        await self._db.execute(
            self._upsert(schema.device_event_notifications, ["device_id", "event_id"]),
            {
                "device_id": device_id,
                "event_id": event_id,
                "channels": dump_json(settings.channels_json()),
                "muted_until": settings.muted_until,
                "updated_at": ts,
            },
        )

    async def cancel_notification_records(self, source_ref: str) -> int:
        """Mark the still ``QUEUED`` rows of ``source_ref`` ``CANCELLED``; return how many."""
        result = await self._db.execute(
            update(_LOG)
            .where(_LOG.c.source_ref == source_ref, _LOG.c.status == "QUEUED")
            .values(status="CANCELLED")
        )
        return int(result.rowcount)

    async def record_presence(
        self, device_id: DeviceId, *, online: bool, ts: int
    ) -> PresenceChange:
        """Store the device's presence; return what was stored before."""
        table = schema.device_status
        row = (await self._db.execute(select(table).where(table.c.device_id == device_id))).first()
        first = ts if row is None else row.first_connected_at
        await self._db.execute(
            self._upsert(table, ["device_id"]),
            {
                "device_id": device_id,
                "online": online,
                "changed_at": ts,
                "first_connected_at": first,
            },
        )
        return PresenceChange(
            was_online=None if row is None else row.online, first_connected_at=first
        )

    async def read_first_connections(self, device_ids: Collection[DeviceId]) -> dict[DeviceId, int]:
        """When each of ``device_ids`` first connected (ms); never-connected devices are absent."""
        table = schema.device_status
        wanted = sorted(set(device_ids))
        found: dict[DeviceId, int] = {}
        for start in range(0, len(wanted), MAX_IDS_PER_QUERY):
            rows = await self._db.execute(
                select(table.c.device_id, table.c.first_connected_at).where(
                    table.c.device_id.in_(wanted[start : start + MAX_IDS_PER_QUERY])
                )
            )
            found.update((DeviceId(row.device_id), int(row.first_connected_at)) for row in rows)
        return found

    async def purge_notifications(self, *, log_before: int, quota_before: int) -> int:
        """Delete old log rows and quota uses; return how many log rows went."""
        quota = schema.notification_quota
        await self._db.execute(delete(quota).where(quota.c.ts < quota_before))
        result = await self._db.execute(delete(_LOG).where(_LOG.c.created_at < log_before))
        return int(result.rowcount)

    def _upsert(self, table: Table, keys: list[str]) -> Any:
        statement: sqlite.Insert | postgresql.Insert = (
            sqlite.insert(table) if self._dialect == "sqlite" else postgresql.insert(table)
        )
        updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
        return statement.on_conflict_do_update(index_elements=keys, set_=updates)


def _override(row: Row[Any]) -> DeviceEventSettings:
    muted_until = None if row.muted_until is None else int(row.muted_until)
    return parse_channels(orjson.loads(row.channels), muted_until=muted_until)


def _record(row: Row[Any]) -> NotificationRecord:
    return NotificationRecord(
        id=row.id,
        created_at=row.created_at,
        org_id=OrgId(row.org_id),
        device_id=None if row.device_id is None else DeviceId(row.device_id),
        source=row.source,
        source_ref=row.source_ref,
        channel=row.channel,
        recipient=row.recipient,
        user_id=row.user_id,
        status=row.status,
        reason=row.reason,
        attempts=row.attempts,
        last_error=row.last_error,
        outbox_id=row.outbox_id,
        title=row.title,
        body=row.body,
    )
