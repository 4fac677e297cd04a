"""The notification planner (automations.md §2.4): from an event occurrence, a lifecycle status
or an ad-hoc message to outbox deliveries, with a notification-log row for every decision.

Theory of operation. The planner runs inside the caller's transaction, the one that stores the
cause (an occurrence row, an automation step), so the outbox rows commit with it or not at all
(§5.1); the caller commits and then wakes the outbox. Its state lives in tables read and written
in that same transaction: the §1.4 Event Counter and Limit Period per (device, event), the last
message per (device, channel) for the 5 s minimum interval, and the automation messages of an
organization over the last hour. Steps, in order:

1. Event Counter (every Nth, §1.4) — ``COUNTER``;  2. Limit Period — ``LIMIT_PERIOD``
   (both once per occurrence; events and lifecycle statuses only);
3. recipients per channel (§1.3): the template's defaults plus, for an event that allows user
   management, the device's user-chosen ones (§1.5) — ``NO_RECIPIENT``, ``INVALID_ADDRESS``,
   ``NO_PUSH_TARGET``;
4. the event muted on the device (§1.5) — ``MUTED``, one row per recipient;
5. channel configured — ``CHANNEL_DISABLED``;  6. 5 s since the device's last message on the
   channel — ``MIN_INTERVAL``;  7. automation messages under 20 in the last hour —
   ``HOURLY_QUOTA``;  8. one delivery per (channel, recipient), logged ``QUEUED``.

A suppressed message is dropped, not deferred (§2.4).
"""

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Collection
from dataclasses import replace
from typing import Protocol

from pinbase.domain.deliveries import Delivery, DeliveryKind, new_delivery
from pinbase.domain.devices import Device
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.notifications import (
    CHANNEL_DISABLED,
    EMAIL,
    FAILED,
    HOURLY_QUOTA,
    MIN_INTERVAL,
    MUTED,
    NO_CHANNEL,
    NO_PUSH_TARGET,
    NO_RECIPIENT,
    PUSH,
    QUEUED,
    SENT,
    SMS,
    SUPPRESSED,
    SYSTEM_OFFLINE,
    SYSTEM_ONLINE,
    cut,
    limit_step,
    period_started,
)
from pinbase.domain.templates import TemplateEvent
from pinbase.services.clock import DAY_MS, Clock
from pinbase.services.directory import BoundDevice, Directory
from pinbase.services.reactions.messages import OutgoingMessage
from pinbase.services.reactions.notice_content import (
    MAX_SMS_CHARS,
    Notice,
    email_payload,
    event_notice,
    lifecycle_notice,
    message_notice,
    push_payload,
    sms_payload,
)
from pinbase.services.reactions.outbox import Failed, Sent
from pinbase.services.reactions.recipients import Resolved, Target, resolve, resolve_message
from pinbase.storage.base import Store, Transaction
from pinbase.storage.notifications import NotificationRecord

logger = logging.getLogger(__name__)

HOUR_MS = 3_600_000
LOG_PAGE_SIZE = 50
"""Rows per page of the notification log."""
SWEEP_INTERVAL_S = 600
"""How often old log rows and quota uses are deleted: both are read by range, so a few extra
minutes of rows cost nothing."""
MIN_INTERVAL_MS = 5_000
"""Minimum interval between notification messages of one device on one channel (§1.7)."""
MESSAGES_PER_HOUR = 20
"""Automation push/e-mail messages per organization per rolling hour (§1.7)."""
_KINDS = {EMAIL: DeliveryKind.EMAIL, PUSH: DeliveryKind.PUSH, SMS: DeliveryKind.SMS}
_PUSH_KINDS = {"AUTOMATION": "automation", "LEGACY": "legacy"}


class PushTargets(Protocol):
    """Whether a user can receive a push at all: it has at least one push subscription."""

    def has_target(self, user_id: int) -> bool | Awaitable[bool]:
        """True when ``user_id`` has a push subscription (sync or async, as is cheapest)."""
        ...


class EveryUserHasPushTarget:
    """The default ``PushTargets`` until the push channel provides the real one."""

    def has_target(self, user_id: int) -> bool:
        """Always true."""
        return True


class Notifications:
    """Plans notifications into the outbox and keeps the notification log."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        clock: Clock,
        *,
        push_targets: PushTargets | None = None,
        channels: Collection[str] = (EMAIL, PUSH),
        min_interval_ms: int = MIN_INTERVAL_MS,
        messages_per_hour: int = MESSAGES_PER_HOUR,
        console_url: str = "",
        log_retention_ms: int = 30 * DAY_MS,
    ) -> None:
        self._store = store
        self._directory = directory
        self._clock = clock
        self._push_targets: PushTargets = push_targets or EveryUserHasPushTarget()
        self._channels = frozenset(channels)
        self._min_interval = min_interval_ms
        self._per_hour = messages_per_hour
        self._console_url = console_url.rstrip("/")
        self._retention = log_retention_ms

    @property
    def console_url(self) -> str:
        """The console's base URL used in links ("" for links relative to the console host)."""
        return self._console_url

    async def queue_message(self, tx: Transaction, message: OutgoingMessage) -> list[Delivery]:
        """Route an ad-hoc message (steps 3 to 8) and add its deliveries to ``tx``.

        The caller commits ``tx``, then calls ``outbox.wake()``.
        """
        now = self._clock()
        org_id = OrgId(message.org_id)
        device = self._device(message.device_id, org_id)
        notice = message_notice(
            org_name=self._org_name(org_id),
            device=device,
            subject=message.subject,
            body=message.body,
            kind=_PUSH_KINDS.get(message.source, "event"),
            ts=now,
            console_url=self._console_url,
        )
        resolved = await resolve_message(
            tx,
            message.channel,
            org_id=org_id,
            user_ids=message.user_ids,
            addresses=message.addresses,
        )
        deliveries = await self._route(
            tx,
            message.channel,
            resolved,
            notice,
            org_id=org_id,
            device_id=None if device is None else device.id,
            source=message.source,
            source_ref=message.source_ref,
            hourly_quota=message.hourly_quota,
            now=now,
        )
        if deliveries and message.hourly_quota:
            await tx.add_quota_use(org_id, ts=now)
        return deliveries

    async def plan_occurrence(
        self,
        tx: Transaction,
        device: Device,
        event: TemplateEvent,
        *,
        entry_id: int,
        description: str | None,
        ts: int,
    ) -> list[Delivery]:
        """Plan the notifications of one stored event occurrence (steps 1 to 8)."""
        settings = event.notifications
        bound = self._bound(device)
        if not settings.enabled or bound is None:
            return []
        notice = event_notice(
            org_name=self._org_name(bound.device.org_id),
            template=bound.template,
            device=bound.device,
            event=event,
            description=description,
            entry_id=entry_id,
            ts=ts,
            console_url=self._console_url,
        )
        return await self._plan(
            tx, bound, event, notice, source="EVENT", source_ref=str(entry_id), due_at=ts
        )

    async def plan_status(
        self, tx: Transaction, device: Device, *, online: bool, due_at: int
    ) -> list[Delivery]:
        """Plan the notifications of a device going online or offline, due at ``due_at``.

        The template's ``sys_online`` / ``sys_offline`` definition holds the settings. The
        deliveries' ``source_ref`` is ``status_ref(device id)``, so a reconnect can cancel a
        pending Offline notification.
        """
        bound = self._bound(device)
        event = (
            None
            if bound is None
            else bound.template.event(SYSTEM_ONLINE if online else SYSTEM_OFFLINE)
        )
        if bound is None or event is None or not event.notifications.enabled:
            return []
        notice = lifecycle_notice(
            org_name=self._org_name(bound.device.org_id),
            template=bound.template,
            device=bound.device,
            event=event,
            online=online,
            ts=self._clock(),
            console_url=self._console_url,
        )
        return await self._plan(
            tx,
            bound,
            event,
            notice,
            source="LIFECYCLE",
            source_ref=status_ref(bound.device.id),
            due_at=due_at,
        )

    async def record_drop(
        self, tx: Transaction, device: Device, *, code: str, reason: str, ts: int
    ) -> None:
        """Log an occurrence dropped at intake (``RATE_1S``, ``DAILY_QUOTA``; channel ``-``)."""
        await tx.add_notification_records(
            [
                NotificationRecord(
                    created_at=ts,
                    org_id=device.org_id,
                    device_id=device.id,
                    source="EVENT",
                    source_ref=code,
                    channel=NO_CHANNEL,
                    status=SUPPRESSED,
                    reason=reason,
                    title=code,
                )
            ]
        )

    async def on_final(self, delivery: Delivery, outcome: Sent | Failed) -> None:
        """Record how a delivery ended on the log row that queued it: the ``on_final`` hook the
        EMAIL and PUSH senders register with the outbox."""
        failed = isinstance(outcome, Failed)
        async with self._store.transaction() as tx:
            await tx.finish_notification(
                delivery.id,
                status=FAILED if failed else SENT,
                reason=outcome.reason if isinstance(outcome, Failed) else None,
                attempts=delivery.attempts,
                error=(outcome.error or None) if isinstance(outcome, Failed) else None,
            )

    async def log_page(
        self,
        org_id: OrgId,
        *,
        device_id: int | None = None,
        before_id: int | None = None,
        limit: int = LOG_PAGE_SIZE,
    ) -> list[NotificationRecord]:
        """A page of the organization's notification log, newest first (for developers, §2.5);
        ``device_id`` narrows it to one of the organization's devices (another's: nothing)."""
        if device_id is not None:
            bound = self._directory.by_id(DeviceId(device_id))
            if bound is None or bound.device.org_id != org_id:
                return []
        async with self._store.transaction() as tx:
            return await tx.list_notification_records(
                org_id,
                device_id=None if device_id is None else DeviceId(device_id),
                before_id=before_id,
                limit=limit,
            )

    async def sweep(self) -> int:
        """Delete log rows past their retention and quota uses older than an hour."""
        now = self._clock()
        async with self._store.transaction() as tx:
            return await tx.purge_notifications(
                log_before=now - self._retention, quota_before=now - HOUR_MS
            )

    async def sweep_forever(self) -> None:
        """``sweep`` every ``SWEEP_INTERVAL_S`` until cancelled."""
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_S)
            try:
                await self.sweep()
            except Exception:
                logger.exception("notifications.sweep_failed")

    async def _plan(
        self,
        tx: Transaction,
        bound: BoundDevice,
        event: TemplateEvent,
        notice: Notice,
        *,
        source: str,
        source_ref: str,
        due_at: int,
    ) -> list[Delivery]:
        device, settings = bound.device, event.notifications
        now = self._clock()
        key = settings.limits_key
        state = await tx.load_limit_state(device.id, event.id, limits_key=key)
        state, reason = limit_step(settings, state, now=now)
        deliveries: list[Delivery] = []
        if reason is not None:
            await tx.add_notification_records(
                [
                    NotificationRecord(
                        created_at=now,
                        org_id=device.org_id,
                        device_id=device.id,
                        source=source,
                        source_ref=source_ref,
                        channel=NO_CHANNEL,
                        status=SUPPRESSED,
                        reason=reason,
                        title=notice.title,
                        body=notice.body,
                    )
                ]
            )
        else:
            override = (
                await tx.load_device_event_settings(device.id, event.id)
                if settings.allow_user_management
                else None
            )
            muted = override is not None and override.is_muted(now)
            channels = ((EMAIL, settings.email), (PUSH, settings.push), (SMS, settings.sms))
            for channel, defaults in channels:
                recipients = defaults + (() if override is None else override.chosen(channel))
                if recipients:
                    resolved = await resolve(
                        tx, channel, recipients, device=device, template=bound.template
                    )
                    deliveries += await self._route(
                        tx,
                        channel,
                        resolved,
                        notice,
                        org_id=device.org_id,
                        device_id=device.id,
                        source=source,
                        source_ref=source_ref,
                        hourly_quota=False,
                        now=now,
                        due_at=due_at,
                        muted=muted,
                    )
            if deliveries:
                state = period_started(state, now=now)
        await tx.save_limit_state(device.id, event.id, limits_key=key, state=state)
        return deliveries

    async def _route(
        self,
        tx: Transaction,
        channel: str,
        resolved: Resolved,
        notice: Notice,
        *,
        org_id: OrgId,
        device_id: DeviceId | None,
        source: str,
        source_ref: str | None,
        hourly_quota: bool,
        now: int,
        due_at: int | None = None,
        muted: bool = False,
    ) -> list[Delivery]:
        """Steps 3 to 8 for one channel; log rows for every recipient."""
        base = NotificationRecord(
            created_at=now,
            org_id=org_id,
            device_id=device_id,
            source=source,
            source_ref=source_ref,
            channel=channel,
            status=SUPPRESSED,
            title=notice.subject if channel == EMAIL else notice.title,
            body=cut(notice.sms or notice.body, MAX_SMS_CHARS) if channel == SMS else notice.body,
        )
        records = [replace(base, recipient=label, reason=why) for label, why in resolved.refused]
        targets: list[Target] = []
        for target in resolved.targets:
            if channel == PUSH and not await self._has_push_target(target.user_id):
                records.append(_row(base, target, reason=NO_PUSH_TARGET))
            else:
                targets.append(target)
        if not resolved.targets and not resolved.refused:
            records.append(replace(base, reason=NO_RECIPIENT))
        reason = (
            MUTED
            if muted
            else await self._channel_refusal(
                tx, channel, org_id=org_id, device_id=device_id, hourly_quota=hourly_quota, now=now
            )
        )
        deliveries: list[Delivery] = []
        if reason is not None:
            records += [_row(base, target, reason=reason) for target in targets]
        else:
            for target in targets:
                delivery = new_delivery(
                    _KINDS[channel],
                    _payload(notice, channel, target),
                    due_at=now if due_at is None else due_at,
                    source=source,
                    source_ref=source_ref,
                    org_id=org_id,
                )
                deliveries.append(delivery)
                records.append(_row(base, target, status=QUEUED, outbox_id=delivery.id))
        if deliveries:
            await tx.add_deliveries(deliveries)
            if device_id is not None:
                await tx.set_last_message_at(device_id, channel, ts=now)
        await tx.add_notification_records(records)
        return deliveries

    async def _channel_refusal(
        self,
        tx: Transaction,
        channel: str,
        *,
        org_id: OrgId,
        device_id: DeviceId | None,
        hourly_quota: bool,
        now: int,
    ) -> str | None:
        """Steps 5 to 7: why nothing may go out on ``channel`` now, or None."""
        if channel not in self._channels:
            return CHANNEL_DISABLED
        if device_id is not None:
            last = await tx.last_message_at(device_id, channel)
            if last is not None and now - last < self._min_interval:
                return MIN_INTERVAL
        if hourly_quota and await tx.count_quota_uses(org_id, since=now - HOUR_MS) >= (
            self._per_hour
        ):
            return HOURLY_QUOTA
        return None

    async def _has_push_target(self, user_id: int | None) -> bool:
        if user_id is None:
            return False
        answer = self._push_targets.has_target(user_id)
        return await answer if inspect.isawaitable(answer) else bool(answer)

    def _device(self, device_id: int | None, org_id: OrgId) -> Device | None:
        """The message's device, if it is one of the organization's."""
        bound = None if device_id is None else self._directory.by_id(DeviceId(device_id))
        return bound.device if bound is not None and bound.device.org_id == org_id else None

    def _bound(self, device: Device) -> BoundDevice | None:
        """The device with its template as the directory knows it now."""
        template = self._directory.template(device.template_id)
        return None if template is None else BoundDevice(device, template)

    def _org_name(self, org_id: OrgId) -> str:
        org = self._directory.organization(org_id)
        return org.name if org is not None else ""


def status_ref(device_id: int) -> str:
    """The ``source_ref`` of a device's lifecycle notifications."""
    return f"status:{device_id}"


def _row(
    base: NotificationRecord,
    target: Target,
    *,
    reason: str | None = None,
    status: str = SUPPRESSED,
    outbox_id: str | None = None,
) -> NotificationRecord:
    return replace(
        base,
        recipient=target.label,
        user_id=target.user_id,
        status=status,
        reason=reason,
        outbox_id=outbox_id,
    )


def _payload(notice: Notice, channel: str, target: Target) -> dict[str, object]:
    if channel == SMS and target.phone is not None:
        return sms_payload(notice, target.phone)
    if channel == EMAIL and target.address is not None:
        return email_payload(notice, target.address, tz=target.tz)
    return push_payload(notice, target.user_id or 0)
