"""The webhooks part of the storage contract: saved webhooks and their delivery log
(automations.md §4.9). No SQL here; ``storage.sql_webhooks`` implements it."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from pinbase.domain.ids import OrgId
from pinbase.domain.webhooks import Status, Webhook


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredWebhook:
    """A webhook with the counters its list shows (webhooks.md: Last triggered, Attempts)."""

    webhook: Webhook
    attempts: int = 0
    failure_streak: int = 0
    last_triggered_at: int | None = None


class LogStatus(StrEnum):
    """A delivery's state in the log (§4.9): queued or retrying, then done one way."""

    WAITING = "WAITING"
    OK = "OK"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookLogEntry:
    """One real delivery of a webhook (tests are never logged, §4.8).

    ``request_url`` has its secrets masked; ``response_body`` holds at most the response cap
    (16 KB), ``truncated`` saying whether more came. ``reason`` names a failure that had no
    HTTP status, or why a status failed (``GAVE_UP``, ``BLOCKED_TARGET``, ``RATE_LIMITED`` …).
    """

    delivery_id: str
    webhook_id: int
    version: int
    status: LogStatus
    request_url: str
    created_at: int
    attempts: int = 0
    code: int | None = None
    reason: str | None = None
    error: str | None = None
    finished_at: int | None = None
    content_type: str | None = None
    retry_after: str | None = None
    response_body: str | None = None
    truncated: bool = False


class WebhookRepository(Protocol):
    """Webhook reads and writes inside one transaction."""

    async def add_webhook(self, webhook: Webhook) -> Webhook:
        """Store a new webhook; returns it with its assigned id (``webhook.id`` is ignored)."""
        ...

    async def update_webhook(self, webhook: Webhook) -> bool:
        """Replace a webhook's settings, version and update time; False when it is gone."""
        ...

    async def delete_webhook(self, webhook_id: int) -> bool:
        """Delete a webhook and its log; False when it was gone already."""
        ...

    async def find_webhook(self, webhook_id: int) -> StoredWebhook | None:
        """One webhook of any organization (callers check the organization), or None."""
        ...

    async def list_webhooks(self, org_id: OrgId | None) -> list[StoredWebhook]:
        """The webhooks of one organization (None: of all), by id."""
        ...

    async def count_webhooks(self, org_id: OrgId) -> int:
        """How many webhooks one organization has."""
        ...

    async def count_webhook_attempt(self, webhook_id: int, *, ts: int, real: bool) -> None:
        """Add one to the attempts counter; a ``real`` one (not a test) also sets the last
        triggered time."""
        ...

    async def record_webhook_outcome(self, webhook_id: int, *, ok: bool) -> int:
        """End (``ok``) or extend the failure streak; returns the streak now (0 when gone)."""
        ...

    async def set_webhook_status(self, webhook_id: int, status: Status, *, ts: int) -> bool:
        """Enable or disable a webhook (its version goes up); enabling resets the failure
        streak (§4.8). False when it is gone."""
        ...

    async def save_webhook_log(self, entry: WebhookLogEntry) -> None:
        """Insert the log row of ``entry.delivery_id`` or replace the one stored; nothing
        happens when the webhook is gone."""
        ...

    async def finish_webhook_log(
        self,
        delivery_id: str,
        *,
        status: LogStatus,
        reason: str | None,
        error: str | None,
        finished_at: int,
    ) -> bool:
        """Set the final state of a delivery's row, keeping what its last attempt recorded;
        False when there is no such row."""
        ...

    async def read_webhook_log(
        self, webhook_id: int, *, since: int, until: int, offset: int, limit: int
    ) -> list[WebhookLogEntry]:
        """Log rows of a webhook with since <= created_at < until, newest first."""
        ...

    async def delete_webhook_log_before(self, ts: int) -> int:
        """Delete log rows created before ``ts`` (retention); how many went."""
        ...
