"""``USER_ADDED`` for the users a provisioning file creates (automations.md §4.2, issue #10).

``pinbase provision`` usually runs in a process of its own, without the server's bus, so the
users it creates cannot be announced like the Platform API's (``UserSaved``). Instead their
webhook calls are rendered here and committed to the outbox in the provisioning transaction; the
server's outbox finds them at its next poll, whichever process provisioned. A file makes a new
root organization, so the only webhooks that cover its users are the file's own.

The rate rule of the write path holds: at most ``rate_per_minute`` calls per webhook (a fresh
bucket is full); the others are logged ``RATE_LIMITED`` and dropped, never queued.
"""

import uuid
from collections import Counter
from collections.abc import Sequence

from pinbase.domain.devices import Device
from pinbase.domain.organizations import Organization
from pinbase.domain.templates import Template
from pinbase.domain.webhook_requests import mask_url
from pinbase.domain.webhooks import TriggerKind, Webhook
from pinbase.services.reactions.webhook_placeholders import user_placeholders
from pinbase.services.reactions.webhook_triggers import RenderLimits, render_delivery
from pinbase.storage.base import Transaction
from pinbase.storage.users import StoredUser
from pinbase.storage.webhooks import LogStatus, WebhookLogEntry


async def queue_user_added(
    tx: Transaction,
    *,
    organization: Organization,
    users: Sequence[StoredUser],
    devices: Sequence[Device],
    templates: Sequence[Template],
    webhooks: Sequence[Webhook],
    limits: RenderLimits,
    ts: int,
) -> int:
    """Commit (with ``tx``) one ``USER_ADDED`` call per enabled webhook and provisioned user;
    return how many were queued."""
    hooks = [w for w in webhooks if w.is_enabled and w.spec.trigger.kind is TriggerKind.USER_ADDED]
    if not hooks or not users:
        return 0
    names = {template.id: template.name for template in templates}
    deliveries = []
    for webhook in hooks:
        for index, user in enumerate(users):
            if 0 < limits.rate_per_minute <= index:
                await tx.save_webhook_log(_rate_limited(webhook, limits, ts))
                continue
            owned = Counter(
                names[device.template_id]
                for device in devices
                if device.owner_user_id == user.id and device.template_id in names
            )
            data = user_placeholders(
                user, org_name=organization.name, ts=ts, devices_by_product=owned
            )
            deliveries.append(render_delivery(webhook, data, secrets=(), ts=ts, limits=limits))
    await tx.add_deliveries(deliveries)
    return len(deliveries)


def _rate_limited(webhook: Webhook, limits: RenderLimits, ts: int) -> WebhookLogEntry:
    return WebhookLogEntry(
        delivery_id=uuid.uuid4().hex,
        webhook_id=webhook.id,
        version=webhook.version,
        status=LogStatus.FAILED,
        request_url=mask_url(webhook.spec.url, webhook.spec.auth.secrets),
        created_at=ts,
        reason="RATE_LIMITED",
        error=f"over {limits.rate_per_minute} requests per minute",
        finished_at=ts,
    )
