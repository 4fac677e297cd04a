"""Lifecycle notifications: a device going online or offline notifies as its template's
``sys_online`` / ``sys_offline`` events say (automations.md §1.6, §2.1), and its first connection
ever is announced once (``DeviceFirstConnected``).

Presence changes arrive on the bus; this slow subscriber queues them and handles them in its own
task, never inside a device's login. An Offline notification is a delivery due at disconnect +
max(the server's offline delay, the template's offline ignore period) (§1.6); a reconnect before
then cancels it, and then no Online notification goes out either (the pair is ignored). The last
status seen is stored (``device_status``): after a restart, a device that was online reconnects
silently. With several nodes, every node sees every presence change, and only the node that
caused one (``PresenceChanged.local``) handles it: one notification per installation.
"""

from pinbase.domain.deliveries import DeliveryKind
from pinbase.services.bus import Bus, DeviceFirstConnected, PresenceChanged, Unsubscribe
from pinbase.services.directory import Directory
from pinbase.services.queued_work import QueuedWork
from pinbase.services.reactions.notifications import Notifications, status_ref
from pinbase.services.reactions.outbox import Wake
from pinbase.storage.base import Store

OFFLINE_DELAY_MS = 60_000
"""Default wait before an Offline notification: Blynk's default Online→Offline wait of 1 min
(data-model.md §4)."""
MAX_QUEUED = 100_000
"""Presence changes waiting for the task; past it the oldest are not worth a notification
anyway, and memory stays bounded when the database stalls."""


class Lifecycle:
    """Turns presence changes into lifecycle notifications and first-connection messages."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        bus: Bus,
        notifications: Notifications,
        *,
        wake: Wake,
        offline_delay_ms: int = OFFLINE_DELAY_MS,
    ) -> None:
        self._store = store
        self._directory = directory
        self._bus = bus
        self._notifications = notifications
        self._wake = wake
        self._delay = offline_delay_ms
        self._work = QueuedWork(self.handle, name="lifecycle", limit=MAX_QUEUED, describe=_describe)
        self._unsubscribe: Unsubscribe | None = None

    def start(self) -> None:
        """Subscribe to presence changes and start the task that handles them."""
        self._unsubscribe = self._bus.subscribe(PresenceChanged, self._enqueue)
        self._work.start()

    async def stop(self) -> None:
        """Handle what is queued, then end the task."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self._work.stop()

    async def drain(self) -> None:
        """Wait until every queued change is handled (tests)."""
        await self._work.drain()

    def _enqueue(self, change: PresenceChanged) -> None:
        if change.local:  # a change another node caused is that node's to act on (issue #11)
            self._work.put(change)

    async def handle(self, change: PresenceChanged) -> None:
        """Store the presence, cancel or plan notifications, announce a first connection."""
        bound = self._directory.by_id(change.device_id)
        if bound is None:
            return
        device, ref = bound.device, status_ref(change.device_id)
        delay = max(self._delay, bound.template.offline_ignore_period * 1000)
        planned = []
        async with self._store.transaction() as tx:
            before = await tx.record_presence(device.id, online=change.online, ts=change.ts)
            if change.online:
                cancelled = 0
                for kind in (DeliveryKind.EMAIL, DeliveryKind.PUSH, DeliveryKind.SMS):
                    cancelled += await tx.cancel_deliveries(kind=kind, source_ref=ref)
                if cancelled:
                    await tx.cancel_notification_records(ref)
                elif before.was_online is False:
                    planned = await self._notifications.plan_status(
                        tx, device, online=True, due_at=change.ts
                    )
            elif before.was_online is not False:
                planned = await self._notifications.plan_status(
                    tx, device, online=False, due_at=change.ts + delay
                )
        if planned:
            # An offline notice is due after the delay: the outbox claims it then.
            self._wake(
                *{delivery.kind for delivery in planned},
                due_at=min(delivery.due_at for delivery in planned),
            )
        if before.was_online is None:
            self._bus.publish(
                DeviceFirstConnected(device_id=device.id, org_id=device.org_id, ts=change.ts)
            )


def _describe(change: PresenceChanged) -> str:
    return f"device_id={change.device_id}"
