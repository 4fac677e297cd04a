"""The organization use cases of the Platform API (PLT-ORG-01..04, PLT-ORG-08) and the console's
Organizations page (issue #9): reading one, searching, the tree with its counts, creating and
deleting.

A caller (``services.scope.Scoped``: an OAuth client or a console user) acts within its scope
(its home organization and everything below); an organization outside it is reported exactly
like a missing one. Deleting one takes its users, tags, templates, OAuth clients and their tokens
with it, and devices elsewhere owned by its users lose their owner; the change is then announced
(``services.changes``), so a token of the organization is refused from the very next request.
Which organization may be deleted is one rule, ``is_deletable``: the delete itself and the
console's Delete buttons both ask it.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import OrgId
from pinbase.domain.organizations import Organization
from pinbase.services.bus import Bus
from pinbase.services.changes import OrganizationRemoved, OrganizationSaved, UserRemoved
from pinbase.services.clock import Clock
from pinbase.services.directory import Directory
from pinbase.services.scope import Scoped
from pinbase.storage.base import (
    OrganizationCounts,
    OrganizationProfile,
    Store,
    StoredTag,
    Transaction,
)

logger = logging.getLogger(__name__)

PERSONAL = "PERSONAL"
"""A child of a PERSONAL organization is PERSONAL too (PLT-ORG-04)."""


class ParentNotFound(PinbaseError):
    """The parent of a new organization is missing or outside the caller's scope."""


class OrganizationNotFound(PinbaseError):
    """The organization is missing or outside the caller's scope."""


class OrganizationNotDeletable(PinbaseError):
    """The caller's own organization, a root, or one with sub-organizations or devices."""


OrganizationSort = Literal["id", "name", "devices", "users", "sub_organizations"]
"""Sort keys of a search; PLT-ORG-03's ``sortBy`` labels map onto these one to one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrganizationNode:
    """One organization of a caller's tree, with what it directly holds."""

    organization: Organization
    depth: int
    """0 for the caller's home organization, 1 for its children, and so on."""
    devices: int
    users: int
    sub_organizations: int
    is_deletable: bool


def is_deletable(
    caller: Scoped, org: Organization, *, sub_organizations: int, devices: int
) -> bool:
    """Whether ``caller`` may delete ``org`` (PLT-ORG-08): not its own organization, not a
    root, and nothing left below or inside it (no sub-organization, no device)."""
    return (
        caller.can_see(org.id)
        and org.id != caller.org_id
        and org.parent_id is not None
        and sub_organizations == 0
        and devices == 0
    )


class Organizations:
    """The organization use cases, read and write."""

    def __init__(self, store: Store, directory: Directory, bus: Bus, clock: Clock) -> None:
        self._store = store
        self._directory = directory
        self._bus = bus
        self._clock = clock

    async def profile(self, caller: Scoped, org_id: OrgId) -> OrganizationProfile:
        """An organization of the caller's scope with its profile (PLT-ORG-01, -02).

        Raises:
            OrganizationNotFound: missing (deleted by another process, too) or out of scope.
        """
        found = []
        if caller.can_see(org_id):
            async with self._store.transaction() as tx:
                found = await tx.load_organization_profiles([org_id])
        if not found:
            raise OrganizationNotFound(org_id)
        return found[0]

    async def tags(self, caller: Scoped, org_id: OrgId) -> list[StoredTag]:
        """The tags of an organization of the caller's scope (PLT-ORG-06).

        Raises:
            OrganizationNotFound: out of scope.
        """
        if not caller.can_see(org_id):
            raise OrganizationNotFound(org_id)
        async with self._store.transaction() as tx:
            return await tx.list_tags(org_id)

    async def search(
        self,
        caller: Scoped,
        query: str,
        *,
        sort: OrganizationSort,
        descending: bool,
        offset: int,
        limit: int,
    ) -> tuple[list[OrganizationProfile], int]:
        """A page of the organizations in scope whose name contains ``query`` (any case), with
        the number of matches (PLT-ORG-03); ties of any sort key are ordered by id."""
        needle = query.casefold()
        in_scope = self._directory.organizations_in(caller.scope)
        matches = [org for org in in_scope if needle in org.name.casefold()]
        children = Counter(org.parent_id for org in in_scope)
        counts: dict[OrgId, OrganizationCounts] = {}
        if sort in ("devices", "users"):
            async with self._store.transaction() as tx:
                counts = await tx.count_organization_contents([org.id for org in matches])

        def key(org: Organization) -> int | str:
            if sort == "name":
                return org.name.casefold()
            if sort == "devices":
                return counts[org.id].devices
            if sort == "users":
                return counts[org.id].users
            if sort == "sub_organizations":
                return children[org.id]
            return org.id

        ordered = sorted(matches, key=lambda org: org.id)
        ordered.sort(key=key, reverse=descending)
        chosen = [org.id for org in ordered[offset : offset + limit]]
        async with self._store.transaction() as tx:
            profiles = {p.id: p for p in await tx.load_organization_profiles(chosen)}
        return [profiles[i] for i in chosen if i in profiles], len(matches)

    async def tree(self, caller: Scoped) -> list[OrganizationNode]:
        """The caller's home organization and everything below it, depth first (children by
        name), each with its device, user and sub-organization counts."""
        in_scope = self._directory.organizations_in(caller.scope)
        children: dict[OrgId | None, list[Organization]] = {}
        for org in sorted(in_scope, key=lambda o: (o.name.casefold(), o.id)):
            children.setdefault(org.parent_id, []).append(org)
        async with self._store.transaction() as tx:
            counts = await tx.count_organization_contents([org.id for org in in_scope])
        nodes: list[OrganizationNode] = []
        home = self._directory.organization(caller.org_id)
        pending = [] if home is None else [(home, 0)]
        while pending:
            org, depth = pending.pop()
            below = children.get(org.id, [])
            held = counts.get(org.id, OrganizationCounts())
            nodes.append(
                OrganizationNode(
                    organization=org,
                    depth=depth,
                    devices=held.devices,
                    users=held.users,
                    sub_organizations=len(below),
                    is_deletable=is_deletable(
                        caller, org, sub_organizations=len(below), devices=held.devices
                    ),
                )
            )
            pending.extend((child, depth + 1) for child in reversed(below))
        return nodes

    async def create(
        self,
        caller: Scoped,
        *,
        parent_id: OrgId | None,
        name: str,
        description: str | None,
        type: str | None,
        tz: str | None,
        unit_system: str | None,
        phone_number: str | None,
    ) -> OrganizationProfile:
        """A new, inactive organization below ``parent_id`` (default: the caller's own).

        Raises:
            ParentNotFound: the parent is missing or outside the caller's scope.
        """
        parent_id = caller.org_id if parent_id is None else parent_id
        if not caller.can_see(parent_id):
            raise ParentNotFound(parent_id)
        async with self._store.transaction() as tx:
            found = await tx.load_organization_profiles([parent_id])
            if not found:  # deleted meanwhile
                raise ParentNotFound(parent_id)
            created = await tx.create_organization(
                name=name,
                parent_id=parent_id,
                description=description,
                type=PERSONAL if found[0].type == PERSONAL else type,
                tz=tz,
                unit_system=unit_system,
                phone_number=phone_number,
                is_active=False,
                created_at=self._clock(),
            )
        self._bus.publish(OrganizationSaved(organization=created.organization(), created=True))
        logger.info("organization.created org_id=%d parent_id=%d", created.id, parent_id)
        return created

    async def delete(self, caller: Scoped, org_id: OrgId) -> None:
        """Delete an organization of the caller's scope with what it holds, and revoke it.

        Raises:
            OrganizationNotFound: missing or outside the caller's scope.
            OrganizationNotDeletable: the caller's own organization, a root, or one with
                sub-organizations or devices.
        """
        org = self._directory.organization(org_id) if caller.can_see(org_id) else None
        if org is None:
            raise OrganizationNotFound(org_id)
        if not is_deletable(caller, org, sub_organizations=0, devices=0):
            raise OrganizationNotDeletable(org_id)
        async with self._store.transaction() as tx:
            # The database, not the directory, has the last word: another process may have
            # added a sub-organization or a device meanwhile.
            stored = await tx.load_organizations()
            counts = await tx.count_organization_contents([org_id])
            below = sum(1 for o in stored if o.parent_id == org_id)
            if not is_deletable(
                caller, org, sub_organizations=below, devices=counts[org_id].devices
            ):
                raise OrganizationNotDeletable(org_id)
            members = await _members(tx, org_id)
            user_ids = await tx.delete_organization(org_id)
            if user_ids is None:
                raise OrganizationNotFound(org_id)
        # Users first, while the directory still knows their organization: the webhooks of the
        # organizations above it hear of them (USER_DELETED, automations.md §4.2).
        for user_id in user_ids:
            email, name = members.get(user_id, ("", ""))
            self._bus.publish(UserRemoved(user_id=user_id, org_id=org_id, email=email, name=name))
        self._bus.publish(OrganizationRemoved(org_id=org_id))
        logger.info("organization.deleted org_id=%d users=%d", org_id, len(user_ids))


MEMBERS_PAGE = 1000
"""Users read per query when an organization is deleted."""


async def _members(tx: Transaction, org_id: OrgId) -> dict[int, tuple[str, str]]:
    """The e-mail and name of every user of the organization, by id (for ``UserRemoved``)."""
    found: dict[int, tuple[str, str]] = {}
    while True:
        page = await tx.list_users([org_id], offset=len(found), limit=MEMBERS_PAGE)
        found.update((user.id, (user.email, user.name)) for user in page)
        if len(page) < MEMBERS_PAGE:
            return found
