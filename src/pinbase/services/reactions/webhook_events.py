"""The webhook triggers beyond datastream updates (automations.md §4.2), behind
``webhooks.enterprise_triggers``.

A bus subscriber with a queue and a task of its own (house style: nothing slow inside a
publisher's call): the handlers only enqueue the plain message; the task finds the enabled
webhooks of the matching kind whose organization covers the device or user, renders their
requests and commits the deliveries to the outbox in one transaction, then wakes it. Covered:

* ``DEVICE_FIRST_CONNECTED`` from ``DeviceFirstConnected`` (a device's first connection ever);
* ``PRODUCT_LOG_EVENT`` from ``TimelineEntryAdded`` (an event occurrence; a webhook naming a
  template fires for that template's devices only), with ``{event_code}``, ``{event_name}``,
  ``{event_type}``, ``{event_description}`` (OP-A7);

The user and organization triggers have no bus message that names the organization concerned
(``UserRemoved`` carries only an id, and the user is gone): firing them would tell one
organization about another's users, so their webhooks can be saved but do not fire yet
(docs/webhooks.md).
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

from pinbase.domain.deliveries import Delivery
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.webhooks import TriggerKind, Webhook
from pinbase.services.bus import Bus, DeviceFirstConnected, TimelineEntryAdded
from pinbase.services.directory import Directory
from pinbase.services.reactions.webhook_triggers import WebhookTriggers
from pinbase.storage.base import Store

logger = logging.getLogger(__name__)

MAX_QUEUED = 10_000
"""Messages waiting for the task; past it they are dropped with a warning (a stuck database
must not grow memory without bound)."""

Message = DeviceFirstConnected | TimelineEntryAdded


class WebhookEvents:
    """Fires the enterprise-trigger webhooks; see the module docstring."""

    def __init__(
        self,
        bus: Bus,
        store: Store,
        directory: Directory,
        triggers: WebhookTriggers,
        *,
        wake_outbox: Callable[[], None],
    ) -> None:
        self._store = store
        self._directory = directory
        self._triggers = triggers
        self._wake = wake_outbox
        self._queue: asyncio.Queue[Message] = asyncio.Queue(MAX_QUEUED)
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe = (
            bus.subscribe(DeviceFirstConnected, self._enqueue),
            bus.subscribe(TimelineEntryAdded, self._enqueue),
        )

    def start(self) -> None:
        """Start the task."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook-events")

    async def stop(self) -> None:
        """Stop listening, fire what is queued, end the task."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self._task is not None:
            await self._queue.join()
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def flush(self) -> None:
        """Wait until every queued message was handled (tests)."""
        await self._queue.join()

    def _enqueue(self, message: Message) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            logger.warning("webhook.events_dropped kind=%s", type(message).__name__)

    async def _run(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                deliveries = self.deliveries(message)
                if deliveries:
                    async with self._store.transaction() as tx:
                        await tx.add_deliveries(deliveries)
                    self._wake()
            except Exception:
                logger.exception("webhook.events_failed kind=%s", type(message).__name__)
            finally:
                self._queue.task_done()

    def deliveries(self, message: Message) -> list[Delivery]:
        """The deliveries one message causes."""
        if isinstance(message, DeviceFirstConnected):
            return self._device(
                TriggerKind.DEVICE_FIRST_CONNECTED, message.device_id, message.ts, {}
            )
        extra = {
            "event_code": message.code,
            "event_name": message.name,
            "event_type": message.event_type,
            "event_description": message.description or "",
        }
        return self._device(TriggerKind.PRODUCT_LOG_EVENT, message.device_id, message.ts, extra)

    def _device(
        self, kind: TriggerKind, device_id: int, ts: int, extra: dict[str, str]
    ) -> list[Delivery]:
        webhooks = self._triggers.enabled(kind)
        if not webhooks:
            return []
        bound = self._directory.by_id(DeviceId(device_id))
        if bound is None:
            return []
        device = bound.device
        data = self._triggers.device_data(device, ts=ts, origin="device_tcp")
        if data is None:
            return []
        data = replace(data, values={**data.values, **extra})
        found = []
        for webhook in webhooks:
            template_id = webhook.spec.trigger.template_id
            if template_id is not None and template_id != device.template_id:
                continue
            if not self._covers(webhook, device.org_id):
                continue
            delivery = self._triggers.delivery(webhook, data, secrets=(device.token,), ts=ts)
            if delivery is not None:
                found.append(delivery)
        return found

    def _covers(self, webhook: Webhook, org_id: int) -> bool:
        return OrgId(org_id) in self._directory.subtree(webhook.org_id)
