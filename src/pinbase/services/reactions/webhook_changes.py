"""The changes the webhook use cases announce after committing one (``services.changes``'s rule:
commit, then announce). ``WebhookTriggers.apply`` is the one code that changes the in-memory
trigger index from them. Plain frozen values, shared topics (``wire.message``): the trigger
index of every node of the installation learns them (issue #11)."""

from dataclasses import dataclass

from pinbase.domain.webhooks import Webhook
from pinbase.services import wire


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookSaved:
    """A webhook was created, edited, enabled or disabled; ``webhook`` is what is stored now."""

    webhook: Webhook


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookRemoved:
    """A webhook was deleted with its log; its queued deliveries were cancelled."""

    webhook_id: int


WebhookChange = WebhookSaved | WebhookRemoved
WEBHOOK_CHANGES: tuple[type[WebhookSaved], type[WebhookRemoved]] = (WebhookSaved, WebhookRemoved)
