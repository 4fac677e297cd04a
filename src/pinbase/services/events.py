"""Device events: a device logs an occurrence of one of its template's events (§1.8).

Limits (blynk.console/limits.md): 100 events per device per day, at least one second between two
events with the same code. Over-long descriptions are refused rather than cut (data-model §5.19).
Each logged entry is announced (``TimelineEntryAdded``) once committed, for live timelines.
"""

from pinbase.domain.devices import Device
from pinbase.domain.errors import PinbaseError
from pinbase.domain.templates import TemplateEvent
from pinbase.services.bus import Bus, TimelineEntryAdded
from pinbase.services.clock import Clock, start_of_day
from pinbase.storage.base import Store, StoredEvent

MIN_EVENT_GAP_MS = 1_000


class EventRejected(PinbaseError):
    """The event breaks a limit; the message says which."""


class EventLog:
    """Logs device events on the timeline."""

    def __init__(
        self, store: Store, clock: Clock, *, bus: Bus, per_day: int, max_description_chars: int
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._per_day = per_day
        self._max_description = max_description_chars
        self._last: dict[tuple[int, str], int] = {}

    async def log(
        self, device: Device, event: TemplateEvent, description: str | None
    ) -> StoredEvent:
        """Record an occurrence of ``event``.

        Raises:
            EventRejected: the description is too long or holds NUL, or a limit is reached.
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
        if now - self._last.get(key, -MIN_EVENT_GAP_MS) < MIN_EVENT_GAP_MS:
            raise EventRejected("Events of one code are limited to one per second.")
        async with self._store.transaction() as tx:
            if await tx.count_device_events(device.id, since=start_of_day(now)) >= self._per_day:
                raise EventRejected(f"Daily limit of {self._per_day} events reached.")
            stored = await tx.add_device_event(
                device.id, event, description=description or event.description, ts=now
            )
        self._last[key] = now
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
            )
        )
        return stored
