"""The catalog part of the storage contract: what the in-memory directory is loaded from
(organizations, OAuth clients, templates, devices, current values), and creating templates and
devices, which provisioning and the platform API share.

No SQL here; ``storage.sql_catalog`` implements it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from pinbase.domain.datastreams import Datastream
from pinbase.domain.devices import Device
from pinbase.domain.ids import DeviceId, OrgId, TemplateId, Token
from pinbase.domain.organizations import Organization
from pinbase.domain.points import Point
from pinbase.domain.templates import Metafield, Template, TemplateEvent

if TYPE_CHECKING:  # storage.base imports this module for the bases of Transaction
    from pinbase.storage.base import Catalog


class CatalogRepository(Protocol):
    """Catalog reads and template and device creation inside one transaction."""

    async def load_catalog(self) -> Catalog:
        """Every organization, OAuth client, template and device."""
        ...

    async def load_current_values(self) -> list[Point]:
        """The current value of every (device, datastream) that has one."""
        ...

    async def find_device(self, token: Token) -> Device | None:
        """The device owning ``token``, or None."""
        ...

    async def find_device_by_id(self, device_id: DeviceId) -> Device | None:
        """The device with ``device_id``, or None."""
        ...

    async def load_template(self, template_id: TemplateId) -> Template | None:
        """One template with its datastreams, events and metafields, or None."""
        ...

    async def load_organizations(self) -> list[Organization]:
        """Every organization, by id."""
        ...

    async def add_template(
        self,
        *,
        org_id: OrgId,
        code: str,
        name: str,
        description: str | None,
        datastreams: Sequence[Datastream],
        events: Sequence[TemplateEvent],
        metafields: Sequence[Metafield],
        created_at: int,
        offline_ignore_period: int = 0,
    ) -> Template:
        """Create a template with its children."""
        ...

    async def add_device(
        self,
        *,
        org_id: OrgId,
        template: Template,
        name: str,
        token: Token,
        created_at: int,
        owner_user_id: int | None = None,
    ) -> Device:
        """Create a device; its metafields start at the template's defaults."""
        ...
