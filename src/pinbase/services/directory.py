"""The in-memory directory of organizations, templates and devices: the hot lookup path.

Token lookups are dictionary hits. A token the directory does not know is looked up in the
database once, so devices provisioned by another process (``pinbase provision`` against a
running server's data folder) work without a restart.
"""

from dataclasses import dataclass

from pinbase.domain.devices import Device
from pinbase.domain.ids import DeviceId, OrgId, TemplateId, Token
from pinbase.domain.organizations import OAuthClient, Organization
from pinbase.domain.templates import Template
from pinbase.storage.base import Catalog, Store


@dataclass(frozen=True, slots=True)
class BoundDevice:
    """A device together with its template, which every request needs to resolve pins."""

    device: Device
    template: Template


class Directory:
    """Organizations, OAuth clients, templates and devices, indexed for the hot path."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._orgs: dict[OrgId, Organization] = {}
        self._clients: dict[str, OAuthClient] = {}
        self._templates: dict[TemplateId, Template] = {}
        self._by_token: dict[Token, BoundDevice] = {}
        self._by_id: dict[DeviceId, BoundDevice] = {}

    def load(self, catalog: Catalog) -> None:
        """Replace the directory's contents with ``catalog``."""
        self._orgs = {org.id: org for org in catalog.organizations}
        self._clients = {client.client_id: client for client in catalog.oauth_clients}
        self._templates = {template.id: template for template in catalog.templates}
        self._by_token.clear()
        self._by_id.clear()
        for device in catalog.devices:
            self.add_device(device)

    def add_device(self, device: Device) -> BoundDevice:
        """Index a device (new or changed); its template must be known."""
        bound = BoundDevice(device, self._templates[device.template_id])
        self._by_token[device.token] = bound
        self._by_id[device.id] = bound
        return bound

    def add_template(self, template: Template) -> None:
        """Index a template (new or changed)."""
        self._templates[template.id] = template

    async def by_token(self, token: Token) -> BoundDevice | None:
        """The device owning ``token`` and its template, or None for an unknown token."""
        bound = self._by_token.get(token)
        if bound is not None:
            return bound
        async with self._store.transaction() as tx:
            device = await tx.find_device(token)
            if device is None:
                return None
            if device.template_id not in self._templates:
                template = await tx.load_template(device.template_id)
                if template is None:
                    return None
                self._templates[template.id] = template
        return self.add_device(device)

    def by_id(self, device_id: DeviceId) -> BoundDevice | None:
        """A known device by id, or None."""
        return self._by_id.get(device_id)

    def template(self, template_id: TemplateId) -> Template | None:
        """A known template by id, or None."""
        return self._templates.get(template_id)

    def organization(self, org_id: OrgId) -> Organization | None:
        """A known organization by id, or None."""
        return self._orgs.get(org_id)

    def oauth_client(self, client_id: str) -> OAuthClient | None:
        """A known OAuth client by its public client id, or None."""
        return self._clients.get(client_id)
