"""The notifications part of the storage contract: the notification log (automations.md §5.4)
and the planner's limit state (§1.4, §1.7), kept in tables so that a restart forgets nothing.

No SQL here; ``storage.sql_notifications`` implements it.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from pinbase.domain.device_notifications import DeviceEventSettings
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.notifications import LimitState


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationRecord:
    """One notification-log row (§5.4): a planner decision or a delivery's final outcome.

    ``recipient`` is a masked address or ``user:<id>``; ``user_id`` names the user for a push
    (or a user's e-mail), so that a user's inbox can list it. ``id`` is 0 until stored.
    """

    id: int = 0
    created_at: int
    org_id: OrgId
    device_id: DeviceId | None
    source: str
    source_ref: str | None = None
    channel: str
    recipient: str | None = None
    user_id: int | None = None
    status: str
    reason: str | None = None
    attempts: int = 0
    last_error: str | None = None
    outbox_id: str | None = None
    title: str | None = None
    body: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PresenceChange:
    """What recording a presence found: the status before (None: never connected) and when the
    device first connected."""

    was_online: bool | None
    first_connected_at: int


class NotificationRepository(Protocol):
    """Notification-log and limit-state queries inside one transaction."""

    async def add_notification_records(self, records: Sequence[NotificationRecord]) -> None:
        """Append rows to the notification log."""
        ...

    async def list_notification_records(
        self,
        org_id: OrgId,
        *,
        device_id: DeviceId | None = None,
        user_id: int | None = None,
        channel: str | None = None,
        before_id: int | None = None,
        limit: int,
    ) -> list[NotificationRecord]:
        """A page of an organization's log, newest first, optionally of one device, one user
        or one channel, with ids below ``before_id``."""
        ...

    async def finish_notification(
        self, outbox_id: str, *, status: str, reason: str | None, attempts: int, error: str | None
    ) -> None:
        """Record a delivery's final outcome on the row that queued it."""
        ...

    async def load_limit_state(
        self, device_id: DeviceId, event_id: int, *, limits_key: str
    ) -> LimitState:
        """The §1.4 state of a (device, event); a fresh one when it was counted under other
        limits (the event was edited since)."""
        ...

    async def save_limit_state(
        self, device_id: DeviceId, event_id: int, *, limits_key: str, state: LimitState
    ) -> None:
        """Store the §1.4 state of a (device, event)."""
        ...

    async def last_message_at(self, device_id: DeviceId, channel: str) -> int | None:
        """When the device last had a message queued on ``channel`` (ms), or None."""
        ...

    async def set_last_message_at(self, device_id: DeviceId, channel: str, *, ts: int) -> None:
        """Remember a message queued for the device on ``channel`` at ``ts``."""
        ...

    async def count_quota_uses(self, org_id: OrgId, *, since: int) -> int:
        """How many automation message actions of the organization queued at or after ``since``."""
        ...

    async def add_quota_use(self, org_id: OrgId, *, ts: int) -> None:
        """Count one automation message action of the organization at ``ts``."""
        ...

    async def load_device_event_settings(
        self, device_id: DeviceId, event_id: int
    ) -> DeviceEventSettings | None:
        """A device's override of one event (automations.md §1.5), or None."""
        ...

    async def list_device_event_settings(
        self, device_id: DeviceId
    ) -> dict[int, DeviceEventSettings]:
        """Every override the device holds, by event id."""
        ...

    async def save_device_event_settings(
        self, device_id: DeviceId, event_id: int, settings: DeviceEventSettings, *, ts: int
    ) -> None:
        """Store (replace) a device's override of one event, changed at ``ts``."""
        ...

    async def cancel_notification_records(self, source_ref: str) -> int:
        """Mark the still ``QUEUED`` rows of ``source_ref`` ``CANCELLED``; return how many."""
        ...

    async def record_presence(
        self, device_id: DeviceId, *, online: bool, ts: int
    ) -> PresenceChange:
        """Store the device's presence; return what was stored before."""
        ...

    async def read_first_connections(self, device_ids: Collection[DeviceId]) -> dict[DeviceId, int]:
        """When each of ``device_ids`` first connected (ms); never-connected devices are absent."""
        ...

    async def purge_notifications(self, *, log_before: int, quota_before: int) -> int:
        """Delete log rows created before ``log_before`` and quota uses before ``quota_before``;
        return how many log rows went."""
        ...
