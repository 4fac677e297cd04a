"""Device events: a device logs an occurrence of one of its template's events (§1.8).

Limits (blynk.console/limits.md): 100 events per device per day, at least one second between two
events with the same code. Over-long descriptions are refused rather than cut (data-model §5.19).
A dropped occurrence leaves a notification-log row (``RATE_1S``, ``DAILY_QUOTA``), and the day's
first drop over the daily limit leaves one Info entry on the timeline (automations.md §1.8).
An accepted occurrence is stored and its notifications planned in one transaction, so its
outbox rows commit with it (§5.1); the outbox is woken after the commit. Each logged entry is
announced (``TimelineEntryAdded``) once committed, for live timelines.
"""

from pinbase.domain.deliveries import DeliveryKind
from pinbase.domain.devices import Device
from pinbase.domain.errors import PinbaseError
from pinbase.domain.notifications import DAILY_QUOTA, RATE_1S
from pinbase.domain.templates import DAILY_LIMIT_EVENT, TemplateEvent
from pinbase.services.bus import Bus, TimelineEntryAdded
from pinbase.services.clock import Clock, start_of_day
from pinbase.services.rate_limit import SharedGate
from pinbase.services.reactions.notifications import Notifications
from pinbase.services.reactions.outbox import Wake
from pinbase.storage.base import Store, StoredEvent

MIN_EVENT_GAP_MS = 1_000
DROP_LOG_INTERVAL_MS = {RATE_1S: 1_000, DAILY_QUOTA: 60_000}
"""At most one notification-log row per (device, code, reason) per interval: a device that
keeps logging past a limit must not grow the log by a row per attempt (a flood of 20 messages a
second would write 1.7 million rows a day). The intervals match what an accepted stream of the
same code could write."""


class EventRejected(PinbaseError):
    """The event is refused (a description too long or holding NUL) or dropped by a limit; the
    message says why."""


class EventDropped(EventRejected):
    """The occurrence was dropped by a limit (automations.md §1.8 steps 4 and 5): nothing is
    wrong with the request, so callers answer it as accepted (§1.9) and the notification log
    keeps the reason (``reason``: ``RATE_1S`` or ``DAILY_QUOTA``)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _nothing(*kinds: DeliveryKind, due_at: int | None = None) -> None:
    """No outbox to wake."""


class EventLog:
    """Logs device events on the timeline and plans their notifications."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        bus: Bus,
        per_day: int,
        max_description_chars: int,
        notifications: Notifications | None = None,
        wake: Wake = _nothing,
        shared_gap: SharedGate | None = None,
    ) -> None:
        """``shared_gap``, with several nodes: one occurrence per device, event and second for
        the installation, beside this node's own gap: an event may arrive through any node
        (DEV-07 and PLT-DEV-19 on HTTP), issue #11."""
        self._store = store
        self.shared_gap = shared_gap
        self._bus = bus
        self._clock = clock
        self._per_day = per_day
        self._max_description = max_description_chars
        self._notifications = notifications
        self._wake = wake
        self._last: dict[tuple[int, str], int] = {}
        self._dropped: dict[tuple[int, str, str], int] = {}

    async def log(
        self, device: Device, event: TemplateEvent, description: str | None
    ) -> StoredEvent:
        """Record an occurrence of ``event`` and plan its notifications.

        Raises:
            EventDropped: a limit is reached (the occurrence is not stored).
            EventRejected: the description is too long or holds NUL.
        """
        if description is not None and len(description) > self._max_description:
            raise EventRejected(
                f"Event description is longer than {self._max_description} characters."
            )
        if description is not None and "\0" in description:
            # PostgreSQL text cannot hold NUL, and a timeline line has no use for it.
            raise EventRejected("Event description must not contain the NUL character.")
        now = self._clock()
        key = (device.id, event.code)
        if now - self._last.get(key, -MIN_EVENT_GAP_MS) < MIN_EVENT_GAP_MS or (
            self.shared_gap is not None
            and not await self.shared_gap.first(f"{device.id}.{event.id}")
        ):
            await self._drop(device, event, RATE_1S, now)
            raise EventDropped("Events of one code are limited to one per second.", RATE_1S)
        marker: StoredEvent | None = None
        planned: set[DeliveryKind] = set()
        async with self._store.transaction() as tx:
            logged_today = await tx.count_device_events(device.id, since=start_of_day(now))
            if logged_today < self._per_day:
                stored = await tx.add_device_event(
                    device.id, event, description=description or event.description, ts=now
                )
                if self._notifications is not None:
                    deliveries = await self._notifications.plan_occurrence(
                        tx,
                        device,
                        event,
                        entry_id=stored.id,
                        description=stored.description,
                        ts=now,
                    )
                    planned = {delivery.kind for delivery in deliveries}
            elif logged_today == self._per_day:
                # The day's first drop: the marker entry makes the count pass the limit, so
                # later drops of the day find it over and add none.
                marker = await tx.add_device_event(
                    device.id, DAILY_LIMIT_EVENT, description=DAILY_LIMIT_EVENT.description, ts=now
                )
        if logged_today >= self._per_day:
            if marker is not None:
                self._announce(marker, DAILY_LIMIT_EVENT)
            await self._drop(device, event, DAILY_QUOTA, now)
            raise EventDropped(f"Daily limit of {self._per_day} events reached.", DAILY_QUOTA)
        self._last[key] = now
        if planned:
            self._wake(*planned)
        self._announce(stored, event)
        return stored

    async def _drop(self, device: Device, event: TemplateEvent, reason: str, now: int) -> None:
        key = (device.id, event.code, reason)
        last = self._dropped.get(key)
        if last is not None and now - last < DROP_LOG_INTERVAL_MS[reason]:
            return
        self._dropped[key] = now
        if self._notifications is not None:
            async with self._store.transaction() as tx:
                await self._notifications.record_drop(
                    tx, device, code=event.code, reason=reason, ts=now
                )

    def _announce(self, stored: StoredEvent, event: TemplateEvent) -> None:
        self._bus.publish(
            TimelineEntryAdded(
                id=stored.id,
                device_id=stored.device_id,
                event_id=stored.event_id,
                code=stored.code,
                name=event.name,
                event_type=stored.type,
                description=stored.description,
                ts=stored.ts,
                visible=stored.visible_on_timeline,
            )
        )
