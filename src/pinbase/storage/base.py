"""The storage contract: what services may ask of a database, with no SQL in sight.

A ``Store`` hands out ``Transaction`` objects (``async with store.transaction() as tx``); a
transaction commits when its block ends without an exception and rolls back otherwise.
Repositories never commit on their own.
"""

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from pinbase.domain.deliveries import Delivery
from pinbase.domain.devices import Device
from pinbase.domain.ids import DatastreamId, DeviceId, OrgId
from pinbase.domain.organizations import OAuthClient, Organization
from pinbase.domain.points import Point
from pinbase.domain.templates import Template
from pinbase.storage.automations import AutomationRepository
from pinbase.storage.catalog import CatalogRepository
from pinbase.storage.console_sessions import ConsoleSessionRepository
from pinbase.storage.device_admin import DeviceAdminRepository
from pinbase.storage.device_logs import DeviceLogsRepository
from pinbase.storage.device_records import DeviceRecordsRepository
from pinbase.storage.firmware import FirmwareRepository
from pinbase.storage.legacy_imports import LegacyImportRepository
from pinbase.storage.notifications import NotificationRepository
from pinbase.storage.oauth import OAuthRepository
from pinbase.storage.organizations import OrganizationRepository
from pinbase.storage.outbox import OutboxRepository
from pinbase.storage.push_subscriptions import PushSubscriptionRepository
from pinbase.storage.retention import RetentionRepository
from pinbase.storage.segments import SegmentRepository
from pinbase.storage.templates import TemplateRepository
from pinbase.storage.users import UserRepository
from pinbase.storage.webhooks import WebhookRepository


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
class BucketRow:
    """The numeric points of one series over one span of time, for a chart (console.md §3.2).

    ``count`` counts the numeric points, of which ``total`` is the sum: Avg is exact however many
    minutes or points the bucket folds. A bucket without a number has no row.
    """

    datastream_id: DatastreamId
    start: int
    count: int
    low: float
    high: float
    total: float


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
    visible_on_timeline: bool = True
    """The event's "Show on timeline" when the occurrence was logged (automations.md §1.10)."""


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

    def organization(self) -> Organization:
        """The organization itself, as the directory indexes it."""
        return Organization(
            id=self.id,
            name=self.name,
            parent_id=self.parent_id,
            description=self.description,
            created_at=self.last_modified_ts,
        )


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


class Transaction(
    AutomationRepository,
    UserRepository,
    CatalogRepository,
    OrganizationRepository,
    OAuthRepository,
    DeviceAdminRepository,
    DeviceRecordsRepository,
    DeviceLogsRepository,
    RetentionRepository,
    ConsoleSessionRepository,
    TemplateRepository,
    PushSubscriptionRepository,
    SegmentRepository,
    WebhookRepository,
    OutboxRepository,
    NotificationRepository,
    FirmwareRepository,
    LegacyImportRepository,
    Protocol,
):
    """Reads and writes inside one database transaction."""

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

    async def read_point_buckets(
        self,
        device_id: DeviceId,
        datastream_ids: Sequence[DatastreamId],
        *,
        since: int,
        until: int,
        bucket_ms: int,
    ) -> list[BucketRow]:
        """Raw points with since <= ts < until folded into buckets starting at ``since``.

        Bucket ``n`` starts at ``since + n * bucket_ms``. Ordered by datastream, then time.
        """
        ...

    async def read_minute_buckets(
        self,
        device_id: DeviceId,
        datastream_ids: Sequence[DatastreamId],
        *,
        since: int,
        until: int,
        bucket_ms: int,
    ) -> list[BucketRow]:
        """Minute aggregates with since <= minute < until folded into buckets from ``since``.

        As ``read_point_buckets``, from ``history_minutes``: ``since`` and ``bucket_ms`` are whole
        minutes, so no minute straddles two buckets.
        """
        ...

    async def set_property(
        self, device_id: DeviceId, datastream_id: DatastreamId, *, name: str, value: str, ts: int
    ) -> None:
        """Store (or overwrite) one property of a device's datastream; ``value`` is JSON text."""
        ...

    async def set_metafield_value(self, device_id: DeviceId, metafield_id: int, value: str) -> None:
        """Store a device's value for one metafield."""
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

    def short_transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A transaction for a few indexed statements committed many times a second (the
        outbox's claims and finishes, the automation run log): on SQLite it runs on the event
        loop's thread, blocking it while it lasts, so never a scan or a bulk read in it."""
        ...

    async def append_points(
        self,
        points: Sequence[Point],
        *,
        current: Sequence[Point],
        deliveries: Sequence[Delivery] = (),
    ) -> None:
        """Append history points, raise current values and add outbox deliveries (as
        ``Transaction.add_deliveries``), in one committed transaction.

        The group-commit writer's only call: backends make it as cheap as they can.
        """
        ...

    async def checkpoint(self) -> None:
        """Periodic upkeep outside the write path (SQLite: fold the WAL into the database)."""
        ...

    async def close(self) -> None:
        """Release every connection."""
        ...
