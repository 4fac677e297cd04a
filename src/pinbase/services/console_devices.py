"""The console's device table (console.md §1.3) and the device a page is about.

Answered from the in-memory directory (every device of every known organization), presence and
current values; the database is asked only for the owners' names. A caller sees the devices its
role allows within its scope (``ConsoleCaller.can_view_device``): a device it may not see is
answered as missing, so a device page URL of another organization is a plain 404.
"""

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pinbase.domain.ids import DeviceId
from pinbase.services.console_caller import ConsoleCaller
from pinbase.services.directory import BoundDevice, Directory
from pinbase.services.presence import Presence
from pinbase.services.telemetry import Telemetry
from pinbase.storage.base import Store
from pinbase.storage.users import StoredUser

MAX_LISTED = 500
"""Rows one page shows: a table a person can scroll; the count says when a search would help."""

MAX_QUERY_CHARS = 255
"""A search longer than any name it could match (device names ≤ 50, e-mails ≤ 255)."""


class StatusFilter(StrEnum):
    """The status filter of the device table."""

    ANY = ""
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceRow:
    """One row of the device table. ``last_reported_at`` is 0 for a device that never sent a
    value; ``owner`` the owner's name, None for a device without one."""

    id: DeviceId
    name: str
    template_name: str
    online: bool
    last_reported_at: int
    owner: str | None
    owner_email: str | None
    organization: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceTable:
    """The first ``MAX_LISTED`` matching rows, by name, and how many matched in all."""

    rows: tuple[DeviceRow, ...]
    total: int


def last_reported_at(bound: BoundDevice, telemetry: Telemetry) -> int:
    """When the device last stored a value (Blynk's ``lastReportedAt``), or 0."""
    points = (telemetry.current(bound.device.id, ds) for ds in bound.template.datastreams)
    return max((point.ts for point in points if point is not None), default=0)


class ConsoleDevices:
    """Reads behind the Devices page and the device page."""

    def __init__(
        self, store: Store, directory: Directory, telemetry: Telemetry, presence: Presence
    ) -> None:
        self._store = store
        self._directory = directory
        self._telemetry = telemetry
        self._presence = presence

    def visible(self, caller: ConsoleCaller) -> list[BoundDevice]:
        """Every device the caller may see, by id."""
        return [
            bound
            for bound in self._directory.devices_in(caller.scope)
            if caller.can_view_device(bound.device)
        ]

    async def table(
        self,
        caller: ConsoleCaller,
        *,
        query: str = "",
        status: StatusFilter = StatusFilter.ANY,
        only: Collection[int] | None = None,
    ) -> DeviceTable:
        """The caller's devices whose name, template name, owner name or owner e-mail contains
        ``query`` (ignoring case), with the chosen status, sorted by name; ``only`` narrows them
        to those ids (a segment's)."""
        devices = self.visible(caller)
        if only is not None:
            devices = [b for b in devices if b.device.id in only]
        rows = await self._rows(devices, query=query, status=status)
        rows.sort(key=lambda row: (row.name.casefold(), row.id))
        return DeviceTable(rows=tuple(rows[:MAX_LISTED]), total=len(rows))

    async def matching(
        self, devices: Sequence[BoundDevice], *, query: str, status: StatusFilter
    ) -> list[BoundDevice]:
        """The ``devices`` the table's search and status filter keep (a dynamic segment's
        members), in the order given."""
        kept = {row.id for row in await self._rows(devices, query=query, status=status)}
        return [bound for bound in devices if bound.device.id in kept]

    async def _rows(
        self, devices: Sequence[BoundDevice], *, query: str, status: StatusFilter
    ) -> list[DeviceRow]:
        if status is not StatusFilter.ANY:
            wanted = status is StatusFilter.ONLINE
            devices = [b for b in devices if self._presence.is_online(b.device.id) == wanted]
        owners = await self._owners(devices)
        rows = [self._row(bound, owners) for bound in devices]
        needle = query.strip().casefold()[:MAX_QUERY_CHARS]
        if needle:
            rows = [row for row in rows if _matches(row, needle)]
        return rows

    async def find(self, caller: ConsoleCaller, device_id: int) -> BoundDevice | None:
        """The device, if the caller may see it; None otherwise (missing or not allowed)."""
        bound = await self._directory.find_by_id(DeviceId(device_id))
        if bound is None or not caller.can_view_device(bound.device):
            return None
        return bound

    def is_online(self, bound: BoundDevice) -> bool:
        """Whether the device holds a connection now."""
        return self._presence.is_online(bound.device.id)

    def last_reported_at(self, bound: BoundDevice) -> int:
        """When the device last stored a value, or 0."""
        return last_reported_at(bound, self._telemetry)

    def _row(self, bound: BoundDevice, owners: dict[int, StoredUser]) -> DeviceRow:
        device = bound.device
        owner = None if device.owner_user_id is None else owners.get(device.owner_user_id)
        org = self._directory.organization(device.org_id)
        return DeviceRow(
            id=device.id,
            name=device.name,
            template_name=bound.template.name,
            online=self._presence.is_online(device.id),
            last_reported_at=last_reported_at(bound, self._telemetry),
            owner=None if owner is None else owner.name,
            owner_email=None if owner is None else owner.email,
            organization="" if org is None else org.name,
        )

    async def _owners(self, devices: Iterable[BoundDevice]) -> dict[int, StoredUser]:
        wanted = {b.device.owner_user_id for b in devices if b.device.owner_user_id is not None}
        found: dict[int, StoredUser] = {}
        if not wanted:
            return found
        async with self._store.transaction() as tx:
            for user_id in sorted(wanted):
                user = await tx.find_user(user_id)
                if user is not None:
                    found[user_id] = user
        return found


def _matches(row: DeviceRow, needle: str) -> bool:
    fields = (row.name, row.template_name, row.owner or "", row.owner_email or "")
    return any(needle in text.casefold() for text in fields)
