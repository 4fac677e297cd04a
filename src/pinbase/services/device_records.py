"""A device's records read and written for a caller: metadata, tags, timeline, events and the
actions log (PLT-DEV-15 to 20), which the console shares (issue #9).

Metadata and events go through the services the device API uses (``services.metadata`` for
DEV-09/10, ``services.events`` for DEV-07), so every entry point applies one set of rules. A
write checks, in order: the device (``DeviceNotFound``), the field or event code, the value.
"""

from collections.abc import Collection
from dataclasses import dataclass
from typing import Generic, TypeVar

from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import DeviceId
from pinbase.domain.templates import Metafield
from pinbase.services.directory import BoundDevice, Directory
from pinbase.services.events import EventLog
from pinbase.services.metadata import Metadata, MetafieldNotFound, MetaValue
from pinbase.services.scope import Scoped, device_in_scope
from pinbase.storage.base import Store, StoredEvent, StoredTag
from pinbase.storage.device_records import DeviceAction


class EventNotFound(PinbaseError):
    """The device's template defines no event with that code."""


T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Page(Generic[T]):
    """One page of a device's records with the total count."""

    items: list[T]
    total: int


class DeviceRecords:
    """Reads and writes the records of devices in scope."""

    def __init__(
        self, *, store: Store, directory: Directory, metadata: Metadata, events: EventLog
    ) -> None:
        self._store = store
        self._directory = directory
        self._metadata = metadata
        self._events = events

    async def metadata(self, caller: Scoped, device_id: int) -> list[tuple[Metafield, MetaValue]]:
        """Every metadata field of the device's template with the device's value.

        Raises:
            DeviceNotFound.
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        return [
            (field, self._metadata.read(bound, str(field.id)).value)
            for field in bound.template.metafields
        ]

    async def write_metadata(
        self, caller: Scoped, device_id: int, metafield_id: int, value: str
    ) -> None:
        """Store a metadata value under the device API's rules (DEV-10).

        Raises:
            DeviceNotFound, MetafieldNotFound (no field with that id), MetafieldReadOnly,
            InvalidMetaValue.
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        if all(field.id != metafield_id for field in bound.template.metafields):
            raise MetafieldNotFound(metafield_id)
        await self._metadata.write(bound, str(metafield_id), value)

    async def first_connections(self, devices: Collection[BoundDevice]) -> dict[DeviceId, int]:
        """When each of ``devices`` (already in the caller's scope) first connected, in ms; a
        device that never connected is absent. One query per 500 devices."""
        if not devices:
            return {}
        async with self._store.transaction() as tx:
            return await tx.read_first_connections([bound.device.id for bound in devices])

    async def tags(self, caller: Scoped, device_id: int) -> list[StoredTag]:
        """The tags on the device.

        Raises:
            DeviceNotFound.
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        async with self._store.transaction() as tx:
            return await tx.list_device_tags(bound.device.id)

    async def timeline(
        self,
        caller: Scoped,
        device_id: int,
        *,
        event_type: str | None,
        offset: int,
        limit: int,
        since: int = 0,
    ) -> tuple[BoundDevice, Page[StoredEvent]]:
        """A page of events logged at ``since`` or later, newest first (of one type when given),
        with the device.

        Occurrences logged while their event's "Show on timeline" was off are stored and counted
        toward the limits but left out here, for the Platform API and the console alike
        (automations.md §1.10, OP-A19). The setting is copied onto each occurrence when it is
        logged, so changing the event later does not rewrite the timeline.

        Raises:
            DeviceNotFound.
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        async with self._store.transaction() as tx:
            total = await tx.count_timeline(
                bound.device.id, event_type=event_type, since=since, visible_only=True
            )
            events = await tx.read_timeline_page(
                bound.device.id,
                event_type=event_type,
                offset=offset,
                limit=limit,
                since=since,
                visible_only=True,
            )
        return bound, Page(items=events, total=total)

    async def trigger_event(
        self, caller: Scoped, device_id: int, code: str, description: str | None
    ) -> StoredEvent:
        """Log an occurrence of the template's event ``code`` under DEV-07's limits.

        Raises:
            DeviceNotFound, EventNotFound, EventRejected (a limit, with the reason).
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        event = bound.template.event(code)
        if event is None:
            raise EventNotFound(code)
        return await self._events.log(bound.device, event, description)

    async def actions(
        self, caller: Scoped, device_id: int, *, offset: int, limit: int, since: int = 0
    ) -> Page[DeviceAction]:
        """A page of the device's actions log from ``since`` on, newest first.

        Raises:
            DeviceNotFound.
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        device = bound.device.id
        async with self._store.transaction() as tx:
            total = await tx.count_device_actions(device, since=since)
            actions = await tx.read_device_actions_page(
                device, offset=offset, limit=limit, since=since
            )
        return Page(items=actions, total=total)
