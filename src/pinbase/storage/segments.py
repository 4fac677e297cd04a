"""Device segments' part of the storage contract (issue #10, console.md Devices "Segments"). No
SQL here; ``storage.sql_segments`` implements it."""

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import OrgId


class SegmentNameTaken(PinbaseError):
    """The organization has a segment of that name already (the unique index said so)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSegment:
    """A segment with its members' ids (ascending); ``created_at`` in epoch ms. A dynamic
    segment has a ``query`` (the Devices page's search text, maybe empty) and a ``status``
    filter and no members of its own."""

    id: int
    org_id: OrgId
    name: str
    created_at: int
    device_ids: tuple[int, ...]
    query: str | None = None
    status: str = ""

    @property
    def is_dynamic(self) -> bool:
        """Whether its devices come from saved filters rather than a chosen list."""
        return self.query is not None


class SegmentRepository(Protocol):
    """Segment reads and writes inside one transaction."""

    async def list_segments(self, org_id: OrgId) -> list[StoredSegment]:
        """The organization's segments in creation order, with their members."""
        ...

    async def find_segment(self, segment_id: int) -> StoredSegment | None:
        """One segment with its members, or None."""
        ...

    async def add_segment(
        self,
        org_id: OrgId,
        name: str,
        *,
        created_at: int,
        query: str | None = None,
        status: str = "",
    ) -> int:
        """Store a new empty segment (dynamic with a ``query``) and return its id.

        Raises:
            SegmentNameTaken: the organization has a segment of that name.
        """
        ...

    async def rename_segment(self, segment_id: int, name: str) -> bool:
        """Rename a segment; False when it does not exist.

        Raises:
            SegmentNameTaken: another segment of the organization has that name.
        """
        ...

    async def delete_segment(self, segment_id: int) -> bool:
        """Delete a segment and its member rows (never the devices); False when missing."""
        ...

    async def add_segment_devices(self, segment_id: int, device_ids: Collection[int]) -> int:
        """Make devices members (members already are ignored); how many were added."""
        ...

    async def remove_segment_devices(self, segment_id: int, device_ids: Collection[int]) -> int:
        """Remove devices from a segment; how many were members."""
        ...
