"""Legacy ``Blynk.notify`` and ``Blynk.email`` (binary NOTIFY 14 / EMAIL 13, HTTP LEG-08 / LEG-09):
ad-hoc messages through the notification planner (automations.md §2.1), within its 5 s rule.

A push goes to the device's owner, titled ``{PRODUCT_NAME} Notification`` as the legacy server's
default did; an e-mail goes to the given address, or to the owner when none is given. What the
device hears does not change: the call is answered as before, whether the message was queued
or suppressed (the notification log says which).
"""

from pinbase.domain.devices import Device
from pinbase.services.directory import Directory
from pinbase.services.reactions.messages import EMAIL, PUSH, OutgoingMessage
from pinbase.services.reactions.notifications import Notifications
from pinbase.services.reactions.outbox import Wake
from pinbase.storage.base import Store


class LegacyMessages:
    """The device-side notify and e-mail calls of the legacy API."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        notifications: Notifications,
        *,
        wake: Wake,
    ) -> None:
        self._store = store
        self._directory = directory
        self._notifications = notifications
        self._wake = wake

    async def notify(self, device: Device, text: str) -> None:
        """Queue a push of ``text`` to the device's owner."""
        template = self._directory.template(device.template_id)
        title = f"{template.name if template else device.name} Notification"
        await self._queue(
            OutgoingMessage(
                org_id=device.org_id,
                device_id=device.id,
                channel=PUSH,
                user_ids=_owner(device),
                subject=title,
                body=text,
                source="LEGACY",
            )
        )

    async def email(self, device: Device, *, to: str | None, subject: str, body: str) -> None:
        """Queue an e-mail to ``to``, or to the device's owner when ``to`` is None or empty."""
        await self._queue(
            OutgoingMessage(
                org_id=device.org_id,
                device_id=device.id,
                channel=EMAIL,
                user_ids=() if to else _owner(device),
                addresses=(to,) if to else (),
                subject=subject,
                body=body,
                source="LEGACY",
            )
        )

    async def _queue(self, message: OutgoingMessage) -> None:
        async with self._store.transaction() as tx:
            queued = await self._notifications.queue_message(tx, message)
        if queued:
            self._wake(*{delivery.kind for delivery in queued})


def _owner(device: Device) -> tuple[int, ...]:
    return () if device.owner_user_id is None else (device.owner_user_id,)
