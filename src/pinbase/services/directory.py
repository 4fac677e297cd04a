"""The in-memory directory of organizations, templates and devices: the hot lookup path.

Token lookups are dictionary hits. A token, device id or OAuth client id the directory does not
know is looked up in the database once, so what another process created (``pinbase provision``
or ``pinbase oauth create-client`` against a running server's data folder) works without a
restart. A token found there neither is remembered as unknown for a few seconds
(``UnknownTokens``), so repeating a wrong token does not query the database each time.

Its ``add_*``, ``remove_*`` and ``disown`` methods are for ``services.state.CachedState`` alone:
use cases announce changes, they never edit the directory (see that module).
"""

from collections.abc import Collection
from dataclasses import dataclass, replace

from pinbase.domain.devices import Device
from pinbase.domain.ids import DeviceId, OrgId, TemplateId, Token
from pinbase.domain.organizations import OAuthClient, Organization
from pinbase.domain.templates import Template
from pinbase.services.unknown_tokens import UnknownTokens
from pinbase.storage.base import Catalog, Store, Transaction


@dataclass(frozen=True, slots=True)
class BoundDevice:
    """A device together with its template, which every request needs to resolve pins."""

    device: Device
    template: Template


class Directory:
    """Organizations, OAuth clients, templates and devices, indexed for the hot path."""

    def __init__(self, store: Store, *, unknown: UnknownTokens | None = None) -> None:
        """``unknown`` remembers tokens found in no database row; without it, none are."""
        self._store = store
        self._unknown = unknown
        self._orgs: dict[OrgId, Organization] = {}
        self._clients: dict[str, OAuthClient] = {}
        self._templates: dict[TemplateId, Template] = {}
        self._by_token: dict[Token, BoundDevice] = {}
        self._by_id: dict[DeviceId, BoundDevice] = {}
        self._by_org: dict[OrgId, dict[DeviceId, BoundDevice]] = {}
        self._subtrees: dict[OrgId, frozenset[OrgId]] = {}

    def load(self, catalog: Catalog) -> None:
        """Replace the directory's contents with ``catalog``."""
        self._orgs = {org.id: org for org in catalog.organizations}
        self._clients = {client.client_id: client for client in catalog.oauth_clients}
        self._templates = {template.id: template for template in catalog.templates}
        self._subtrees.clear()
        self._by_token.clear()
        self._by_id.clear()
        self._by_org.clear()
        for device in catalog.devices:
            self.add_device(device)

    def add_device(self, device: Device) -> BoundDevice:
        """Index a device (new or changed); its template must be known."""
        bound = BoundDevice(device, self._templates[device.template_id])
        self.remove_device(device.id)
        self._by_token[device.token] = bound
        if self._unknown is not None:
            self._unknown.discard(device.token)
        self._by_id[device.id] = bound
        self._by_org.setdefault(device.org_id, {})[device.id] = bound
        return bound

    def remove_device(self, device_id: DeviceId) -> None:
        """Forget a device (deleted, or about to be indexed anew); its token stops working."""
        bound = self._by_id.pop(device_id, None)
        if bound is None:
            return
        self._by_token.pop(bound.device.token, None)
        in_org = self._by_org.get(bound.device.org_id, {})
        in_org.pop(device_id, None)
        if not in_org:
            self._by_org.pop(bound.device.org_id, None)

    def devices_in(self, org_ids: Collection[OrgId]) -> list[BoundDevice]:
        """The known devices of the organizations ``org_ids``, by id (Platform API lists)."""
        found = [bound for org_id in org_ids for bound in self._by_org.get(org_id, {}).values()]
        return sorted(found, key=lambda bound: bound.device.id)

    def devices_of_template(self, template_id: TemplateId) -> list[BoundDevice]:
        """The known devices built from the template, by id (a scan: for template edits)."""
        return sorted(
            (b for b in self._by_id.values() if b.device.template_id == template_id),
            key=lambda bound: bound.device.id,
        )

    def template_by_code(self, code: str) -> Template | None:
        """A known template by its public ``TMPL…`` code, or None."""
        return next((t for t in self._templates.values() if t.code == code), None)

    def add_template(self, template: Template) -> None:
        """Index a template (new or changed) and bind its devices to this version: the live
        connections of those devices read it on their next message (``DeviceGateway.current``).
        A scan of the devices: templates change at human pace."""
        self._templates[template.id] = template
        for bound in self.devices_of_template(template.id):
            self.add_device(bound.device)

    def remove_template(self, template_id: TemplateId) -> None:
        """Forget a deleted template (no device used it)."""
        self._templates.pop(template_id, None)

    def add_organization(self, org: Organization) -> None:
        """Index an organization (new or changed)."""
        self._orgs[org.id] = org
        self._subtrees.clear()

    def remove_organization(self, org_id: OrgId) -> None:
        """Forget a deleted organization with its OAuth clients and templates (no devices)."""
        self._orgs.pop(org_id, None)
        self._clients = {k: c for k, c in self._clients.items() if c.org_id != org_id}
        self._templates = {k: t for k, t in self._templates.items() if t.org_id != org_id}
        self._subtrees.clear()

    def organizations_in(self, org_ids: Collection[OrgId]) -> list[Organization]:
        """The known organizations among ``org_ids``, by id."""
        return sorted(
            (org for org in self._orgs.values() if org.id in org_ids), key=lambda org: org.id
        )

    def add_oauth_client(self, client: OAuthClient) -> None:
        """Index an OAuth client (new or changed)."""
        self._clients[client.client_id] = client

    def remove_oauth_client(self, client_id: str) -> None:
        """Forget a deleted OAuth client."""
        self._clients.pop(client_id, None)

    def disown(self, user_id: int) -> None:
        """Take a deleted user off every device it owned (a scan: deleting users is rare)."""
        owned = [b.device for b in self._by_id.values() if b.device.owner_user_id == user_id]
        for device in owned:
            self.add_device(replace(device, owner_user_id=None))

    async def by_token(self, token: Token) -> BoundDevice | None:
        """The device owning ``token`` and its template, or None for an unknown token."""
        bound = self._by_token.get(token)
        if bound is not None:
            return bound
        unknown = self._unknown
        if unknown is not None and token in unknown:
            return None
        async with self._store.transaction() as tx:
            device = await tx.find_device(token)
            if device is None or not await self._know_template(tx, device.template_id):
                # Unless this server indexed the token meanwhile (a Platform API create).
                if unknown is not None and token not in self._by_token:
                    unknown.add(token)
                return None
        return self.add_device(device)

    async def find_by_id(self, device_id: DeviceId) -> BoundDevice | None:
        """A device by id with its template, looked up in the database when not indexed yet."""
        bound = self._by_id.get(device_id)
        if bound is not None:
            return bound
        async with self._store.transaction() as tx:
            device = await tx.find_device_by_id(device_id)
            if device is None or not await self._know_template(tx, device.template_id):
                return None
        return self.add_device(device)

    async def find_oauth_client(self, client_id: str) -> OAuthClient | None:
        """An OAuth client by public id, looked up in the database when not indexed yet.

        A client found there belongs to an organization this directory may not know either,
        so the organizations are reloaded with it; for an organization new to the directory,
        so are its templates and devices, which the Platform API lists read from memory.
        """
        client = self._clients.get(client_id)
        if client is not None:
            return client
        async with self._store.transaction() as tx:
            client = await tx.find_oauth_client(client_id)
            if client is None:
                return None
            organizations = await tx.load_organizations()
            catalog = await tx.load_catalog() if client.org_id not in self._orgs else None
        for org in organizations:
            self._orgs[org.id] = org
        if catalog is not None:
            for template in catalog.templates:
                self._templates.setdefault(template.id, template)
            for device in catalog.devices:
                if device.id not in self._by_id:
                    self.add_device(device)
        self._subtrees.clear()
        self.add_oauth_client(client)
        return client

    def by_id(self, device_id: DeviceId) -> BoundDevice | None:
        """A known device by id, or None."""
        return self._by_id.get(device_id)

    def template(self, template_id: TemplateId) -> Template | None:
        """A known template by id, or None."""
        return self._templates.get(template_id)

    async def find_template(self, template_id: TemplateId) -> Template | None:
        """A template by id, looked up in the database when not indexed yet."""
        template = self._templates.get(template_id)
        if template is not None:
            return template
        async with self._store.transaction() as tx:
            if not await self._know_template(tx, template_id):
                return None
        return self._templates[template_id]

    def templates_in(self, org_ids: Collection[OrgId]) -> list[Template]:
        """The known templates of the organizations ``org_ids``, by id."""
        found = [t for t in self._templates.values() if t.org_id in org_ids]
        return sorted(found, key=lambda template: template.id)

    def organization(self, org_id: OrgId) -> Organization | None:
        """A known organization by id, or None."""
        return self._orgs.get(org_id)

    def oauth_client(self, client_id: str) -> OAuthClient | None:
        """A known OAuth client by its public client id, or None."""
        return self._clients.get(client_id)

    def subtree(self, org_id: OrgId) -> frozenset[OrgId]:
        """``org_id`` and every organization below it: a Platform API caller's scope (§1.3).

        Computed once per organization and kept until an organization is added or changed.
        """
        known = self._subtrees.get(org_id)
        if known is not None:
            return known
        children: dict[OrgId, list[OrgId]] = {}
        for org in self._orgs.values():
            if org.parent_id is not None:
                children.setdefault(org.parent_id, []).append(org.id)
        found = {org_id}
        pending = [org_id]
        while pending:
            for child in children.get(pending.pop(), ()):
                if child not in found:  # a cycle in stored data must not loop forever
                    found.add(child)
                    pending.append(child)
        subtree = frozenset(found)
        self._subtrees[org_id] = subtree
        return subtree

    def lineage(self, org_id: OrgId) -> frozenset[OrgId]:
        """``org_id`` and every organization above it: whose templates its devices may use
        (templates are made in a parent and passed down, data-model.md §1.1)."""
        found: set[OrgId] = set()
        current: OrgId | None = org_id
        while current is not None and current not in found:  # a stored cycle must not loop
            found.add(current)
            org = self._orgs.get(current)
            current = None if org is None else org.parent_id
        return frozenset(found)

    async def _know_template(self, tx: Transaction, template_id: TemplateId) -> bool:
        """Load a template the directory lacks; False when the database lacks it too."""
        if template_id in self._templates:
            return True
        template = await tx.load_template(template_id)
        if template is None:
            return False
        self._templates[template.id] = template
        return True
