"""Device templates (a.k.a. products) with their datastreams, events and metafields (§1.5).

A template has an integer ``id`` for the APIs and a public code ``TMPL…`` that firmware sends as
``BLYNK_TEMPLATE_ID`` (http-api.md OP-08).
"""

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from pinbase.domain.dashboards import Dashboard
from pinbase.domain.datastream_automation import AutomationType
from pinbase.domain.datastreams import Datastream
from pinbase.domain.errors import InvalidDefinition, UnknownDatastream
from pinbase.domain.ids import DatastreamId, EventId, MetafieldId, OrgId, TemplateId
from pinbase.domain.notifications import (
    SYSTEM_OFFLINE,
    SYSTEM_ONLINE,
    SYSTEM_OTA,
    EventNotifications,
)
from pinbase.domain.pins import Pin

TEMPLATE_CODE_PREFIX = "TMPL"
_CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_CODE_SHAPE = re.compile(r"TMPL[A-Za-z0-9]{1,28}")
_EVENT_CODE_SHAPE = re.compile(r"[A-Za-z0-9_ ]{1,50}")


def new_template_code() -> str:
    """A fresh public template id shaped like Blynk's (``TMPL`` + 9 alphanumerics)."""
    return TEMPLATE_CODE_PREFIX + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(9))


def check_children(datastreams: Sequence[Datastream], events: Sequence["TemplateEvent"]) -> None:
    """Refuse datastreams sharing a pin, an id or a name, and events sharing a code.

    Raises:
        InvalidDefinition: naming the first clash found.
    """
    for what, keys in (
        ("a pin", [ds.pin for ds in datastreams]),
        ("an id", [ds.id for ds in datastreams]),
        ("a name", [ds.label for ds in datastreams]),
    ):
        if len(set(keys)) != len(keys):
            raise InvalidDefinition(f"two datastreams of one template share {what}")
    if len({event.code for event in events}) != len(events):
        raise InvalidDefinition("two events of one template share a code")
    power = [
        ds
        for ds in datastreams
        if ds.automation is not None and ds.automation.type is AutomationType.POWER_SWITCH
    ]
    if len(power) > 1:
        # automations.md §3.2: at most one Power Switch per product.
        raise InvalidDefinition("a template has at most one POWER_SWITCH datastream")


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateEvent:
    """An event definition that devices log by its code (data-model.md §1.8)."""

    id: EventId
    code: str
    name: str
    type: str = "INFORMATION"
    description: str | None = None
    notifications: EventNotifications = field(default_factory=EventNotifications)
    """Who is notified of an occurrence, and the limits (automations.md §1.2, §1.4)."""
    show_on_timeline: bool = True
    """Pinbase keeps ``true`` as the default (docs/decisions.md): templates made before the
    setting existed showed every event."""
    send_to_notifications_tab: bool = True

    def __post_init__(self) -> None:
        if not _EVENT_CODE_SHAPE.fullmatch(self.code):
            raise InvalidDefinition("event code: 1..50 letters, digits, spaces or underscores")

    @property
    def is_system(self) -> bool:
        """One of the lifecycle and OTA events every template has (automations.md §1.6)."""
        return self.code in SYSTEM_EVENTS


SYSTEM_EVENTS = {
    SYSTEM_ONLINE: TemplateEvent(id=EventId(-1), code=SYSTEM_ONLINE, name="Online"),
    SYSTEM_OFFLINE: TemplateEvent(id=EventId(-2), code=SYSTEM_OFFLINE, name="Offline"),
    SYSTEM_OTA: TemplateEvent(
        id=EventId(-3),
        code=SYSTEM_OTA,
        name="Firmware OTA update status",
        description="OTA started",
    ),
}
"""The built-in definitions a template has until it stores its own (only Online and Offline may
be stored, to set their notifications). Negative ids never clash with stored ones."""

DAILY_LIMIT_EVENT = TemplateEvent(
    id=EventId(-4),
    code="sys_daily_limit",
    name="Daily event limit reached",
    description="Daily event limit reached",
)
"""The Info entry a device's timeline gets at the day's first event over the daily limit
(automations.md §1.8 step 5); no device logs it by code."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Metafield:
    """A metadata key of a template; every device keeps a value for it (§1.6)."""

    id: MetafieldId
    name: str
    type: str = "Text"
    default_value: str | None = None


MAX_OFFLINE_IGNORE_PERIOD = 24 * 3600
"""The longest offline ignore period, 24:00:00 (data-model.md §4.4 gives no bound)."""


def check_offline_ignore_period(seconds: int) -> None:
    """Refuse an offline ignore period outside 0..24 h.

    Raises:
        InvalidDefinition: out of range.
    """
    if not 0 <= seconds <= MAX_OFFLINE_IGNORE_PERIOD:
        raise InvalidDefinition(
            "offline ignore period must be 0..86400 seconds (00:00:00..24:00:00)"
        )


def parse_hms(text: str) -> int:
    """Seconds in ``HH:MM:SS`` (also ``MM:SS`` or ``SS``); minutes and seconds below 60.

    Raises:
        InvalidDefinition: not that shape, or out of range.
    """
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(
        p.isascii() and p.isdigit() and len(p) <= 2 for p in parts
    ):
        raise InvalidDefinition("offline ignore period must look like HH:MM:SS")
    numbers = [int(p) for p in parts]
    if any(n >= 60 for n in numbers[1:]):
        raise InvalidDefinition("offline ignore period must look like HH:MM:SS")
    seconds = 0
    for number in numbers:
        seconds = seconds * 60 + number
    check_offline_ignore_period(seconds)
    return seconds


def format_hms(seconds: int) -> str:
    """``HH:MM:SS`` for a number of seconds."""
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Template:
    """A device template; its datastreams are indexed by pin and by id for the hot path."""

    id: TemplateId
    code: str
    org_id: OrgId
    name: str
    description: str | None = None
    datastreams: tuple[Datastream, ...] = ()
    events: tuple[TemplateEvent, ...] = ()
    metafields: tuple[Metafield, ...] = ()
    created_at: int = 0
    offline_ignore_period: int = 0
    """Seconds a disconnect may last before the Offline notification (DM §4.4); 0: off."""
    dashboard: Dashboard | None = None
    """The web dashboard layout; None until one is designed (the console then shows a default)."""
    _by_pin: dict[Pin, Datastream] = field(init=False, repr=False, compare=False)
    _by_id: dict[DatastreamId, Datastream] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _CODE_SHAPE.fullmatch(self.code):
            raise InvalidDefinition(f"template code must look like TMPL…, got {self.code!r}")
        if not self.name or len(self.name) > 100:
            raise InvalidDefinition("template name must be 1..100 characters")
        check_offline_ignore_period(self.offline_ignore_period)
        check_children(self.datastreams, self.events)
        object.__setattr__(self, "_by_pin", {ds.pin: ds for ds in self.datastreams})
        object.__setattr__(self, "_by_id", {ds.id: ds for ds in self.datastreams})

    def datastream_at(self, pin: Pin) -> Datastream:
        """The datastream on ``pin``.

        Raises:
            UnknownDatastream: no datastream sits on that pin.
        """
        try:
            return self._by_pin[pin]
        except KeyError:
            raise UnknownDatastream(pin.name) from None

    def datastream(self, datastream_id: int) -> Datastream:
        """The datastream with ``datastream_id``.

        Raises:
            UnknownDatastream: the template has no such datastream.
        """
        try:
            return self._by_id[DatastreamId(datastream_id)]
        except KeyError:
            raise UnknownDatastream(str(datastream_id)) from None

    def event(self, code: str) -> TemplateEvent | None:
        """The event definition with ``code`` (a stored one, else a built-in system one), or
        None."""
        stored = next((event for event in self.events if event.code == code), None)
        return stored if stored is not None else SYSTEM_EVENTS.get(code)

    def metafield(self, key: str) -> Metafield | None:
        """The metafield whose id (as decimal text) or exact, case-sensitive name is ``key``."""
        for metafield in self.metafields:
            if metafield.name == key or str(metafield.id) == key:
                return metafield
        return None
