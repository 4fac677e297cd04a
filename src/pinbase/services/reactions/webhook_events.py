"""The webhook triggers beyond datastream updates (automations.md §4.2), behind
``webhooks.enterprise_triggers``.

A bus subscriber with a queue and a task of its own (house style: nothing slow inside a
publisher's call): the handlers only enqueue the plain message; the task finds the enabled
webhooks of the matching kind whose organization covers the device or user, renders their
requests and commits the deliveries to the outbox in one transaction, then wakes it. Covered:

* ``DEVICE_FIRST_CONNECTED`` from ``DeviceFirstConnected`` (a device's first connection ever);
* ``DEVICE_ACTIVATED`` from ``DeviceActivated`` (a user created a device in the console, or a
  Platform API client for its owner), with the device placeholders and the activating user's
  ``user_*`` ones (§4.5);
* ``PRODUCT_LOG_EVENT`` from ``TimelineEntryAdded`` (an event occurrence; a webhook naming a
  template fires for that template's devices only), with ``{event_code}``, ``{event_name}``,
  ``{event_type}``, ``{event_description}`` (OP-A7);
* ``USER_ADDED``, ``USER_METADATA_UPDATED`` (role or organization changed) and
  ``USER_SIGNED_UP`` (an invited or registered user chose a password) from ``UserSaved``, and
  ``USER_DELETED`` from ``UserRemoved``, with the ``user_*`` placeholders (§4.5), read from the
  store when the task handles the message (a user deleted meanwhile fires nothing), except for
  a deleted user, whose message carries what is known of it;
* ``ORGANIZATION_CREATED`` from ``OrganizationSaved(created=True)``, for the webhooks of the
  organizations above the new one.

A webhook fires only for a device, user or organization of its own organization or one below it
(what the organization may see anyway). A deleted user's organization and the ones above it are
noted when the message is published, before the organization itself may leave the tree: users
deleted with their organization are announced first (``Organizations.delete``), so the webhooks
of the organizations above hear of them.
"""

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, replace

from pinbase.domain.deliveries import Delivery
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.webhook_requests import Placeholders
from pinbase.domain.webhooks import TriggerKind, Webhook
from pinbase.services.bus import (
    Bus,
    DeviceActivated,
    DeviceFirstConnected,
    TimelineEntryAdded,
    UserSaved,
)
from pinbase.services.changes import OrganizationSaved, UserRemoved
from pinbase.services.clock import Clock
from pinbase.services.directory import Directory
from pinbase.services.reactions.outbox import Wake
from pinbase.services.reactions.webhook_placeholders import (
    organization_placeholders,
    removed_user_placeholders,
    user_placeholders,
)
from pinbase.services.reactions.webhook_triggers import WebhookTriggers
from pinbase.storage.base import Store

logger = logging.getLogger(__name__)

MAX_QUEUED = 10_000
"""Messages waiting for the task; past it they are dropped with a warning (a stuck database
must not grow memory without bound)."""

Message = (
    DeviceFirstConnected | DeviceActivated | TimelineEntryAdded | UserSaved | OrganizationSaved
)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Removal:
    """A ``UserRemoved`` with what the directory said of its organization when it was
    published: the organization's name and the ids of it and every organization above it."""

    message: UserRemoved
    org_name: str
    lineage: frozenset[OrgId]


Queued = Message | _Removal


class WebhookEvents:
    """Fires the enterprise-trigger webhooks; see the module docstring."""

    def __init__(
        self,
        bus: Bus,
        store: Store,
        directory: Directory,
        triggers: WebhookTriggers,
        *,
        clock: Clock,
        wake_outbox: Wake,
    ) -> None:
        self._store = store
        self._directory = directory
        self._triggers = triggers
        self._clock = clock
        self._wake = wake_outbox
        self._queue: asyncio.Queue[Queued] = asyncio.Queue(MAX_QUEUED)
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe = (
            bus.subscribe(DeviceFirstConnected, self._enqueue),
            bus.subscribe(DeviceActivated, self._enqueue),
            bus.subscribe(TimelineEntryAdded, self._enqueue),
            bus.subscribe(UserSaved, self._enqueue),
            bus.subscribe(UserRemoved, self._removed),
            bus.subscribe(OrganizationSaved, self._enqueue),
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

    def _removed(self, message: UserRemoved) -> None:
        self._enqueue(
            _Removal(
                message=message,
                org_name=self._org_name(message.org_id),
                lineage=self._directory.lineage(message.org_id),
            )
        )

    def _enqueue(self, message: Queued) -> None:
        if isinstance(message, OrganizationSaved) and not message.created:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            logger.warning("webhook.events_dropped kind=%s", type(message).__name__)

    async def _run(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                deliveries = await self.deliveries_of(message)
                if deliveries:
                    async with self._store.transaction() as tx:
                        await tx.add_deliveries(deliveries)
                    self._wake(*{delivery.kind for delivery in deliveries})
            except Exception:
                logger.exception("webhook.events_failed kind=%s", type(message).__name__)
            finally:
                self._queue.task_done()

    async def deliveries_of(self, message: Queued) -> list[Delivery]:
        """The deliveries one message causes (user triggers read the user from the store)."""
        match message:
            case UserSaved():
                return await self._user_saved(message)
            case DeviceActivated():
                return await self._device_activated(message)
            case _Removal():
                return self._user_removed(message)
            case OrganizationSaved():
                return self._organization_created(message)
            case _:
                return self.deliveries(message)

    def deliveries(self, message: DeviceFirstConnected | TimelineEntryAdded) -> list[Delivery]:
        """The deliveries one device message causes."""
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

    async def _user_saved(self, message: UserSaved) -> list[Delivery]:
        if message.created:
            kind = TriggerKind.USER_ADDED
        elif message.signed_up:
            kind = TriggerKind.USER_SIGNED_UP
        else:
            kind = TriggerKind.USER_METADATA_UPDATED
        webhooks = self._covering(kind, message.org_id)
        if not webhooks:
            return []
        async with self._store.transaction() as tx:
            user = await tx.find_user(message.user_id)
        if user is None or user.org_id != message.org_id:
            return []  # deleted or moved meanwhile: its own message follows
        owned = self._owned(user.id, user.org_id)
        data = user_placeholders(
            user, org_name=self._org_name(user.org_id), ts=self._clock(), devices_by_product=owned
        )
        return self._fire(webhooks, data)

    def _user_removed(self, removal: _Removal) -> list[Delivery]:
        message = removal.message
        webhooks = [
            webhook
            for webhook in self._triggers.enabled(TriggerKind.USER_DELETED)
            if webhook.org_id in removal.lineage
        ]
        if not webhooks:
            return []
        data = removed_user_placeholders(
            user_id=message.user_id,
            email=message.email,
            name=message.name,
            org_name=removal.org_name,
            ts=self._clock(),
        )
        return self._fire(webhooks, data)

    async def _device_activated(self, message: DeviceActivated) -> list[Delivery]:
        webhooks = self._covering(TriggerKind.DEVICE_ACTIVATED, message.org_id)
        bound = self._directory.by_id(message.device_id) if webhooks else None
        if bound is None:
            return []  # nobody listens, or the device was deleted meanwhile
        device = bound.device
        # No write: ``{device_clientType}`` says ``Device``, as for the first connection.
        data = self._triggers.device_data(device, ts=message.ts, origin="")
        async with self._store.transaction() as tx:
            user = await tx.find_user(message.user_id)
        if data is None or user is None:
            return []  # deleted meanwhile
        person = user_placeholders(
            user,
            org_name=self._org_name(user.org_id),
            ts=message.ts,
            devices_by_product=self._owned(user.id, user.org_id),
        )
        # The activating user owns the device: the legacy ``device_owner_email`` is theirs.
        data = replace(data, values={**person.values, **data.values}, owner_email=user.email)
        found = []
        for webhook in webhooks:
            delivery = self._triggers.delivery(
                webhook, data, secrets=(device.token,), ts=message.ts
            )
            if delivery is not None:
                found.append(delivery)
        return found

    def _owned(self, user_id: int, org_id: OrgId) -> Counter[str]:
        """How many devices the user owns, by template name (``user_devicesCountByProductName``)."""
        return Counter(
            bound.template.name
            for bound in self._directory.devices_in(self._directory.subtree(org_id))
            if bound.device.owner_user_id == user_id
        )

    def _organization_created(self, message: OrganizationSaved) -> list[Delivery]:
        organization = message.organization
        webhooks = [
            webhook
            for webhook in self._covering(TriggerKind.ORGANIZATION_CREATED, organization.id)
            if webhook.org_id != organization.id  # an organization's own hooks came after it
        ]
        if not webhooks:
            return []
        return self._fire(webhooks, organization_placeholders(organization, ts=self._clock()))

    def _covering(self, kind: TriggerKind, org_id: OrgId) -> list[Webhook]:
        """The enabled webhooks of ``kind`` whose organization is ``org_id`` or above it."""
        return [
            webhook for webhook in self._triggers.enabled(kind) if self._covers(webhook, org_id)
        ]

    def _fire(self, webhooks: list[Webhook], data: Placeholders) -> list[Delivery]:
        ts = int(data.values["timestamp_unix"])
        found = []
        for webhook in webhooks:
            delivery = self._triggers.delivery(webhook, data, secrets=(), ts=ts)
            if delivery is not None:
                found.append(delivery)
        return found

    def _org_name(self, org_id: OrgId) -> str:
        organization = self._directory.organization(org_id)
        return "" if organization is None else organization.name
