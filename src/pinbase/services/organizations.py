"""Creating and deleting organizations through the Platform API (PLT-ORG-04, PLT-ORG-08).

A caller acts within its scope (its home organization and everything below); an organization
outside it is reported exactly like a missing one. Deleting one takes its users, tags, templates,
OAuth clients and their tokens with it, and devices elsewhere owned by its users lose their
owner; the change is then announced (``services.changes``), so a token of the organization is
refused from the very next request.
"""

import logging

from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import OrgId
from pinbase.services.bus import Bus
from pinbase.services.changes import OrganizationRemoved, OrganizationSaved, UserRemoved
from pinbase.services.clock import Clock
from pinbase.services.directory import Directory
from pinbase.services.oauth import Caller
from pinbase.storage.base import OrganizationProfile, Store

logger = logging.getLogger(__name__)

PERSONAL = "PERSONAL"
"""A child of a PERSONAL organization is PERSONAL too (PLT-ORG-04)."""


class ParentNotFound(PinbaseError):
    """The parent of a new organization is missing or outside the caller's scope."""


class OrganizationNotFound(PinbaseError):
    """The organization is missing or outside the caller's scope."""


class OrganizationNotDeletable(PinbaseError):
    """The caller's own organization, a root, or one with sub-organizations or devices."""


class Organizations:
    """The organization use cases that change what exists."""

    def __init__(self, store: Store, directory: Directory, bus: Bus, clock: Clock) -> None:
        self._store = store
        self._directory = directory
        self._bus = bus
        self._clock = clock

    async def create(
        self,
        caller: Caller,
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
        self._bus.publish(OrganizationSaved(organization=created.organization()))
        logger.info("organization.created org_id=%d parent_id=%d", created.id, parent_id)
        return created

    async def delete(self, caller: Caller, org_id: OrgId) -> None:
        """Delete an organization of the caller's scope with what it holds, and revoke it.

        Raises:
            OrganizationNotFound: missing or outside the caller's scope.
            OrganizationNotDeletable: the caller's own organization, a root, or one with
                sub-organizations or devices.
        """
        org = self._directory.organization(org_id) if caller.can_see(org_id) else None
        if org is None:
            raise OrganizationNotFound(org_id)
        if org_id == caller.org_id or org.parent_id is None:
            raise OrganizationNotDeletable(org_id)
        async with self._store.transaction() as tx:
            # The database, not the directory, has the last word: another process may have
            # added a sub-organization or a device meanwhile.
            stored = await tx.load_organizations()
            counts = await tx.count_organization_contents([org_id])
            if counts[org_id].devices or any(o.parent_id == org_id for o in stored):
                raise OrganizationNotDeletable(org_id)
            user_ids = await tx.delete_organization(org_id)
            if user_ids is None:
                raise OrganizationNotFound(org_id)
        self._bus.publish(OrganizationRemoved(org_id=org_id))
        for user_id in user_ids:
            self._bus.publish(UserRemoved(user_id=user_id))
        logger.info("organization.deleted org_id=%d users=%d", org_id, len(user_ids))
