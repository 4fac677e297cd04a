"""The failure e-mail of a webhook (automations.md §4.8): once per failure streak, when
consecutive failed deliveries reach the webhook's threshold, and when ``webhooks.
disable_after_failures`` disables it. It goes to the failure recipients through the notification
planner (``Notifications.queue_message``, source ``WEBHOOK_FAILURE``), committed in the
transaction that recorded the failure, so the planner's routing, limits and log apply."""

from pinbase.services.reactions.messages import EMAIL, OutgoingMessage
from pinbase.services.reactions.notifications import Notifications
from pinbase.services.reactions.webhook_sender import FailureNotice
from pinbase.storage.base import Transaction

SOURCE = "WEBHOOK_FAILURE"
CONSOLE_PATH = "/dashboard/webhooks/{id}"
"""Where the console shows a webhook (the console's webhook pages)."""


def failure_message(notice: FailureNotice, *, console_url: str) -> OutgoingMessage:
    """The e-mail: name, masked URL, last status or error, the count, and a link (§4.8)."""
    webhook = notice.webhook
    name = webhook.spec.name
    if notice.disabled:
        subject = f"Webhook {name} was disabled after {notice.streak} failures"
    else:
        subject = f"Webhook {name} failed {notice.streak} times in a row"
    lines = [
        f"Webhook: {name} (id {webhook.id})",
        f"URL: {notice.masked_url}",
        f"Last error: {notice.last_error}",
        f"Consecutive failed deliveries: {notice.streak}",
    ]
    if notice.disabled:
        lines.append("The webhook is disabled; enable it again once the receiver works.")
    if console_url:
        lines.append(console_url.rstrip("/") + CONSOLE_PATH.format(id=webhook.id))
    return OutgoingMessage(
        org_id=webhook.org_id,
        device_id=None,
        channel=EMAIL,
        user_ids=webhook.spec.failure_recipients,
        subject=subject,
        body="\n".join(lines),
        source=SOURCE,
        source_ref=str(webhook.id),
    )


async def queue_failure_mail(
    notifications: Notifications, tx: Transaction, notice: FailureNotice, *, console_url: str
) -> None:
    """Queue the failure e-mail in ``tx`` (the caller commits and wakes the outbox)."""
    if notice.webhook.spec.failure_recipients:
        await notifications.queue_message(tx, failure_message(notice, console_url=console_url))
