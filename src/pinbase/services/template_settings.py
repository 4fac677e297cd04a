"""What an editor sends to create or change a datastream, an event or a metadata field, and the
rules an edited template follows beyond the domain's own (data-model.md §1.6 to §1.8).

The domain values (``Datastream``, ``TemplateEvent``, ``Metafield``) check what every stored
template must satisfy, including ones provisioned from a file; the editing rules here (alias
characters, enum rows only on Enum datastreams, per-template limits) are checked when a person
or client edits, so a template stored before a rule existed still loads.
"""

import re
from dataclasses import dataclass, field, replace
from typing import Final

from pinbase.domain.datastream_automation import parse_automation_setting
from pinbase.domain.datastreams import Datastream, DataType, EnumOption, InvalidatePolicy
from pinbase.domain.errors import InvalidDefinition, PinbaseError
from pinbase.domain.ids import DatastreamId, EventId, MetafieldId
from pinbase.domain.notifications import METAFIELD, SYSTEM_OTA, EventNotifications
from pinbase.domain.pins import Pin
from pinbase.domain.templates import Metafield, Template, TemplateEvent
from pinbase.domain.value_types import Value
from pinbase.domain.values import parse_json
from pinbase.services.metadata import InvalidMetaValue, checked_value

MAX_DATASTREAMS = 200
MAX_EVENTS = 100
MAX_METAFIELDS = 20
"""Per-template limits of Blynk's PRO plan (data-model.md §1.5); Pinbase has no plans."""

MAX_TEMPLATE_DESCRIPTION = 200
MAX_EVENT_DESCRIPTION = 250
MAX_METAFIELD_NAME = 255
EVENT_TYPES = frozenset({"INFORMATION", "WARNING", "CRITICAL", "CONTENT"})
"""Info, Warning, Critical, Content (data-model.md §1.8, §5.20)."""

WORDS = re.compile(r"[^\W_](?:[^\W_]| )*")
"""Letters, digits and spaces: template names and aliases (data-model.md §1.5, §1.7.1)."""

EVENT_NAME = re.compile(r"[\w ]{1,50}")
METAFIELD_TYPES = frozenset(
    {
        "Text",
        "Number",
        "Contact",
        "Switch",
        "List",
        "Table",
        "Imei",
        "Iccid",
        "Email",
        "Coordinates",
        "Time",
        "TimeRange",
        "Cost",
        "Image",
        "DeviceReference",
        "HotspotName",
        "DeviceName",
        "DeviceOwner",
        "Location",
        "TimeZone",
    }
)
"""The type literals of data-model.md §1.6, PascalCase without spaces."""
ADDRESS_METAFIELDS = frozenset({"DeviceOwner", "Contact", "Email"})
"""Metafield types an event may notify (automations.md §1.3)."""


KEEP_AUTOMATION: Final = object()
"""``DatastreamSettings.automation`` when the editor leaves the automation setting alone."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DatastreamSettings:
    """Every setting of a datastream an editor sets; ``default_value`` is JSON, checked
    against the type."""

    label: str
    pin: Pin
    type: DataType
    alias: str | None = None
    units: str | None = None
    default_value: object = None
    min: float | None = None
    max: float | None = None
    decimals: str | None = None
    color: str | None = None
    invalidate_after: int | None = None
    invalidate_policy: InvalidatePolicy = InvalidatePolicy.NOTHING
    save_raw: bool = False
    sync_with_latest: bool = False
    wait_confirmation: int | None = None
    enum_options: tuple[EnumOption, ...] = ()
    fallback_value: int | None = None
    automation: object = KEEP_AUTOMATION
    """The JSON of automations.md §3.2, checked here; None: the datastream takes part by type;
    ``KEEP_AUTOMATION`` (an editor without the setting, such as the console's form): a changed
    datastream keeps the setting it had, a new one has none."""

    def datastream(self, datastream_id: DatastreamId) -> Datastream:
        """The datastream these settings describe.

        Raises:
            InvalidDefinition: a setting breaks a rule.
        """
        if self.alias is not None and not WORDS.fullmatch(self.alias):
            raise InvalidDefinition("a datastream alias holds letters, digits and spaces only")
        numeric = self.type in (DataType.INT, DataType.DOUBLE)
        if not numeric and (self.min is not None or self.max is not None):
            raise InvalidDefinition("only INT and DOUBLE datastreams have a min and a max")
        if self.decimals is not None and self.type is not DataType.DOUBLE:
            raise InvalidDefinition("only DOUBLE datastreams have decimals")
        is_enum = self.type is DataType.ENUM
        if not is_enum and (self.enum_options or self.fallback_value is not None):
            raise InvalidDefinition("only ENUM datastreams have enum rows and a fallback value")
        incoming = [option.value for option in self.enum_options]
        if self.fallback_value is not None:
            incoming.append(self.fallback_value)
        if not all(-(2**31) <= value < 2**31 for value in incoming):
            raise InvalidDefinition("enum values and the fallback value are 32-bit integers")
        if len({option.value for option in self.enum_options}) != len(self.enum_options):
            raise InvalidDefinition("two enum rows share an incoming value")
        datastream = Datastream(
            id=datastream_id,
            label=self.label,
            pin=self.pin,
            type=self.type,
            alias=self.alias,
            min=self.min,
            max=self.max,
            decimals=self.decimals,
            units=self.units,
            save_raw=self.save_raw,
            sync_with_latest=self.sync_with_latest,
            enum_options=self.enum_options,
            fallback_value=self.fallback_value,
            color=self.color,
            invalidate_after=self.invalidate_after,
            invalidate_policy=self.invalidate_policy,
            wait_confirmation=self.wait_confirmation,
            automation=(
                None
                if self.automation is KEEP_AUTOMATION
                else parse_automation_setting(self.automation)
            ),
        )
        if self.default_value is None:
            return datastream
        return replace(datastream, default_value=_default(datastream, self.default_value))


@dataclass(frozen=True, slots=True, kw_only=True)
class EventSettings:
    """An event definition as an editor sets it."""

    code: str
    name: str
    type: str = "INFORMATION"
    description: str | None = None
    notifications: EventNotifications = field(default_factory=EventNotifications)
    show_on_timeline: bool = True
    send_to_notifications_tab: bool = True

    def event(self, event_id: EventId) -> TemplateEvent:
        """The event these settings describe.

        Raises:
            InvalidDefinition: a setting breaks a rule.
        """
        if not EVENT_NAME.fullmatch(self.name) or not self.name.strip():
            raise InvalidDefinition("an event name: 1..50 letters, digits, spaces or underscores")
        if self.type not in EVENT_TYPES:
            raise InvalidDefinition("an event type is INFORMATION, WARNING, CRITICAL or CONTENT")
        if self.description is not None and len(self.description) > MAX_EVENT_DESCRIPTION:
            raise InvalidDefinition(
                f"an event description has at most {MAX_EVENT_DESCRIPTION} characters"
            )
        if self.code == SYSTEM_OTA:
            raise InvalidDefinition(f"{SYSTEM_OTA} is a system event and cannot be defined")
        return TemplateEvent(
            id=event_id,
            code=self.code,
            name=self.name,
            type=self.type,
            description=self.description,
            notifications=self.notifications,
            show_on_timeline=self.show_on_timeline,
            send_to_notifications_tab=self.send_to_notifications_tab,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MetafieldSettings:
    """A metadata field definition as an editor sets it."""

    name: str
    type: str = "Text"
    default_value: str | None = None

    def metafield(self, metafield_id: MetafieldId) -> Metafield:
        """The metadata field these settings describe.

        Raises:
            InvalidDefinition: a setting breaks a rule.
        """
        if not self.name.strip() or len(self.name) > MAX_METAFIELD_NAME:
            raise InvalidDefinition(f"a metadata field name has 1..{MAX_METAFIELD_NAME} characters")
        if self.type not in METAFIELD_TYPES:
            raise InvalidDefinition(f"unknown metadata field type {self.type!r}")
        metafield = Metafield(id=metafield_id, name=self.name, type=self.type)
        if self.default_value is None:
            return metafield
        try:
            default = checked_value(metafield, self.default_value)
        except InvalidMetaValue as invalid:
            raise InvalidDefinition(f"default value of {self.name!r}: {invalid}") from None
        return replace(metafield, default_value=default)


def check_template_name(name: str) -> None:
    """A new template name: 1..100 letters, digits and spaces (data-model.md §1.5).

    Raises:
        InvalidDefinition: it is not.
    """
    if len(name) > 100 or not WORDS.fullmatch(name):
        raise InvalidDefinition("a template name has 1..100 letters, digits and spaces")


def check_template(template: Template) -> None:
    """The editing rules of a whole template, checked after every edit.

    Raises:
        InvalidDefinition: naming the first rule broken.
    """
    description = template.description
    if description is not None and len(description) > MAX_TEMPLATE_DESCRIPTION:
        raise InvalidDefinition(
            f"a template description has at most {MAX_TEMPLATE_DESCRIPTION} characters"
        )
    for what, count, limit in (
        ("datastreams", len(template.datastreams), MAX_DATASTREAMS),
        ("events", len(template.events), MAX_EVENTS),
        ("metadata fields", len(template.metafields), MAX_METAFIELDS),
    ):
        if count > limit:
            raise InvalidDefinition(f"a template has at most {limit} {what}")
    aliases = [ds.alias for ds in template.datastreams if ds.alias is not None]
    if len(set(aliases)) != len(aliases):
        raise InvalidDefinition("two datastreams of one template share an alias")
    if sum(ds.type is DataType.LOCATION for ds in template.datastreams) > 1:
        raise InvalidDefinition("a template has at most one LOCATION datastream")
    if len({event.name for event in template.events}) != len(template.events):
        raise InvalidDefinition("two events of one template share a name")
    addressed = {m.id for m in template.metafields if m.type in ADDRESS_METAFIELDS}
    for event in template.events:
        for recipient in (*event.notifications.email, *event.notifications.push):
            if recipient.kind == METAFIELD and recipient.metafield_id not in addressed:
                raise InvalidDefinition(
                    f"event {event.code!r}: recipient metafield {recipient.metafield_id} is not "
                    "a Device Owner, Contact or Email field of the template"
                )
        contacts = {m.id for m in template.metafields if m.type == "Contact"}
        for recipient in event.notifications.sms:
            if recipient.kind == METAFIELD and recipient.metafield_id not in contacts:
                raise InvalidDefinition(
                    f"event {event.code!r}: SMS recipient metafield {recipient.metafield_id} is "
                    "not a Contact field of the template"
                )
    if len({m.name for m in template.metafields}) != len(template.metafields):
        raise InvalidDefinition("two metadata fields of one template share a name")


def _default(datastream: Datastream, raw: object) -> Value:
    try:
        return parse_json(datastream, raw)
    except PinbaseError:
        raise InvalidDefinition(
            f"defaultValue of {datastream.label!r} does not fit its type"
        ) from None
