"""The legacy-import part of the storage contract: the import trace (legacy-import.md §5.2)
and the few writes an import needs beyond creating things (a user's last sign-in).

No SQL here; ``storage.sql_legacy_imports`` implements it.
"""

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from pinbase.domain.ids import DeviceId, OrgId


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceEntry:
    """What one legacy thing became: ``kind`` is ``user``, ``template`` or ``device``."""

    kind: str
    legacy_key: str
    pinbase_id: int
    org_id: OrgId


class LegacyImportRepository(Protocol):
    """Reads and writes of the import trace inside one transaction."""

    async def load_legacy_trace(self, kinds: Collection[str]) -> list[TraceEntry]:
        """Every trace entry of those kinds, by kind then key."""
        ...

    async def add_legacy_trace(self, entries: Collection[TraceEntry], *, ts: int) -> None:
        """Record what legacy things became."""
        ...

    async def add_tag(
        self, org_id: OrgId, name: str, *, owner_user_id: int, created_at: int
    ) -> int:
        """Create an organization tag (data-model.md §1.4); returns its id."""
        ...

    async def tag_devices(self, tag_id: int, device_ids: Collection[DeviceId]) -> None:
        """Put a tag on devices."""
        ...

    async def set_last_logged_at(self, user_id: int, ts: int) -> None:
        """Set a user's ``lastLoggedAt`` (copied from the legacy profile, §5.1)."""
        ...
