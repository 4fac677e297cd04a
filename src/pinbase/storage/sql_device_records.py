"""SQL for ``DeviceRecordsRepository``: a mixin of ``SqlTransaction`` over its ``self._db``.

Timeline and actions-log pages are read newest first with the row id breaking ties, so a page
boundary never splits or repeats entries that share a millisecond.
"""

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.pins import Pin, PinType
from pinbase.storage import schema
from pinbase.storage.base import StoredEvent, StoredTag
from pinbase.storage.device_records import DeviceAction, TagLink

MAX_IDS_PER_QUERY = 500
"""Device ids bound into one ``IN`` list: far below SQLite's and PostgreSQL's parameter limits."""

_EVENTS = schema.device_events
_ACTIONS = schema.device_actions
COMMAND_PIN_TYPE = "command"
"""The ``pin_type`` of an actions-log entry that is a device command, not a datastream write:
``pin`` is then 0 and ``property`` holds the command's kind (no schema change, issue #12)."""


class SqlDeviceRecords:
    """Device tags, timeline and actions-log queries over ``self._db``, an ``AsyncConnection``."""

    _db: AsyncConnection

    async def list_device_tags(self, device_id: DeviceId) -> list[StoredTag]:
        """The tags put on the device, by id."""
        tags, links = schema.tags, schema.device_tags
        rows = await self._db.execute(
            select(tags)
            .join(links, links.c.tag_id == tags.c.id)
            .where(links.c.device_id == device_id)
            .order_by(tags.c.id)
        )
        return [_tag(row) for row in rows]

    async def list_tag_links(self, device_ids: Collection[DeviceId]) -> list[TagLink]:
        """Every tag put on any of ``device_ids``, once per device, by tag id then device id."""
        tags, links = schema.tags, schema.device_tags
        wanted = sorted(set(device_ids))
        found: list[TagLink] = []
        for start in range(0, len(wanted), MAX_IDS_PER_QUERY):
            rows = await self._db.execute(
                select(tags, links.c.device_id)
                .join(links, links.c.tag_id == tags.c.id)
                .where(links.c.device_id.in_(wanted[start : start + MAX_IDS_PER_QUERY]))
            )
            found.extend(TagLink(device_id=DeviceId(row.device_id), tag=_tag(row)) for row in rows)
        return sorted(found, key=lambda link: (link.tag.id, link.device_id))

    async def count_timeline(
        self,
        device_id: DeviceId,
        *,
        event_type: str | None,
        since: int = 0,
        visible_only: bool = False,
    ) -> int:
        """How many events the device logged at ``since`` or later (of ``event_type`` only,
        when given), only those logged to show on the timeline when ``visible_only``."""
        count = await self._db.scalar(
            select(func.count()).where(
                *_timeline_filter(device_id, event_type, since, visible_only=visible_only)
            )
        )
        return int(count or 0)

    async def read_timeline_page(
        self,
        device_id: DeviceId,
        *,
        event_type: str | None,
        offset: int,
        limit: int,
        since: int = 0,
        visible_only: bool = False,
    ) -> list[StoredEvent]:
        """A page of the device's events logged at ``since`` or later (of ``event_type`` only,
        when given), newest first, only those logged to show on the timeline when
        ``visible_only``."""
        rows = await self._db.execute(
            select(_EVENTS)
            .where(*_timeline_filter(device_id, event_type, since, visible_only=visible_only))
            .order_by(_EVENTS.c.ts.desc(), _EVENTS.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [StoredEvent(**row._asdict()) for row in rows]

    async def add_device_actions(self, actions: Sequence[DeviceAction]) -> None:
        """Append entries to actions logs."""
        if not actions:
            return
        await self._db.execute(
            _ACTIONS.insert(),
            [
                {
                    "device_id": action.device_id,
                    "trigger_user_email": action.trigger_user_email,
                    "pin_type": COMMAND_PIN_TYPE if action.pin is None else action.pin.type.value,
                    "pin": 0 if action.pin is None else action.pin.number,
                    "property": action.command if action.pin is None else action.property,
                    "value": action.value,
                    "is_online": action.is_online,
                    "created_at": action.created_at,
                    "client": action.client,
                    "trigger_name": action.trigger_name,
                }
                for action in actions
            ],
        )

    async def count_device_actions(self, device_id: DeviceId, *, since: int = 0) -> int:
        """How many entries the device's actions log holds from ``since`` on."""
        count = await self._db.scalar(
            select(func.count()).where(
                _ACTIONS.c.device_id == device_id, _ACTIONS.c.created_at >= since
            )
        )
        return int(count or 0)

    async def read_device_actions_page(
        self, device_id: DeviceId, *, offset: int, limit: int, since: int = 0
    ) -> list[DeviceAction]:
        """A page of the device's actions log from ``since`` on, newest first (ties: latest
        entry first)."""
        rows = await self._db.execute(
            select(_ACTIONS)
            .where(_ACTIONS.c.device_id == device_id, _ACTIONS.c.created_at >= since)
            .order_by(_ACTIONS.c.created_at.desc(), _ACTIONS.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [_action(row) for row in rows]


def _timeline_filter(
    device_id: DeviceId, event_type: str | None, since: int, *, visible_only: bool
) -> list[ColumnElement[bool]]:
    conditions = [_EVENTS.c.device_id == device_id, _EVENTS.c.ts >= since]
    if event_type is not None:
        conditions.append(_EVENTS.c.type == event_type)
    if visible_only:
        conditions.append(_EVENTS.c.visible_on_timeline)
    return conditions


def _action(row: Row[Any]) -> DeviceAction:
    command = row.pin_type == COMMAND_PIN_TYPE
    return DeviceAction(
        device_id=DeviceId(row.device_id),
        trigger_user_email=row.trigger_user_email,
        pin=None if command else Pin(PinType(row.pin_type), row.pin),
        command=row.property if command else None,
        property=None if command else row.property,
        value=row.value,
        is_online=row.is_online,
        created_at=row.created_at,
        client=row.client,
        trigger_name=row.trigger_name,
    )


def _tag(row: Row[Any]) -> StoredTag:
    return StoredTag(
        id=row.id, org_id=OrgId(row.org_id), name=row.name, owner_user_id=row.owner_user_id
    )
