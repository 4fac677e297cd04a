"""The organizations part of the storage contract: creating them (provisioning, platform API),
their profiles, counts and tags, and deleting one with what hangs off it.

No SQL here; ``storage.sql_organizations`` implements it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Protocol

from pinbase.domain.ids import OrgId
from pinbase.domain.organizations import Organization

if TYPE_CHECKING:  # storage.base imports this module for the bases of Transaction
    from pinbase.storage.base import OrganizationCounts, OrganizationProfile, StoredTag


class OrganizationRepository(Protocol):
    """Organization reads and writes inside one transaction."""

    async def add_organization(
        self, *, name: str, parent_id: OrgId | None, description: str | None, created_at: int
    ) -> Organization:
        """Create an organization."""
        ...

    async def create_organization(
        self,
        *,
        name: str,
        parent_id: OrgId | None,
        description: str | None,
        type: str | None,
        tz: str | None,
        unit_system: str | None,
        phone_number: str | None,
        is_active: bool,
        created_at: int,
    ) -> OrganizationProfile:
        """Create an organization with its profile; ``lastModifiedTs`` is ``created_at``."""
        ...

    async def load_organization_profiles(
        self, org_ids: Collection[OrgId]
    ) -> list[OrganizationProfile]:
        """The profiles of those of ``org_ids`` that exist, by id."""
        ...

    async def count_organization_contents(
        self, org_ids: Collection[OrgId]
    ) -> dict[OrgId, OrganizationCounts]:
        """Devices and users of each of ``org_ids`` (zero counts for an empty organization)."""
        ...

    async def list_tags(self, org_id: OrgId) -> list[StoredTag]:
        """The tags of an organization, by id."""
        ...

    async def delete_organization(self, org_id: OrgId) -> tuple[int, ...] | None:
        """Delete an organization that has no sub-organizations and no devices, with its users
        (and their console sessions and invitation links), tags, templates, OAuth clients and
        their tokens; devices elsewhere owned by its users lose their owner. Return the ids of
        the deleted users; None when it does not exist.
        """
        ...
