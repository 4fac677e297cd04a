"""The storage contract: what services may ask of a database, with no SQL in sight.

A ``Store`` hands out ``Transaction`` objects (``async with store.transaction() as tx``); a
transaction commits when its block ends without an exception and rolls back otherwise.
Repositories never commit on their own.
"""

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from pinbase.domain.datastreams import Datastream
from pinbase.domain.devices import Device, HardwareInfo
from pinbase.domain.ids import DatastreamId, DeviceId, OrgId, TemplateId, Token
from pinbase.domain.organizations import OAuthClient, Organization
from pinbase.domain.points import Point
from pinbase.domain.templates import Metafield, Template, TemplateEvent
from pinbase.storage.device_admin import DeviceAdminRepository
from pinbase.storage.device_records import DeviceRecordsRepository
from pinbase.storage.users import UserRepository


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    """Everything the server keeps in memory at start: the hot lookup tables."""

    organizations: tuple[Organization, ...]
    oauth_clients: tuple[OAuthClient, ...]
    templates: tuple[Template, ...]
    devices: tuple[Device, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryRow:
    """One stored history point, still in column form (see ``storage.codec``)."""

    datastream_id: DatastreamId
    ts: int
    num: float | None
    text: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MinuteRow:
    """The aggregates of one series over one UTC minute (``storage.point_writes``).

    ``count`` counts every point, ``num_count`` the numeric ones, which alone make up ``low``,
    ``high`` and ``total`` (None when the minute holds text only).
    """

    datastream_id: DatastreamId
    minute: int
    count: int
    num_count: int
    low: float | None
    high: float | None
    total: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredEvent:
    """A logged device event (timeline entry)."""

    id: int
    device_id: DeviceId
    event_id: int
    code: str
    type: str
    description: str | None
    ts: int
    is_resolved: bool = False
    resolved_at: int | None = None
    resolved_comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredToken:
    """An issued OAuth2 token, known only by the SHA-256 hex of its text.

    ``kind`` is ``access`` or ``refresh``; ``client_id`` is the issuing client's public id and
    ``org_id`` its home organization, so a token is validated without loading the client.
    """

    token_hash: str
    kind: str
    client_id: str
    org_id: OrgId
    expires_at: int
    created_at: int
    revoked: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredFile:
    """A file a device uploaded; the bytes live in the data folder under ``stored_name``."""

    id: int
    device_id: DeviceId
    original_name: str
    stored_name: str
    created_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrganizationProfile:
    """An organization with the profile columns of migration 0002 (data-model.md §1.2).

    ``address`` is the stored JSON text of ``{fullAddress, city, country, state, zip}``.
    """

    id: OrgId
    name: str
    parent_id: OrgId | None
    description: str | None
    type: str | None
    tz: str | None
    unit_system: str | None
    phone_number: str | None
    address: str | None
    is_active: bool
    last_modified_ts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrganizationCounts:
    """What an organization directly holds, for PLT-ORG-03's sort keys and PLT-ORG-08's refusal.

    ``devices`` counts its own devices and every device built from one of its templates.
    """

    devices: int = 0
    users: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredTag:
    """A tag of an organization (data-model.md §1.4)."""

    id: int
    org_id: OrgId
    name: str
    owner_user_id: int | None


class Transaction(UserRepository, DeviceAdminRepository, DeviceRecordsRepository, Protocol):
    """Reads and writes inside one database transaction."""

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

    async def find_oauth_client(self, client_id: str) -> OAuthClient | None:
        """The OAuth client with the public ``client_id``, or None."""
        ...

    async def list_oauth_clients(self) -> list[OAuthClient]:
        """Every OAuth client, by id."""
        ...

    async def add_oauth_tokens(self, tokens: Sequence[StoredToken]) -> None:
        """Record issued tokens."""
        ...

    async def find_oauth_token(self, token_hash: str) -> StoredToken | None:
        """The token whose hash is ``token_hash`` (revoked and expired ones included), or None."""
        ...

    async def revoke_oauth_token(self, token_hash: str) -> bool:
        """Revoke a token; True only for the one call that found it not yet revoked.

        Refresh-token rotation relies on this: of two requests racing with one refresh token,
        exactly one sees True.
        """
        ...

    async def delete_expired_oauth_tokens(self, *, before: int) -> int:
        """Delete tokens that expired before ``before``; return how many."""
        ...

    async def add_organization(
        self, *, name: str, parent_id: OrgId | None, description: str | None, created_at: int
    ) -> Organization:
        """Create an organization."""
        ...

    async def add_oauth_client(
        self, *, org_id: OrgId, name: str, client_id: str, secret_hash: str, created_at: int
    ) -> OAuthClient:
        """Create an OAuth client; only the secret's hash is given and kept."""
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

    async def delete_organization(self, org_id: OrgId) -> bool:
        """Delete an organization that has no sub-organizations and no devices, with its users,
        tags, templates, OAuth clients and their tokens; False when it does not exist.
        """
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

    async def append_points(self, points: Sequence[Point], *, current: Sequence[Point]) -> None:
        """Append history points and raise current values to ``current`` where newer."""
        ...

    async def count_points(self) -> int:
        """How many history points are stored in all."""
        ...

    async def read_history(
        self,
        device_id: DeviceId,
        datastream_ids: Sequence[DatastreamId],
        *,
        since: int,
        until: int,
        limit: int,
    ) -> list[HistoryRow]:
        """History points of some datastreams of a device with since <= ts < until, oldest first."""
        ...

    async def read_history_page(
        self,
        device_id: DeviceId,
        datastream_id: DatastreamId,
        *,
        since: int,
        until: int,
        offset: int,
        limit: int,
    ) -> list[HistoryRow]:
        """A page of one series with since <= ts < until, newest first (ties: newest row first)."""
        ...

    async def count_history(
        self, device_id: DeviceId, datastream_id: DatastreamId, *, since: int, until: int
    ) -> int:
        """How many points of a series have since <= ts < until."""
        ...

    async def read_minutes(
        self,
        device_id: DeviceId,
        datastream_ids: Sequence[DatastreamId],
        *,
        since: int,
        until: int,
    ) -> list[MinuteRow]:
        """Minute aggregates of some series with since <= minute < until, oldest first."""
        ...

    async def set_property(
        self, device_id: DeviceId, datastream_id: DatastreamId, *, name: str, value: str, ts: int
    ) -> None:
        """Store (or overwrite) one property of a device's datastream; ``value`` is JSON text."""
        ...

    async def load_properties(
        self, device_id: DeviceId, datastream_id: DatastreamId
    ) -> dict[str, str]:
        """The stored properties of a device's datastream, as JSON text by name."""
        ...

    async def load_all_properties(self) -> dict[DeviceId, dict[DatastreamId, dict[str, str]]]:
        """Every stored property: JSON text by name, by datastream, by device."""
        ...

    async def add_device_event(
        self, device_id: DeviceId, event: TemplateEvent, *, description: str | None, ts: int
    ) -> StoredEvent:
        """Log an event occurrence on the device timeline."""
        ...

    async def count_device_events(self, device_id: DeviceId, *, since: int) -> int:
        """How many events the device logged at or after ``since``."""
        ...

    async def list_device_events(self, device_id: DeviceId, *, since: int) -> list[StoredEvent]:
        """Events the device logged at or after ``since``, oldest first."""
        ...

    async def update_hardware_info(self, device_id: DeviceId, info: HardwareInfo) -> None:
        """Replace what the device reported about itself."""
        ...

    async def set_metafield_value(self, device_id: DeviceId, metafield_id: int, value: str) -> None:
        """Store a device's value for one metafield."""
        ...

    async def add_device_file(
        self, device_id: DeviceId, *, original_name: str, stored_name: str, created_at: int
    ) -> StoredFile:
        """Record an uploaded file."""
        ...

    async def list_device_files(self, device_id: DeviceId) -> list[StoredFile]:
        """A device's uploaded files that are not evicted, oldest first."""
        ...

    async def evict_device_file(self, file_id: int, *, ts: int) -> None:
        """Mark an uploaded file evicted (the caller removes the bytes); it still counts."""
        ...

    async def count_device_files(self, device_id: DeviceId, *, since: int) -> int:
        """How many files the device uploaded at or after ``since`` (kept or evicted)."""
        ...


class Store(Protocol):
    """A database: a source of transactions, and a resource to close."""

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """Open a transaction that commits on a clean exit."""
        ...

    async def append_points(self, points: Sequence[Point], *, current: Sequence[Point]) -> None:
        """Append history points and raise current values, in one committed transaction.

        The group-commit writer's only call: backends make it as cheap as they can.
        """
        ...

    async def checkpoint(self) -> None:
        """Periodic upkeep outside the write path (SQLite: fold the WAL into the database)."""
        ...

    async def close(self) -> None:
        """Release every connection."""
        ...
