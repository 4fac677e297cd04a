"""Device lists for a caller: all, search, by owner, by a user's organization, recently activated
(the use cases behind PLT-DEV-01 to 05, which the console's device list shares).

Lists are answered from the in-memory directory, which holds every device of every known
organization (the directory module says how devices created by other processes get there); the
database is asked only for users (owner e-mails and names). An e-mail that names no user in the
caller's scope answers an empty list, like a user without devices: nothing undocumented leaks.
"""

from collections.abc import Callable, Sequence
from typing import Literal

from pinbase.domain.devices import Device
from pinbase.domain.ids import OrgId
from pinbase.services.clock import Clock
from pinbase.services.directory import BoundDevice, Directory
from pinbase.services.presence import Presence
from pinbase.services.scope import Scoped, organization_in_scope, user_in_scope
from pinbase.services.telemetry import Telemetry
from pinbase.storage.base import Store
from pinbase.storage.users import StoredUser

MINUTE_MS = 60_000

DeviceSort = Literal[
    "id",
    "name",
    "token",
    "owner_id",
    "owner_name",
    "owner_email",
    "last_reported",
    "activated_at",
    "model",
    "template_name",
    "template_id",
    "firmware",
    "org_id",
    "status",
]
"""What a device search sorts by; ties, and devices lacking the value (first), go by id."""

OWNER_SORTS = frozenset({"owner_name", "owner_email"})
"""Sort keys that need the owners' user records."""

Sortable = tuple[bool, int | str]
"""A sort key that puts devices lacking the value first: ``(has value, value)``."""


def _key(value: int | str | None) -> Sortable:
    return (False, 0) if value is None else (True, value)


class DeviceLists:
    """Lists the devices a caller may see."""

    def __init__(
        self,
        *,
        store: Store,
        directory: Directory,
        telemetry: Telemetry,
        presence: Presence,
        clock: Clock,
    ) -> None:
        self._store = store
        self._directory = directory
        self._telemetry = telemetry
        self._presence = presence
        self._clock = clock

    def in_scope(self, caller: Scoped, *, include_sub_orgs: bool) -> list[BoundDevice]:
        """The devices of the caller's home organization (and those below it), by id."""
        orgs = caller.scope if include_sub_orgs else {caller.org_id}
        return self._directory.devices_in(orgs)

    async def search(
        self, caller: Scoped, query: str, *, sort: DeviceSort, descending: bool
    ) -> list[BoundDevice]:
        """The devices in scope whose name contains ``query`` (ignoring case), sorted."""
        needle = query.casefold()
        matches = [
            b
            for b in self._directory.devices_in(caller.scope)
            if needle in b.device.name.casefold()
        ]
        owners = await self._owners_of(matches) if sort in OWNER_SORTS else {}
        matches.sort(key=self._sort_key(sort, owners), reverse=descending)
        return matches

    async def owned_by(
        self, caller: Scoped, email: str, *, org_id: int | None
    ) -> list[BoundDevice]:
        """The devices the user owns in ``org_id`` (default: home) and below it.

        Raises:
            OrganizationOutOfScope: ``org_id`` is missing or outside the caller's scope.
        """
        target = organization_in_scope(self._directory, caller, org_id)
        user = await user_in_scope(self._store, caller, email)
        if user is None:
            return []
        devices = self._directory.devices_in(self._directory.subtree(target))
        return [b for b in devices if b.device.owner_user_id == user.id]

    async def in_user_organization(self, caller: Scoped, email: str) -> list[BoundDevice]:
        """The devices of the organization the user belongs to (not those below it)."""
        user = await user_in_scope(self._store, caller, email)
        if user is None:
            return []
        return self._directory.devices_in({OrgId(user.org_id)})

    def activated_since(self, caller: Scoped, *, org_id: int | None, minutes: int) -> list[Device]:
        """The devices of ``org_id`` (default: home; not below it) created within the last
        ``minutes``, newest first.

        Raises:
            OrganizationOutOfScope: ``org_id`` is missing or outside the caller's scope.
        """
        target = organization_in_scope(self._directory, caller, org_id)
        since = self._clock() - minutes * MINUTE_MS
        recent = [
            b.device for b in self._directory.devices_in({target}) if b.device.created_at >= since
        ]
        recent.sort(key=lambda device: (device.created_at, device.id), reverse=True)
        return recent

    async def _owners_of(self, devices: Sequence[BoundDevice]) -> dict[int, StoredUser]:
        wanted = {b.device.owner_user_id for b in devices if b.device.owner_user_id is not None}
        found: dict[int, StoredUser] = {}
        async with self._store.transaction() as tx:
            for user_id in sorted(wanted):
                user = await tx.find_user(user_id)
                if user is not None:
                    found[user_id] = user
        return found

    def _last_reported(self, bound: BoundDevice) -> int:
        points = (self._telemetry.current(bound.device.id, ds) for ds in bound.template.datastreams)
        return max((point.ts for point in points if point is not None), default=0)

    def _sort_key(
        self, sort: DeviceSort, owners: dict[int, StoredUser]
    ) -> Callable[[BoundDevice], Sortable]:
        def key(bound: BoundDevice) -> Sortable:
            device, info = bound.device, bound.device.hardware_info
            owner_id = device.owner_user_id
            user = None if owner_id is None else owners.get(owner_id)
            match sort:
                case "name":
                    return _key(device.name.casefold())
                case "token":
                    return _key(device.token)
                case "owner_id":
                    return _key(owner_id)
                case "owner_name":
                    return _key(None if user is None else user.name.casefold())
                case "owner_email":
                    return _key(None if user is None else user.email)
                case "last_reported":
                    return _key(self._last_reported(bound))
                case "activated_at":
                    return _key(device.created_at)
                case "model":
                    return _key(info.board_type)
                case "template_name":
                    return _key(bound.template.name.casefold())
                case "template_id":
                    return _key(device.template_id)
                case "firmware":
                    return _key(info.version)
                case "org_id":
                    return _key(device.org_id)
                case "status":
                    return _key(int(self._presence.is_online(device.id)))  # offline first
            return _key(device.id)

        return key
