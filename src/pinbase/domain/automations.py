"""Automations: one "When" condition and the "Do this" actions it runs (automations.md §3).

The JSON model is the one spec §3.1 recommends, so the console's JSON API, the provisioning file
and storage all read and write it with ``parse_automation`` and ``automation_json``. Parsing
checks shapes and ranges only; checks that need the organization's devices and datastreams
(operand against the datastream's type, §3.4) live in ``domain.automation_checks``.
"""

import datetime as dt
import math
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pinbase.domain.errors import PinbaseError

MAX_NAME_CHARS = 100
MAX_TEXT_CHARS = 2_000
"""A subject or body of a message action; a mail body longer than this is a document, not an
alert."""

MAX_WAIT_S = 86_400
"""Wait timer range 1 s to 24 h (spec §3.8, [D] ``concepts/automations.md``)."""

MAX_SUN_OFFSET_MIN = 360
"""Sunrise/sunset offset ±6 h (spec §3.3 recommendation)."""

MAX_LIMIT_PERIOD_S = 30 * 86_400
"""The Limit Period editor's longest choice is far below a month; a month bounds typos."""

MAX_RECIPIENTS = 50
MAX_SEGMENT_PROPERTIES = 20
"""Properties one Control Segment action sets: a template has a few controls, not hundreds."""

TIME_OF_DAY = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
"""Weekday literals in ``datetime.weekday()`` order."""


class InvalidAutomation(PinbaseError):
    """An automation does not follow the model; ``args[0]`` says what is wrong."""


class ConditionKind(StrEnum):
    SCHEDULE = "SCHEDULE"
    SUN = "SUN"
    DEVICE_STATE = "DEVICE_STATE"
    SCENE = "SCENE"


class RepeatType(StrEnum):
    ONCE = "ONCE"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


class SunEvent(StrEnum):
    SUNRISE = "SUNRISE"
    SUNSET = "SUNSET"


class Operator(StrEnum):
    """Device State operators (spec §3.4)."""

    IS_ON = "IS_ON"
    IS_OFF = "IS_OFF"
    HAS_CHANGED = "HAS_CHANGED"
    IS_ANY = "IS_ANY"
    GT = "GT"
    GTE = "GTE"
    LT = "LT"
    LTE = "LTE"
    EQ = "EQ"
    NEQ = "NEQ"
    BETWEEN = "BETWEEN"
    NOT_BETWEEN = "NOT_BETWEEN"
    STR_EQUAL = "STR_EQUAL"
    STR_NOT_EQUAL = "STR_NOT_EQUAL"


NUMERIC_OPERATORS = frozenset(
    {Operator.GT, Operator.GTE, Operator.LT, Operator.LTE, Operator.EQ, Operator.NEQ}
    | {Operator.BETWEEN, Operator.NOT_BETWEEN}
)
STRING_OPERATORS = frozenset({Operator.STR_EQUAL, Operator.STR_NOT_EQUAL})
SWITCH_OPERATORS = frozenset({Operator.IS_ON, Operator.IS_OFF})
ALWAYS_OPERATORS = frozenset({Operator.HAS_CHANGED, Operator.IS_ANY})
"""Operators offered for every datastream type (Location included, OP-A15)."""


class ActionKind(StrEnum):
    """The "Do this" actions (spec §3.5)."""

    CONTROL_DEVICE = "CONTROL_DEVICE"
    CONTROL_SEGMENT = "CONTROL_SEGMENT"
    FORWARD_DEVICE_DATA = "FORWARD_DEVICE_DATA"
    SEND_EMAIL = "SEND_EMAIL"
    SEND_NOTIFICATION = "SEND_NOTIFICATION"
    SEND_SMS = "SEND_SMS"
    WAIT = "WAIT"
    LOG_EVENT = "LOG_EVENT"


MESSAGE_KINDS = frozenset({"SEND_EMAIL", "SEND_NOTIFICATION", "SEND_SMS"})
"""The message actions: users and a text with placeholders, counted toward 20/h (§3.5)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Repeat:
    """When a schedule repeats: ``date`` for ONCE, ``days`` for WEEKLY, ``dates`` for MONTHLY."""

    type: RepeatType
    date: dt.date | None = None
    days: frozenset[int] = frozenset()
    """Weekdays, 0 = Monday (``datetime.weekday``)."""
    dates: frozenset[int] = frozenset()
    """Days of the month, 1..31; a month without the date is skipped."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    kind: ConditionKind = field(default=ConditionKind.SCHEDULE, init=False)
    hour: int
    minute: int
    tz: str
    repeat: Repeat


@dataclass(frozen=True, slots=True, kw_only=True)
class Sun:
    kind: ConditionKind = field(default=ConditionKind.SUN, init=False)
    event: SunEvent
    offset_min: int
    days: frozenset[int]
    """Weekdays it runs on; empty means every day."""
    lat: float
    lon: float
    tz: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceState:
    kind: ConditionKind = field(default=ConditionKind.DEVICE_STATE, init=False)
    device_id: int
    datastream_id: int
    operator: Operator
    operand: str | None = None
    operand2: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Scene:
    kind: ConditionKind = field(default=ConditionKind.SCENE, init=False)


Condition = Schedule | Sun | DeviceState | Scene


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """A user of the organization, or (e-mail only) a plain address (OP-A18)."""

    user_id: int | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlDevice:
    kind: ActionKind = field(default=ActionKind.CONTROL_DEVICE, init=False)
    device_id: int
    datastream_id: int
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentProperty:
    """A property of Control Segment: datastreams named ``name`` (their label, compared without
    case) in every template of the segment's devices, merged (§3.2), and the value to set."""

    name: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlSegment:
    """Set properties on every device of a segment at run time (§3.5)."""

    kind: ActionKind = field(default=ActionKind.CONTROL_SEGMENT, init=False)
    segment_id: int
    properties: tuple[SegmentProperty, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ForwardDeviceData:
    kind: ActionKind = field(default=ActionKind.FORWARD_DEVICE_DATA, init=False)
    device_id: int
    datastream_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SendMessage:
    """SEND_EMAIL, SEND_NOTIFICATION or SEND_SMS; texts keep their placeholders (§3.6). An SMS
    has no subject (its text is the body, cut to 160 characters when sent)."""

    kind: ActionKind
    recipients: tuple[Recipient, ...]
    subject: str
    body: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Wait:
    """A timer (``seconds``) or a time of day in a time zone (``hour``, ``minute``, ``tz``)."""

    kind: ActionKind = field(default=ActionKind.WAIT, init=False)
    seconds: int | None = None
    hour: int | None = None
    minute: int | None = None
    tz: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LogEvent:
    """Log an event of a device's template; no ``device_id`` means the trigger's device."""

    kind: ActionKind = field(default=ActionKind.LOG_EVENT, init=False)
    event_code: str
    device_id: int | None = None
    description: str | None = None


Action = ControlDevice | ControlSegment | ForwardDeviceData | SendMessage | Wait | LogEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationSpec:
    """What a user edits: everything but the ids, owner and times."""

    name: str
    cover: str | None = None
    is_active: bool = True
    limit_period_s: int = 0
    """Device State only; 0 is "No limit"."""
    condition: Condition
    actions: tuple[Action, ...]
    legacy: bool = False
    """Imported from a legacy project: ``/pin/`` in texts is the trigger value (§3.6)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Automation:
    id: int
    org_id: int
    owner_id: int | None
    spec: AutomationSpec
    created_at: int
    last_executed_at: int | None = None
    opted_out: frozenset[int] = frozenset()
    """Devices switched out of this automation on their device page (spec §3.7): they neither
    trigger it nor are acted on."""


def parse_automation(data: object, *, max_actions: int) -> AutomationSpec:
    """Read the JSON model of spec §3.1 (ids, owner and times, when present, are ignored).

    Raises:
        InvalidAutomation: a field is missing, of the wrong type or out of range; the message
            names it. ``Actions limit reached`` when there are more than ``max_actions``.
    """
    body = _object(data, "automation")
    name = _text(body, "name", MAX_NAME_CHARS)
    if not name.strip():
        raise InvalidAutomation("name must not be empty")
    cover = _optional_text(body, "cover", 32)
    is_active = body.get("isActive", True)
    if not isinstance(is_active, bool):
        raise InvalidAutomation("isActive must be true or false")
    limit = _optional_int(body, "limitPeriodSec", 0, MAX_LIMIT_PERIOD_S) or 0
    legacy = body.get("legacy", False)
    if not isinstance(legacy, bool):
        raise InvalidAutomation("legacy must be true or false")
    condition = _condition(_object(body.get("condition"), "condition"))
    raw_actions = body.get("actions")
    if not isinstance(raw_actions, list) or not raw_actions:
        raise InvalidAutomation("actions must be a non-empty list")
    if len(raw_actions) > max_actions:
        raise InvalidAutomation("Actions limit reached")
    actions = tuple(_action(_object(item, "action")) for item in raw_actions)
    if limit and not isinstance(condition, DeviceState):
        raise InvalidAutomation("limitPeriodSec needs a DEVICE_STATE condition")
    for action in actions:
        if isinstance(action, ForwardDeviceData) and not isinstance(condition, DeviceState):
            raise InvalidAutomation("FORWARD_DEVICE_DATA needs a DEVICE_STATE condition")
    return AutomationSpec(
        name=name,
        cover=cover,
        is_active=is_active,
        limit_period_s=limit,
        condition=condition,
        actions=actions,
        legacy=legacy,
    )


def automation_json(automation: Automation) -> dict[str, Any]:
    """The JSON model of spec §3.1."""
    spec = automation.spec
    answer: dict[str, Any] = {
        "id": automation.id,
        "name": spec.name,
        "cover": spec.cover,
        "ownerId": automation.owner_id,
        "orgId": automation.org_id,
        "isActive": spec.is_active,
        "limitPeriodSec": spec.limit_period_s,
        "condition": condition_json(spec.condition),
        "actions": [action_json(action) for action in spec.actions],
        "lastExecutedAt": automation.last_executed_at,
        "createdAt": automation.created_at,
    }
    if spec.legacy:
        answer["legacy"] = True
    if automation.opted_out:
        answer["optedOutDeviceIds"] = sorted(automation.opted_out)
    return answer


def spec_json(spec: AutomationSpec) -> dict[str, Any]:
    """The editable part as JSON, as ``parse_automation`` reads it back (storage, exports)."""
    answer: dict[str, Any] = {
        "name": spec.name,
        "cover": spec.cover,
        "isActive": spec.is_active,
        "limitPeriodSec": spec.limit_period_s,
        "condition": condition_json(spec.condition),
        "actions": [action_json(action) for action in spec.actions],
    }
    if spec.legacy:
        answer["legacy"] = True
    return answer


def condition_json(condition: Condition) -> dict[str, Any]:
    """One condition as JSON."""
    if isinstance(condition, Schedule):
        repeat: dict[str, Any] = {"type": condition.repeat.type.value}
        if condition.repeat.date is not None:
            repeat["date"] = condition.repeat.date.isoformat()
        if condition.repeat.type is RepeatType.WEEKLY:
            repeat["days"] = _days_json(condition.repeat.days)
        if condition.repeat.type is RepeatType.MONTHLY:
            repeat["dates"] = sorted(condition.repeat.dates)
        return {
            "kind": "SCHEDULE",
            "time": f"{condition.hour:02d}:{condition.minute:02d}",
            "tz": condition.tz,
            "repeat": repeat,
        }
    if isinstance(condition, Sun):
        return {
            "kind": "SUN",
            "event": condition.event.value,
            "offsetMin": condition.offset_min,
            "days": _days_json(condition.days),
            "lat": condition.lat,
            "lon": condition.lon,
            "tz": condition.tz,
        }
    if isinstance(condition, DeviceState):
        answer: dict[str, Any] = {
            "kind": "DEVICE_STATE",
            "deviceId": condition.device_id,
            "dataStreamId": condition.datastream_id,
            "operator": condition.operator.value,
        }
        if condition.operand is not None:
            answer["operand"] = condition.operand
        if condition.operand2 is not None:
            answer["operand2"] = condition.operand2
        return answer
    return {"kind": "SCENE"}


def action_json(action: Action) -> dict[str, Any]:
    """One action as JSON."""
    if isinstance(action, ControlDevice):
        return {
            "kind": "CONTROL_DEVICE",
            "deviceId": action.device_id,
            "dataStreamId": action.datastream_id,
            "value": action.value,
        }
    if isinstance(action, ControlSegment):
        return {
            "kind": "CONTROL_SEGMENT",
            "segmentId": action.segment_id,
            "properties": [{"dataStream": p.name, "value": p.value} for p in action.properties],
        }
    if isinstance(action, ForwardDeviceData):
        return {
            "kind": "FORWARD_DEVICE_DATA",
            "deviceId": action.device_id,
            "dataStreamId": action.datastream_id,
        }
    if isinstance(action, SendMessage):
        return {
            "kind": action.kind.value,
            "recipients": [
                {"userId": r.user_id} if r.user_id is not None else {"email": r.address}
                for r in action.recipients
            ],
            "subject": action.subject,
            "body": action.body,
        }
    if isinstance(action, Wait):
        if action.seconds is not None:
            return {"kind": "WAIT", "seconds": action.seconds}
        return {"kind": "WAIT", "time": f"{action.hour:02d}:{action.minute:02d}", "tz": action.tz}
    answer: dict[str, Any] = {"kind": "LOG_EVENT", "eventCode": action.event_code}
    if action.device_id is not None:
        answer["deviceId"] = action.device_id
    if action.description is not None:
        answer["description"] = action.description
    return answer


def referenced_devices(spec: AutomationSpec) -> frozenset[int]:
    """Every device id the condition and actions name."""
    ids = set()
    if isinstance(spec.condition, DeviceState):
        ids.add(spec.condition.device_id)
    for action in spec.actions:
        if isinstance(action, ControlDevice | ForwardDeviceData | LogEvent) and action.device_id:
            ids.add(action.device_id)
    return frozenset(ids)


def referenced_datastreams(spec: AutomationSpec) -> frozenset[tuple[int, int]]:
    """Every (device id, datastream id) pair the condition and actions name."""
    pairs = set()
    if isinstance(spec.condition, DeviceState):
        pairs.add((spec.condition.device_id, spec.condition.datastream_id))
    for action in spec.actions:
        if isinstance(action, ControlDevice | ForwardDeviceData):
            pairs.add((action.device_id, action.datastream_id))
    return frozenset(pairs)


def _condition(body: Mapping[str, Any]) -> Condition:
    kind = body.get("kind")
    if kind == "SCHEDULE":
        hour, minute = _time_of_day(body.get("time"))
        return Schedule(hour=hour, minute=minute, tz=_tz(body), repeat=_repeat(body.get("repeat")))
    if kind == "SUN":
        event = body.get("event")
        if event not in ("SUNRISE", "SUNSET"):
            raise InvalidAutomation("event must be SUNRISE or SUNSET")
        offset = _optional_int(body, "offsetMin", -MAX_SUN_OFFSET_MIN, MAX_SUN_OFFSET_MIN)
        return Sun(
            event=SunEvent(event),
            offset_min=offset or 0,
            days=_days(body.get("days", []), allow_empty=True),
            lat=_coordinate(body, "lat", 90),
            lon=_coordinate(body, "lon", 180),
            tz=_tz(body),
        )
    if kind == "DEVICE_STATE":
        operator = body.get("operator")
        if not isinstance(operator, str) or operator not in Operator.__members__:
            raise InvalidAutomation("operator is not one of " + ", ".join(Operator))
        parsed = Operator(operator)
        operand = _operand(body, "operand")
        operand2 = _operand(body, "operand2")
        if parsed in NUMERIC_OPERATORS | STRING_OPERATORS and operand is None:
            raise InvalidAutomation(f"operator {parsed} needs an operand")
        if parsed in (Operator.BETWEEN, Operator.NOT_BETWEEN) and operand2 is None:
            raise InvalidAutomation(f"operator {parsed} needs operand2")
        return DeviceState(
            device_id=_id(body, "deviceId"),
            datastream_id=_id(body, "dataStreamId"),
            operator=parsed,
            operand=operand,
            operand2=operand2,
        )
    if kind == "SCENE":
        return Scene()
    raise InvalidAutomation("condition kind must be SCHEDULE, SUN, DEVICE_STATE or SCENE")


def _action(body: Mapping[str, Any]) -> Action:
    kind = body.get("kind")
    if kind == "CONTROL_DEVICE":
        value = body.get("value")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidAutomation("value must be a string or a number")
        text = value if isinstance(value, str) else _number_text(value)
        if len(text) > MAX_TEXT_CHARS or "\0" in text:
            raise InvalidAutomation("value is too long or holds NUL")
        return ControlDevice(
            device_id=_id(body, "deviceId"), datastream_id=_id(body, "dataStreamId"), value=text
        )
    if kind == "CONTROL_SEGMENT":
        return ControlSegment(
            segment_id=_id(body, "segmentId"), properties=_segment_properties(body)
        )
    if kind == "FORWARD_DEVICE_DATA":
        return ForwardDeviceData(
            device_id=_id(body, "deviceId"), datastream_id=_id(body, "dataStreamId")
        )
    if kind in MESSAGE_KINDS:
        recipients = body.get("recipients")
        if not isinstance(recipients, list) or not recipients:
            raise InvalidAutomation("recipients must be a non-empty list")
        if len(recipients) > MAX_RECIPIENTS:
            raise InvalidAutomation(f"at most {MAX_RECIPIENTS} recipients")
        return SendMessage(
            kind=ActionKind(kind),
            recipients=tuple(_recipient(item, email=kind == "SEND_EMAIL") for item in recipients),
            subject=_text(body, "subject", MAX_TEXT_CHARS, default=""),
            body=_text(body, "body", MAX_TEXT_CHARS),
        )
    if kind == "WAIT":
        if "seconds" in body:
            seconds = _optional_int(body, "seconds", 1, MAX_WAIT_S)
            return Wait(seconds=seconds)
        hour, minute = _time_of_day(body.get("time"))
        return Wait(hour=hour, minute=minute, tz=_tz(body))
    if kind == "LOG_EVENT":
        code = _text(body, "eventCode", 50)
        if not code:
            raise InvalidAutomation("eventCode must not be empty")
        device = _id(body, "deviceId") if body.get("deviceId") is not None else None
        return LogEvent(
            event_code=code,
            device_id=device,
            description=_optional_text(body, "description", 300),
        )
    raise InvalidAutomation("action kind must be one of " + ", ".join(ActionKind))


def _segment_properties(body: Mapping[str, Any]) -> tuple[SegmentProperty, ...]:
    items = body.get("properties")
    if not isinstance(items, list) or not items:
        raise InvalidAutomation("properties must be a non-empty list")
    if len(items) > MAX_SEGMENT_PROPERTIES:
        raise InvalidAutomation(f"at most {MAX_SEGMENT_PROPERTIES} properties")
    found = []
    for item in items:
        entry = _object(item, "property")
        name = _text(entry, "dataStream", 100).strip()
        if not name:
            raise InvalidAutomation("dataStream must name a datastream")
        value = entry.get("value")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidAutomation("value must be a string or a number")
        text = value if isinstance(value, str) else _number_text(value)
        if len(text) > MAX_TEXT_CHARS or "\0" in text:
            raise InvalidAutomation("value is too long or holds NUL")
        found.append(SegmentProperty(name=name, value=text))
    if len({p.name.casefold() for p in found}) != len(found):
        raise InvalidAutomation("a datastream is named twice in properties")
    return tuple(found)


def referenced_segments(spec: AutomationSpec) -> frozenset[int]:
    """Every segment id the actions name."""
    return frozenset(a.segment_id for a in spec.actions if isinstance(a, ControlSegment))


def stored_segments(spec: Mapping[str, Any]) -> frozenset[int]:
    """Every segment id the actions of a stored automation name, read from its stored form
    (``spec_json``, which only Pinbase writes) without parsing the automation again."""
    return frozenset(
        int(action["segmentId"])
        for action in spec.get("actions", ())
        if action.get("kind") == "CONTROL_SEGMENT"
    )


def _recipient(item: object, *, email: bool) -> Recipient:
    body = _object(item, "recipient")
    if "userId" in body:
        return Recipient(user_id=_id(body, "userId"))
    if email and "email" in body:
        address = _text(body, "email", 254)
        if address.count("@") != 1 or any(c.isspace() for c in address):
            raise InvalidAutomation("recipient email is not an address")
        return Recipient(address=address)
    raise InvalidAutomation("a recipient needs userId" + (" or email" if email else ""))


def _repeat(data: object) -> Repeat:
    body = _object(data, "repeat")
    kind = body.get("type")
    if kind == "ONCE":
        raw = body.get("date")
        try:
            day = dt.date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise InvalidAutomation("repeat.date must be a date YYYY-MM-DD")
        return Repeat(type=RepeatType.ONCE, date=day)
    if kind == "DAILY":
        return Repeat(type=RepeatType.DAILY)
    if kind == "WEEKLY":
        return Repeat(type=RepeatType.WEEKLY, days=_days(body.get("days"), allow_empty=False))
    if kind == "MONTHLY":
        dates = body.get("dates")
        if (
            not isinstance(dates, list)
            or not dates
            or not all(type(d) is int and 1 <= d <= 31 for d in dates)
        ):
            raise InvalidAutomation("repeat.dates must be a non-empty list of days 1..31")
        return Repeat(type=RepeatType.MONTHLY, dates=frozenset(dates))
    raise InvalidAutomation("repeat.type must be ONCE, DAILY, WEEKLY or MONTHLY")


def _days(data: object, *, allow_empty: bool) -> frozenset[int]:
    if not isinstance(data, list) or not all(day in WEEKDAYS for day in data):
        raise InvalidAutomation("days must be a list of " + ", ".join(WEEKDAYS))
    if not data and not allow_empty:
        raise InvalidAutomation("days must not be empty")
    return frozenset(WEEKDAYS.index(day) for day in data)


def _days_json(days: frozenset[int]) -> list[str]:
    return [WEEKDAYS[day] for day in sorted(days)]


def _time_of_day(data: object) -> tuple[int, int]:
    match = TIME_OF_DAY.fullmatch(data) if isinstance(data, str) else None
    if match is None:
        raise InvalidAutomation("time must be HH:MM")
    return int(match.group(1)), int(match.group(2))


def _tz(body: Mapping[str, Any]) -> str:
    name = body.get("tz")
    if not isinstance(name, str) or not name or len(name) > 64:
        raise InvalidAutomation("tz must be an IANA time zone name")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidAutomation(f"unknown time zone {name!r}") from None
    return name


def _coordinate(body: Mapping[str, Any], name: str, bound: float) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidAutomation(f"{name} must be a number")
    if abs(value) > bound or not math.isfinite(value):
        raise InvalidAutomation(f"{name} must be within ±{bound}")
    return float(value)


def _operand(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidAutomation(f"{name} must be a string or a number")
    text = value if isinstance(value, str) else _number_text(value)
    if len(text) > 255 or "\0" in text:
        raise InvalidAutomation(f"{name} is too long or holds NUL")
    return text


def _number_text(value: float) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidAutomation("numbers must be finite")
    if isinstance(value, int) and abs(value) >= 2**63:
        # Past any datastream's range, and ``str`` refuses ints of more than 4,300 digits.
        raise InvalidAutomation("numbers must fit in 64 bits")
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


def _object(data: object, name: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidAutomation(f"{name} must be a JSON object")
    return data


def _id(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if type(value) is not int or not 0 < value < 2**31:
        raise InvalidAutomation(f"{name} must be a positive integer")
    return value


def _optional_int(body: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if type(value) is not int or not low <= value <= high:
        raise InvalidAutomation(f"{name} must be an integer from {low} to {high}")
    return value


def _text(body: Mapping[str, Any], name: str, limit: int, *, default: str | None = None) -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise InvalidAutomation(f"{name} must be a string")
    if len(value) > limit:
        raise InvalidAutomation(f"{name} is longer than {limit} characters")
    if "\0" in value:
        raise InvalidAutomation(f"{name} must not hold the NUL character")
    return value


def _optional_text(body: Mapping[str, Any], name: str, limit: int) -> str | None:
    if body.get(name) is None:
        return None
    return _text(body, name, limit)


def check_count(existing: int, *, limit: int) -> None:
    """Refuse a new automation past the organization's limit (spec §3.8).

    Raises:
        InvalidAutomation: ``Automations limit reached``.
    """
    if existing >= limit:
        raise InvalidAutomation("Automations limit reached")
