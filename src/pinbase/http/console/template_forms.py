"""The template editor's HTML forms: what a form shows for a datastream, event or metadata field,
and reading a posted form back into the settings ``services.templates`` takes.

A form that cannot be read (a min that is not a number) or that the service refuses is shown
again with what the person typed and the message next to the field it concerns. The service
names the rule it applies in its message (``InvalidDefinition``); ``field_of`` finds the field
from the words of that message, so no rule is written here a second time.
"""

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from starlette.datastructures import FormData

from pinbase.domain.datastreams import (
    DECIMALS_PATTERNS,
    Datastream,
    DataType,
    EnumOption,
    InvalidatePolicy,
)
from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.notifications import (
    ALL_MEMBERS,
    DEVICE_OWNER,
    MAX_RECIPIENTS,
    METAFIELD,
    USER,
    EventNotifications,
    Recipient,
)
from pinbase.domain.pins import MAX_PIN, Pin, PinType
from pinbase.domain.templates import Metafield, TemplateEvent, format_hms
from pinbase.domain.values import to_json
from pinbase.services.template_settings import (
    EVENT_TYPES,
    METAFIELD_TYPES,
    DatastreamSettings,
    EventSettings,
    MetafieldSettings,
)

MAX_ENUM_ROWS = 100
"""Rows an Enum datastream's form carries; far more than a person names by hand."""

DECIMALS = sorted(DECIMALS_PATTERNS, key=lambda p: (p.count("0") > 0, len(p)))
"""data-model.md §1.7.1's patterns: ``#``, ``#.#`` … then the fixed ``#.0`` …"""

TIME_UNITS = (("s", "seconds", 1), ("min", "minutes", 60), ("h", "hours", 3600))
POLICIES = (
    (InvalidatePolicy.NOTHING.value, "Show nothing"),
    (InvalidatePolicy.DEFAULT.value, "Show the default value"),
    (InvalidatePolicy.NO_DATA.value, "Show “No Data”"),
    (InvalidatePolicy.EMPTY.value, "Show “Empty”"),
    (InvalidatePolicy.DASHES.value, "Show “--”"),
)
PIN_KINDS = tuple((kind.value, kind.value.title()) for kind in PinType)
COLOR_PRESETS = ("#23C48E", "#04C0F8", "#ED9D00", "#D3435C", "#5F7CD8", "#FFFFFF", "#000000")
EVENT_TYPE_CHOICES = tuple((kind, kind.title()) for kind in sorted(EVENT_TYPES))
METAFIELD_TYPE_CHOICES = tuple((kind, kind) for kind in sorted(METAFIELD_TYPES))
DATA_TYPE_CHOICES = tuple((kind.value, kind.value) for kind in DataType)
DECIMALS_CHOICES = (("", "Default"), *((p, p) for p in DECIMALS))
TIME_UNIT_CHOICES = tuple((key, label) for key, label, _ in TIME_UNITS)

Errors = dict[str, str]
"""Field name → message; ``FORM`` for a message that concerns no one field."""
FORM = "form"


@dataclass(slots=True)
class EnumRow:
    """One row of an Enum datastream's form, as typed."""

    value: str = ""
    label: str = ""
    color: str = ""


@dataclass(slots=True)
class FormState:
    """A form's fields as shown (the stored thing's, or what was posted) and its errors."""

    values: dict[str, str]
    errors: Errors = field(default_factory=dict)
    enum_rows: list[EnumRow] = field(default_factory=list)


def _field_rule(*pairs: tuple[str, str]) -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(rf"\b{word}", re.IGNORECASE), name) for word, name in pairs)


DATASTREAM_FIELDS = _field_rule(
    ("decimals", "decimals"),
    ("enum", "enum"),
    ("fallback", "enum"),
    ("incoming value", "enum"),
    ("defaultValue", "default"),
    ("colou?r", "color"),
    ("units", "units"),
    ("invalidate", "invalidate_after"),
    ("wait", "wait_confirmation"),
    ("alias", "alias"),
    ("pin", "pin"),
    ("min", "min"),
    ("max", "max"),
    ("label", "label"),
    ("name", "label"),
    ("LOCATION", "type"),
)
EVENT_FIELDS = _field_rule(
    ("code", "code"), ("description", "description"), ("type", "type"), ("name", "name")
)
METAFIELD_FIELDS = _field_rule(("default", "default"), ("type", "type"), ("name", "name"))
INFO_FIELDS = _field_rule(
    ("ignore period", "offline_ignore_period"), ("description", "description"), ("name", "name")
)


def period_text(seconds: int) -> str:
    """An offline ignore period as the Info tab shows it: ``HH:MM:SS``, or Off."""
    return format_hms(seconds) if seconds else "Off"


def field_of(message: str, rules: Sequence[tuple[re.Pattern[str], str]]) -> str:
    """The form field a service's message is about (the first rule whose word it holds)."""
    return next((name for word, name in rules if word.search(message)), FORM)


def text(form: FormData, name: str) -> str:
    """A posted text field ('' when missing or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _optional(value: str) -> str | None:
    return value or None


def _number(value: str) -> float | None:
    """A typed number, or None for an empty field.

    Raises:
        ValueError: it is not a finite number.
    """
    if not value:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _whole(value: str) -> int | None:
    """A typed whole number, or None for an empty field.

    Raises:
        ValueError: it is not one.
    """
    return None if not value else int(value)


def plain_number(number: float | None) -> str:
    """A number as a person types it: ``1`` rather than ``1.0``."""
    if number is None:
        return ""
    return str(int(number)) if float(number).is_integer() else repr(number)


# ── Datastreams ──────────────────────────────────────────────────────────────────────────────


def datastream_state(datastream: Datastream | None) -> FormState:
    """The form of a datastream: the stored one's settings, or a new Virtual Pin's defaults."""
    if datastream is None:
        values = {
            "pin_type": PinType.VIRTUAL.value,
            "type": DataType.INT.value,
            "unit": "s",
            "policy": InvalidatePolicy.NOTHING.value,
        }
        return FormState(values=values)
    after, unit = datastream.invalidate_after, "s"
    for key, _, seconds in reversed(TIME_UNITS):
        if after is not None and after % seconds == 0:
            after, unit = after // seconds, key
            break
    default = datastream.default_value
    default_json = to_json(default) if default is not None else None
    checks = {
        "save_raw": datastream.save_raw,
        "sync_with_latest": datastream.sync_with_latest,
    }
    values = {
        "label": datastream.label,
        "alias": datastream.alias or "",
        "pin_type": datastream.pin.type.value,
        "pin": str(datastream.pin.number),
        "type": datastream.type.value,
        "units": datastream.units or "",
        "default": "" if default_json is None else _json_text(default_json),
        "min": plain_number(datastream.min),
        "max": plain_number(datastream.max),
        "decimals": datastream.decimals or "",
        "color": datastream.color or "",
        "invalidate_after": "" if after is None else str(after),
        "unit": unit,
        "policy": datastream.invalidate_policy.value,
        "wait_confirmation": plain_number(datastream.wait_confirmation),
        "fallback": plain_number(datastream.fallback_value),
        **{name: "on" for name, on in checks.items() if on},
    }
    rows = [
        EnumRow(value=str(o.value), label=o.label, color=o.color or "")
        for o in datastream.enum_options
    ]
    return FormState(values=values, enum_rows=rows)


def _json_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


DATASTREAM_TEXT = (
    "label",
    "alias",
    "pin_type",
    "pin",
    "type",
    "units",
    "default",
    "min",
    "max",
    "decimals",
    "color",
    "invalidate_after",
    "unit",
    "policy",
    "wait_confirmation",
    "fallback",
)


def posted_datastream(form: FormData) -> FormState:
    """The datastream form as posted, with its enum rows (removed rows left out, and one empty
    row more when the person pressed "Add row")."""
    values = {name: text(form, name) for name in DATASTREAM_TEXT}
    values.update({name: "on" for name in ("save_raw", "sync_with_latest") if form.get(name)})
    rows = []
    count = min(_whole_or_zero(text(form, "enum_rows")), MAX_ENUM_ROWS)
    for index in range(count):
        if form.get(f"enum_{index}_remove"):
            continue
        rows.append(
            EnumRow(
                value=text(form, f"enum_{index}_value"),
                label=text(form, f"enum_{index}_label"),
                color=text(form, f"enum_{index}_color"),
            )
        )
    if text(form, "action") == "add_row" and len(rows) < MAX_ENUM_ROWS:
        rows.append(EnumRow())
    return FormState(values=values, enum_rows=rows)


def _whole_or_zero(value: str) -> int:
    return int(value) if is_count(value) else 0


def is_count(value: str) -> bool:
    """Whether ``value`` is plain ASCII digits (``str.isdigit`` also takes ``²``, which ``int``
    refuses), at most nine: every count and id of a form fits a 32-bit column."""
    return 0 < len(value) <= 9 and value.isascii() and value.isdigit()


def datastream_settings(state: FormState) -> DatastreamSettings | None:
    """The settings a posted datastream form holds, or None with ``state.errors`` filled for
    fields that cannot be read (the service checks the rest)."""
    v, errors = state.values, state.errors

    def whole(name: str, message: str) -> int | None:
        try:
            return _whole(v.get(name, ""))
        except ValueError:
            errors[name] = message
            return None

    def number(name: str, message: str) -> float | None:
        try:
            return _number(v.get(name, ""))
        except ValueError:
            errors[name] = message
            return None

    pin_number = whole("pin", "The pin is a whole number from 0 to 255.")
    low = number("min", "Min is a number.")
    high = number("max", "Max is a number.")
    after = whole("invalidate_after", "Invalidate after is a whole number.")
    wait = whole("wait_confirmation", "Wait for confirmation is a whole number of seconds.")
    fallback = whole("fallback", "The fallback value is a whole number.")
    options = _enum_options(state)
    if pin_number is None and "pin" not in errors:
        errors["pin"] = f"Choose a pin number from 0 to {MAX_PIN}."
    choices = (("type", DataType), ("pin_type", PinType), ("policy", InvalidatePolicy))
    for name, enum in choices:
        if v.get(name, "") not in {member.value for member in enum}:
            errors[name] = "Choose one of the offered values."
    if pin_number is not None and not 0 <= pin_number <= MAX_PIN:
        errors["pin"] = f"The pin is a whole number from 0 to {MAX_PIN}."
    if errors:
        return None
    kind = DataType(v["type"])
    pin = Pin(PinType(v["pin_type"]), pin_number or 0)
    policy = InvalidatePolicy(v["policy"])
    seconds = dict((key, s) for key, _, s in TIME_UNITS).get(v.get("unit", "s"), 1)
    return DatastreamSettings(
        label=v.get("label", ""),
        pin=pin,
        type=kind,
        alias=_optional(v.get("alias", "")),
        units=_optional(v.get("units", "")),
        default_value=_default(kind, v.get("default", "")),
        min=low,
        max=high,
        decimals=_optional(v.get("decimals", "")),
        color=_optional(v.get("color", "")),
        invalidate_after=None if after is None else after * seconds,
        invalidate_policy=policy,
        save_raw=bool(v.get("save_raw")),
        sync_with_latest=bool(v.get("sync_with_latest")),
        wait_confirmation=wait,
        enum_options=options,
        fallback_value=fallback,
    )


def _enum_options(state: FormState) -> tuple[EnumOption, ...]:
    options = []
    for index, row in enumerate(state.enum_rows):
        if not (row.value or row.label):
            continue
        try:
            value = int(row.value)
        except ValueError:
            state.errors["enum"] = f"Row {index + 1}: the incoming value is a whole number."
            continue
        if not row.label:
            state.errors["enum"] = f"Row {index + 1}: give the row a label."
            continue
        options.append(EnumOption(value=value, label=row.label, color=_optional(row.color)))
    return tuple(options)


def _default(kind: DataType, typed: str) -> object:
    """The default value as the JSON the service checks: text for STRING, else JSON when it
    reads as JSON (``12``, ``[1, 2]``), else the text."""
    if not typed:
        return None
    if kind is DataType.STRING:
        return typed
    try:
        return json.loads(typed)
    except ValueError:
        return typed


# ── Events and metadata fields ───────────────────────────────────────────────────────────────


EVENT_CHECKS = (
    "show_on_timeline",
    "send_to_notifications_tab",
    "notify",
    "deliver_as_alert",
    "allow_user_management",
)
"""The event form's check boxes."""
EVENT_LISTS = ("email_to", "push_to", "sms_to")
"""The event form's recipient check boxes: ``owner``, ``members``, ``metafield:<id>`` and
``user:<id>`` (automations.md §1.2 tagged recipients), one list per channel."""


def recipient_token(recipient: Recipient) -> str:
    """The value of a recipient's check box."""
    if recipient.kind == DEVICE_OWNER:
        return "owner"
    if recipient.kind == ALL_MEMBERS:
        return "members"
    if recipient.kind == METAFIELD:
        return f"metafield:{recipient.metafield_id}"
    return f"user:{recipient.user_id}"


def _recipient(choice: str) -> Recipient:
    """A recipient from its check box value.

    Raises:
        InvalidDefinition: not one of the values ``recipient_token`` makes.
    """
    if choice == "owner":
        return Recipient(kind=DEVICE_OWNER)
    if choice == "members":
        return Recipient(kind=ALL_MEMBERS)
    kind, _, number = choice.partition(":")
    if kind in ("metafield", "user") and number.isdigit() and number.isascii() and len(number) < 10:
        if kind == "metafield":
            return Recipient(kind=METAFIELD, metafield_id=int(number))
        return Recipient(kind=USER, user_id=int(number))
    raise InvalidDefinition(f"unknown recipient {choice[:40]!r}")


def event_state(event: TemplateEvent | None) -> FormState:
    """The form of an event: the stored one's definition, or an empty Info event shown on the
    timeline."""
    if event is None:
        return FormState(
            values={
                "type": "INFORMATION",
                "show_on_timeline": "on",
                "send_to_notifications_tab": "on",
                "limit_period": "0",
                "every_n": "1",
            }
        )
    notes = event.notifications
    checks = {
        "show_on_timeline": event.show_on_timeline,
        "send_to_notifications_tab": event.send_to_notifications_tab,
        "notify": notes.enabled,
        "deliver_as_alert": notes.deliver_as_alert,
        "allow_user_management": notes.allow_user_management,
    }
    return FormState(
        values={
            "code": event.code,
            "name": event.name,
            "type": event.type,
            "description": event.description or "",
            "limit_period": str(notes.limit_period_s),
            "every_n": str(notes.every_n),
            "email_to": ",".join(recipient_token(r) for r in notes.email),
            "push_to": ",".join(recipient_token(r) for r in notes.push),
            "sms_to": ",".join(recipient_token(r) for r in notes.sms),
            **{name: "on" for name, on in checks.items() if on},
        }
    )


def posted_event(form: FormData) -> tuple[FormState, EventSettings | None]:
    """The event form as posted, and the settings it holds (None when a field is malformed)."""
    names = ("code", "name", "type", "description", "limit_period", "every_n")
    values = {name: text(form, name) for name in names}
    values.update({name: "on" for name in EVENT_CHECKS if form.get(name)})
    lists = {
        name: [v for v in form.getlist(name) if isinstance(v, str)][: MAX_RECIPIENTS + 1]
        for name in EVENT_LISTS
    }
    values.update({name: ",".join(tokens) for name, tokens in lists.items()})
    state = FormState(values=values)
    try:
        notifications = EventNotifications(
            enabled="notify" in values,
            email=tuple(_recipient(token) for token in lists["email_to"]),
            push=tuple(_recipient(token) for token in lists["push_to"]),
            sms=tuple(_recipient(token) for token in lists["sms_to"]),
            deliver_as_alert="deliver_as_alert" in values,
            limit_period_s=_count(values["limit_period"] or "0", "limit_period"),
            every_n=_count(values["every_n"] or "1", "every_n"),
            allow_user_management="allow_user_management" in values,
        )
    except InvalidDefinition as refused:
        words = {"limitPeriodSec": "limit_period", "limit_period": "limit_period"}
        words |= {"everyN": "every_n", "every_n": "every_n"}
        field_name = next((f for w, f in words.items() if w in str(refused)), FORM)
        state.errors[field_name] = str(refused)
        return state, None
    settings = EventSettings(
        code=values["code"],
        name=values["name"],
        type=values["type"],
        description=_optional(values["description"]),
        notifications=notifications,
        show_on_timeline="show_on_timeline" in values,
        send_to_notifications_tab="send_to_notifications_tab" in values,
    )
    return state, settings


def _count(value: str, name: str) -> int:
    """A whole number typed in a field.

    Raises:
        InvalidDefinition: naming the field, when it is not one.
    """
    if not value.isdigit() or not value.isascii() or len(value) > 9:
        raise InvalidDefinition(f"{name}: a whole number")
    return int(value)


def metafield_state(metafield: Metafield | None) -> FormState:
    """The form of a metadata field: the stored one's definition, or an empty Text field."""
    if metafield is None:
        return FormState(values={"type": "Text"})
    values = {"name": metafield.name, "type": metafield.type}
    return FormState(values={**values, "default": metafield.default_value or ""})


def posted_metafield(form: FormData) -> tuple[FormState, MetafieldSettings]:
    """The metadata field form as posted, and the settings it holds."""
    values = {name: text(form, name) for name in ("name", "type", "default")}
    settings = MetafieldSettings(
        name=values["name"], type=values["type"], default_value=_optional(values["default"])
    )
    return FormState(values=values), settings


def blank(values: Mapping[str, str] | None = None) -> FormState:
    """A form with these values and no errors."""
    return FormState(values=dict(values or {}))
