"""Device segments (issue #10; console.md Devices "Segments"): named sets of devices of one
organization, listed on the Devices page, and acted on by the Control Segment automation action
(automations.md §3.5). A static segment holds the devices chosen with the page's "Add to
Segment" bulk action; a dynamic one saves the page's search text and status filter ("Save as
Segment"), and its devices are those the filters keep at the moment they are asked for.

A segment belongs to the caller's home organization; its members may be any devices the caller
sees (its organization's and its sub-organizations'). Reads check scope the same way: another
organization's segment is reported like a missing one. Nothing is cached: segments are read
when a page or a run needs them, so there is no state to keep in step.
"""

import logging
from collections.abc import Collection, Sequence

from pinbase.domain.automations import stored_segments
from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.segments import MAX_DEVICES, MAX_PER_ORG, InvalidSegment, segment_name
from pinbase.domain.templates import Template
from pinbase.services.clock import Clock
from pinbase.services.console_devices import ConsoleDevices, StatusFilter
from pinbase.services.directory import BoundDevice, Directory
from pinbase.services.scope import Scoped
from pinbase.storage.base import Store
from pinbase.storage.segments import SegmentNameTaken, StoredSegment

logger = logging.getLogger(__name__)

__all__ = ["InvalidSegment", "SegmentInUse", "SegmentNotFound", "Segments"]

DYNAMIC = "A dynamic segment's devices come from its saved filters: they cannot be picked"


class SegmentNotFound(PinbaseError):
    """No such segment in the caller's scope; ``args[0]`` is the id asked for."""


class SegmentInUse(PinbaseError):
    """An automation acts on the segment; ``args[0]`` says which, for a person."""


class Segments:
    """The segment use cases, shared by the console and the automation checks."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        clock: Clock,
        *,
        devices: ConsoleDevices,
        max_per_org: int = MAX_PER_ORG,
        max_devices: int = MAX_DEVICES,
    ) -> None:
        self._devices = devices
        self._store = store
        self._directory = directory
        self._clock = clock
        self._max_per_org = max_per_org
        self._max_devices = max_devices

    async def in_org(self, caller: Scoped) -> list[StoredSegment]:
        """The segments of the caller's home organization, in creation order."""
        async with self._store.transaction() as tx:
            return await tx.list_segments(caller.org_id)

    async def get(self, caller: Scoped, segment_id: int) -> StoredSegment:
        """One segment of the caller's scope.

        Raises:
            SegmentNotFound: alike for a missing segment and another organization's.
        """
        async with self._store.transaction() as tx:
            found = await tx.find_segment(segment_id) if 0 < segment_id < 2**31 else None
        if found is None or not caller.can_see(found.org_id):
            raise SegmentNotFound(segment_id)
        return found

    async def create(
        self, caller: Scoped, name: str, *, device_ids: Collection[int] = ()
    ) -> StoredSegment:
        """A new segment of the caller's organization, holding ``device_ids``.

        Raises:
            InvalidSegment: a bad or taken name, ``Segments limit reached`` (50), a device the
                caller does not see, or too many devices.
        """
        clean = segment_name(name)
        members = self._visible(caller, caller.org_id, device_ids)
        if len(members) > self._max_devices:
            raise InvalidSegment(f"A segment holds at most {self._max_devices} devices")
        return await self._add(caller, clean, members=members)

    async def save_filters(
        self, caller: Scoped, name: str, *, query: str, status: StatusFilter
    ) -> StoredSegment:
        """A new dynamic segment of the caller's organization: the Devices page's search text
        and status filter ("Save as Segment").

        Raises:
            InvalidSegment: a bad or taken name, a search text over 255 characters, or
                ``Segments limit reached``.
        """
        clean = segment_name(name)
        text = query.strip()
        if len(text) > 255 or not text.isprintable():
            raise InvalidSegment("The search text is too long or holds control characters")
        return await self._add(caller, clean, query=text, status=status.value)

    async def _add(
        self,
        caller: Scoped,
        clean: str,
        *,
        members: Sequence[int] = (),
        query: str | None = None,
        status: str = "",
    ) -> StoredSegment:
        async with self._store.transaction() as tx:
            existing = await tx.list_segments(caller.org_id)
            if len(existing) >= self._max_per_org:
                raise InvalidSegment("Segments limit reached")
            if any(s.name.casefold() == clean.casefold() for s in existing):
                raise InvalidSegment(f"A segment named {clean!r} exists already")
            try:
                segment_id = await tx.add_segment(
                    caller.org_id, clean, created_at=self._clock(), query=query, status=status
                )
            except SegmentNameTaken:
                raise InvalidSegment(f"A segment named {clean!r} exists already") from None
            await tx.add_segment_devices(segment_id, members)
            created = await tx.find_segment(segment_id)
        assert created is not None
        logger.info(
            "segment.created id=%d org=%d devices=%d", segment_id, caller.org_id, len(members)
        )
        return created

    async def rename(self, caller: Scoped, segment_id: int, name: str) -> StoredSegment:
        """Give a segment another name.

        Raises:
            SegmentNotFound, InvalidSegment.
        """
        current = await self.get(caller, segment_id)
        clean = segment_name(name)
        async with self._store.transaction() as tx:
            others = [s for s in await tx.list_segments(current.org_id) if s.id != segment_id]
            if any(s.name.casefold() == clean.casefold() for s in others):
                raise InvalidSegment(f"A segment named {clean!r} exists already")
            try:
                await tx.rename_segment(segment_id, clean)
            except SegmentNameTaken:
                raise InvalidSegment(f"A segment named {clean!r} exists already") from None
            renamed = await tx.find_segment(segment_id)
        if renamed is None:
            raise SegmentNotFound(segment_id)
        return renamed

    async def delete(self, caller: Scoped, segment_id: int) -> None:
        """Delete a segment (its devices stay), unless an automation's Control Segment action
        names it: that automation would fail ``SEGMENT_NOT_FOUND`` at every run afterwards,
        so it is changed or deleted first, as a firmware file outlives no shipment of it.

        Raises:
            SegmentNotFound.
            SegmentInUse: an automation, of any organization, acts on it.
        """
        await self.get(caller, segment_id)
        async with self._store.transaction() as tx:
            users = [
                automation.name
                for automation in await tx.list_automations(None)
                if segment_id in stored_segments(automation.spec)
            ]
            if users:
                others = f" and {len(users) - 1} more" if len(users) > 1 else ""
                raise SegmentInUse(
                    f"The automation {users[0]!r}{others} acts on this segment: "
                    "change or delete it first."
                )
            await tx.delete_segment(segment_id)

    async def add_devices(
        self, caller: Scoped, segment_id: int, device_ids: Collection[int]
    ) -> int:
        """Add devices the caller sees to a segment; how many were new members.

        Raises:
            SegmentNotFound, InvalidSegment (a device not seen, or too many devices).
        """
        current = await self.get(caller, segment_id)
        if current.is_dynamic:
            raise InvalidSegment(DYNAMIC)
        members = self._visible(caller, current.org_id, device_ids)
        if len(set(current.device_ids) | set(members)) > self._max_devices:
            raise InvalidSegment(f"A segment holds at most {self._max_devices} devices")
        async with self._store.transaction() as tx:
            return await tx.add_segment_devices(segment_id, members)

    async def remove_devices(
        self, caller: Scoped, segment_id: int, device_ids: Collection[int]
    ) -> int:
        """Take devices out of a segment (static segments' "exclude"); how many were members.

        Raises:
            SegmentNotFound, InvalidSegment (a dynamic segment).
        """
        if (await self.get(caller, segment_id)).is_dynamic:
            raise InvalidSegment(DYNAMIC)
        async with self._store.transaction() as tx:
            return await tx.remove_segment_devices(segment_id, list(device_ids))

    async def templates_of(
        self, caller: Scoped, segment_id: int, *, org_id: OrgId
    ) -> list[Template]:
        """The templates of a segment's devices now, for the Control Segment save-time check;
        the segment must belong to ``org_id`` or an organization below it.

        Raises:
            SegmentNotFound.
        """
        segment = await self.get(caller, segment_id)
        if segment.org_id not in self._directory.subtree(org_id):
            raise SegmentNotFound(segment_id)
        found: dict[int, Template] = {}
        for bound in await self.members(segment, org_id=org_id):
            found.setdefault(bound.template.id, bound.template)
        return list(found.values())

    async def members(self, segment: StoredSegment, *, org_id: OrgId) -> list[BoundDevice]:
        """The segment's devices that exist and belong to ``org_id`` or below (a device moved
        away meanwhile is left out), by id: a dynamic segment's are those its filters keep
        now."""
        subtree = self._directory.subtree(org_id)
        if segment.query is not None:
            devices = sorted(self._directory.devices_in(subtree), key=lambda b: b.device.id)
            try:
                status = StatusFilter(segment.status)
            except ValueError:
                status = StatusFilter.ANY
            return await self._devices.matching(devices, query=segment.query, status=status)
        found = []
        for device_id in segment.device_ids:
            bound = self._directory.by_id(DeviceId(device_id))
            if bound is not None and bound.device.org_id in subtree:
                found.append(bound)
        return found

    def _visible(self, caller: Scoped, org_id: OrgId, device_ids: Collection[int]) -> Sequence[int]:
        """``device_ids`` without repeats, each a device of ``org_id`` or below that the caller
        sees.

        Raises:
            InvalidSegment: one is missing or out of reach (alike).
        """
        subtree = self._directory.subtree(org_id)
        wanted = sorted(set(device_ids))
        for device_id in wanted:
            bound = self._directory.by_id(DeviceId(device_id)) if 0 < device_id < 2**31 else None
            if (
                bound is None
                or bound.device.org_id not in subtree
                or not caller.can_see(bound.device.org_id)
            ):
                raise InvalidSegment(f"Device {device_id} is not found")
        return wanted
