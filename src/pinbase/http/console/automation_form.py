"""The automation editor's form (automations.md §3, issue #10 item 2): what the page shows and
what a posted form holds, and the spec §3.1 JSON the ``Automations`` use cases take.

The form is plain HTML: one field per setting, the "When" condition as four fieldsets of which
the chosen kind counts, and one fieldset per "Do this" action named ``action-<n>-<field>``.
Adding, removing and moving an action are submit buttons (``op``) that show the form again with
the change, nothing saved, so the editor works without scripts. A form is kept as the text the
person typed (``FormState``): shown again as typed when the service refuses it.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from pinbase.domain.automations import MAX_WAIT_S, MESSAGE_KINDS, WEEKDAYS, InvalidAutomation

MAX_FORM_ACTIONS = 100
"""The most action fieldsets read from one form: past the setting's limit (50 by default), so
the service answers ``Actions limit reached`` rather than the form dropping rows silently."""

CONDITION_KINDS = (
    ("DEVICE_STATE", "Device State"),
    ("SCHEDULE", "Schedule"),
    ("SUN", "Sunrise/Sunset"),
    ("SCENE", "Scene"),
)
ACTION_KINDS = (
    ("CONTROL_DEVICE", "Control Device"),
    ("CONTROL_SEGMENT", "Control Segment"),
    ("FORWARD_DEVICE_DATA", "Forward Device Data"),
    ("SEND_EMAIL", "Send Email"),
    ("SEND_NOTIFICATION", "Send Notification"),
    ("SEND_SMS", "Send SMS"),
    ("WAIT", "Wait"),
    ("LOG_EVENT", "Log Event"),
)
ACTION_LABELS = dict(ACTION_KINDS)
OPERATORS = (
    ("IS_ON", "Is on"),
    ("IS_OFF", "Is off"),
    ("HAS_CHANGED", "Has changed"),
    ("IS_ANY", "Is any"),
    ("GT", "Greater than"),
    ("GTE", "Greater than or equal"),
    ("LT", "Less than"),
    ("LTE", "Less than or equal"),
    ("EQ", "Equal to"),
    ("NEQ", "Not equal to"),
    ("BETWEEN", "Between"),
    ("NOT_BETWEEN", "Not between"),
    ("STR_EQUAL", "Text is"),
    ("STR_NOT_EQUAL", "Text is not"),
)
OPERATOR_LABELS = dict(OPERATORS)
REPEATS = (("DAILY", "Every day"), ("WEEKLY", "Weekly"), ("MONTHLY", "Monthly"), ("ONCE", "Once"))
LIMIT_PERIODS = (
    (0, "No limit"),
    (60, "1 minute"),
    (300, "5 minutes"),
    (900, "15 minutes"),
    (1800, "30 minutes"),
    (3600, "1 hour"),
    (21600, "6 hours"),
    (43200, "12 hours"),
    (86400, "1 day"),
)
"""The Limit Period choices (spec §3.7, "No limit" first); a stored period not among them is
shown as an extra choice so that saving keeps it."""
COVERS = ("#E57373", "#64B5F6", "#81C784", "#FFB74D", "#BA68C8", "#4DB6AC", "#90A4AE")


@dataclass(slots=True, kw_only=True)
class FormState:
    """The editor's fields as text (and ticked boxes as lists), as shown or as posted."""

    fields: dict[str, str] = field(default_factory=dict)
    days: dict[str, list[str]] = field(default_factory=dict)
    """Ticked weekdays: ``repeat-days`` and ``sun-days``."""
    actions: list[dict[str, Any]] = field(default_factory=list)
    """One mapping per action: ``kind`` and its fields as text; ``users`` a list of ids."""

    def get(self, name: str, default: str = "") -> str:
        """A field's text."""
        return self.fields.get(name, default)


def blank_state(kind: str = "DEVICE_STATE") -> FormState:
    """A new automation: the chosen condition kind, Europe-neutral defaults, no action yet."""
    return FormState(
        fields={
            "kind": kind if kind in dict(CONDITION_KINDS) else "DEVICE_STATE",
            "cover": COVERS[0],
            "limit": "0",
            "schedule-time": "08:00",
            "schedule-tz": "UTC",
            "repeat": "DAILY",
            "sun-event": "SUNRISE",
            "sun-offset": "0",
            "sun-tz": "UTC",
            "operator": "IS_ON",
        }
    )


def state_of(automation: Mapping[str, Any]) -> FormState:
    """The form showing a saved automation (its spec §3.1 JSON)."""
    state = blank_state()
    fields = state.fields
    fields["name"] = str(automation.get("name") or "")
    fields["cover"] = str(automation.get("cover") or "")
    fields["limit"] = str(automation.get("limitPeriodSec") or 0)
    fields["active"] = "1" if automation.get("isActive", True) else ""
    condition: Mapping[str, Any] = automation.get("condition") or {}
    kind = str(condition.get("kind", "SCENE"))
    fields["kind"] = kind
    if kind == "SCHEDULE":
        repeat: Mapping[str, Any] = condition.get("repeat") or {}
        fields["schedule-time"] = str(condition.get("time", ""))
        fields["schedule-tz"] = str(condition.get("tz", ""))
        fields["repeat"] = str(repeat.get("type", "DAILY"))
        fields["repeat-date"] = str(repeat.get("date", ""))
        fields["repeat-dates"] = ", ".join(str(d) for d in repeat.get("dates", []))
        state.days["repeat-days"] = [str(d) for d in repeat.get("days", [])]
    elif kind == "SUN":
        fields["sun-event"] = str(condition.get("event", "SUNRISE"))
        fields["sun-offset"] = str(condition.get("offsetMin", 0))
        fields["sun-lat"] = str(condition.get("lat", ""))
        fields["sun-lon"] = str(condition.get("lon", ""))
        fields["sun-tz"] = str(condition.get("tz", ""))
        state.days["sun-days"] = [str(d) for d in condition.get("days", [])]
    elif kind == "DEVICE_STATE":
        fields["state-target"] = f"{condition.get('deviceId')}:{condition.get('dataStreamId')}"
        fields["operator"] = str(condition.get("operator", ""))
        fields["operand"] = str(condition.get("operand") or "")
        fields["operand2"] = str(condition.get("operand2") or "")
    state.actions = [_action_state(action) for action in automation.get("actions", [])]
    return state


def _action_state(action: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(action.get("kind", ""))
    row: dict[str, Any] = {"kind": kind}
    if kind in ("CONTROL_DEVICE", "FORWARD_DEVICE_DATA"):
        row["target"] = f"{action.get('deviceId')}:{action.get('dataStreamId')}"
        row["value"] = str(action.get("value", ""))
    elif kind == "CONTROL_SEGMENT":
        row["segment"] = str(action.get("segmentId") or "")
        row["properties"] = "\n".join(
            f"{p.get('dataStream', '')} = {p.get('value', '')}"
            for p in action.get("properties", [])
        )
    elif kind in MESSAGE_KINDS:
        recipients = action.get("recipients", [])
        row["users"] = [str(r["userId"]) for r in recipients if "userId" in r]
        row["emails"] = ", ".join(str(r["email"]) for r in recipients if "email" in r)
        row["subject"] = str(action.get("subject", ""))
        row["body"] = str(action.get("body", ""))
    elif kind == "WAIT":
        if "seconds" in action:
            row.update(mode="TIMER", seconds=str(action["seconds"]))
        else:
            row.update(mode="TIME", time=str(action.get("time", "")), tz=str(action.get("tz", "")))
    elif kind == "LOG_EVENT":
        row["device"] = str(action.get("deviceId") or "")
        row["event"] = str(action.get("eventCode", ""))
        row["description"] = str(action.get("description") or "")
    return row


def posted_state(form: FormData) -> FormState:
    """The form as posted: every field as text, whatever it holds (checked on save)."""
    fields = {
        name: value.strip()
        for name, value in form.multi_items()
        if isinstance(value, str) and not name.startswith("action-")
    }
    days = {
        name: [d for d in form.getlist(name) if isinstance(d, str) and d in WEEKDAYS]
        for name in ("repeat-days", "sun-days")
    }
    actions = []
    for index in range(MAX_FORM_ACTIONS + 1):
        prefix = f"action-{index}-"
        kind = form.get(prefix + "kind")
        if not isinstance(kind, str):
            break
        row: dict[str, Any] = {"kind": kind}
        for name, value in form.multi_items():
            if name.startswith(prefix) and isinstance(value, str) and name != prefix + "users":
                row[name.removeprefix(prefix)] = value.strip()
        row["users"] = [u for u in form.getlist(prefix + "users") if isinstance(u, str)]
        actions.append(row)
    return FormState(fields=fields, days=days, actions=actions)


def apply_op(state: FormState, op: str) -> None:
    """Add (``add``, the kind in ``new-action``), remove (``remove-<n>``) or move
    (``up-<n>``, ``down-<n>``) an action; an op naming no action changes nothing."""
    if op == "add":
        kind = state.get("new-action")
        if kind in ACTION_LABELS and len(state.actions) < MAX_FORM_ACTIONS:
            state.actions.append(_new_action(kind))
        return
    verb, _, number = op.partition("-")
    if not number.isdecimal() or int(number) >= len(state.actions):
        return
    index = int(number)
    if verb == "remove":
        del state.actions[index]
    elif verb == "up" and index > 0:
        state.actions[index - 1 : index + 1] = [state.actions[index], state.actions[index - 1]]
    elif verb == "down" and index + 1 < len(state.actions):
        state.actions[index : index + 2] = [state.actions[index + 1], state.actions[index]]


def _new_action(kind: str) -> dict[str, Any]:
    if kind == "WAIT":
        return {"kind": kind, "mode": "TIMER", "seconds": "60", "tz": "UTC"}
    return {"kind": kind, "users": []}


def automation_data(state: FormState, *, is_active: bool) -> dict[str, Any]:
    """The spec §3.1 JSON of a posted form, for ``Automations.create`` / ``update``.

    Raises:
        InvalidAutomation: a field the form itself types (a number, a device and datastream
            choice) holds something else; the message names the field as the page labels it.
    """
    kind = state.get("kind")
    data: dict[str, Any] = {
        "name": state.get("name"),
        "cover": state.get("cover") or None,
        "isActive": is_active,
        "limitPeriodSec": _number(state.get("limit", "0") or "0", "Limit period")
        if kind == "DEVICE_STATE"
        else 0,
        "condition": _condition(state, kind),
        "actions": [_action(row, index) for index, row in enumerate(state.actions)],
    }
    return data


def _condition(state: FormState, kind: str) -> dict[str, Any]:
    if kind == "SCHEDULE":
        repeat: dict[str, Any] = {"type": state.get("repeat")}
        if repeat["type"] == "ONCE":
            repeat["date"] = state.get("repeat-date")
        elif repeat["type"] == "WEEKLY":
            repeat["days"] = state.days.get("repeat-days", [])
        elif repeat["type"] == "MONTHLY":
            repeat["dates"] = [
                _number(part, "Days of the month")
                for part in state.get("repeat-dates").replace(",", " ").split()
            ]
        return {
            "kind": "SCHEDULE",
            "time": state.get("schedule-time"),
            "tz": state.get("schedule-tz"),
            "repeat": repeat,
        }
    if kind == "SUN":
        return {
            "kind": "SUN",
            "event": state.get("sun-event"),
            "offsetMin": _number(state.get("sun-offset") or "0", "Offset"),
            "days": state.days.get("sun-days", []),
            "lat": _decimal(state.get("sun-lat"), "Latitude"),
            "lon": _decimal(state.get("sun-lon"), "Longitude"),
            "tz": state.get("sun-tz"),
        }
    if kind == "DEVICE_STATE":
        device_id, datastream_id = _target(state.get("state-target"), "Device and datastream")
        condition: dict[str, Any] = {
            "kind": "DEVICE_STATE",
            "deviceId": device_id,
            "dataStreamId": datastream_id,
            "operator": state.get("operator"),
        }
        if state.get("operand"):
            condition["operand"] = state.get("operand")
        if state.get("operand2"):
            condition["operand2"] = state.get("operand2")
        return condition
    if kind == "SCENE":
        return {"kind": "SCENE"}
    raise InvalidAutomation("Choose what starts the automation (When).")


def _action(row: Mapping[str, Any], index: int) -> dict[str, Any]:
    kind = str(row.get("kind", ""))
    where = f"Action {index + 1}"
    if kind in ("CONTROL_DEVICE", "FORWARD_DEVICE_DATA"):
        device_id, datastream_id = _target(str(row.get("target", "")), f"{where}: datastream")
        action: dict[str, Any] = {
            "kind": kind,
            "deviceId": device_id,
            "dataStreamId": datastream_id,
        }
        if kind == "CONTROL_DEVICE":
            action["value"] = str(row.get("value", ""))
        return action
    if kind == "CONTROL_SEGMENT":
        return {
            "kind": kind,
            "segmentId": _number(str(row.get("segment", "")), f"{where}: segment"),
            "properties": _properties(str(row.get("properties", "")), where),
        }
    if kind in MESSAGE_KINDS:
        recipients: list[dict[str, Any]] = [
            {"userId": _number(user, f"{where}: recipient")} for user in row.get("users", [])
        ]
        if kind == "SEND_EMAIL":
            addresses = str(row.get("emails", "")).replace(",", " ").split()
            recipients += [{"email": address} for address in addresses]
        return {
            "kind": kind,
            "recipients": recipients,
            "subject": str(row.get("subject", "")),
            "body": str(row.get("body", "")),
        }
    if kind == "WAIT":
        if row.get("mode") == "TIME":
            return {"kind": "WAIT", "time": str(row.get("time", "")), "tz": str(row.get("tz", ""))}
        seconds = _number(str(row.get("seconds", "")), f"{where}: seconds")
        if not 1 <= seconds <= MAX_WAIT_S:
            raise InvalidAutomation(f"{where}: wait 1 to {MAX_WAIT_S} seconds.")
        return {"kind": "WAIT", "seconds": seconds}
    if kind == "LOG_EVENT":
        action = {"kind": "LOG_EVENT", "eventCode": str(row.get("event", ""))}
        if row.get("device"):
            action["deviceId"] = _number(str(row["device"]), f"{where}: device")
        if row.get("description"):
            action["description"] = str(row["description"])
        return action
    raise InvalidAutomation(f"{where}: choose one of " + ", ".join(ACTION_LABELS.values()))


def _properties(text: str, where: str) -> list[dict[str, str]]:
    """Control Segment's properties typed one per line as ``Datastream = value``."""
    found = []
    for line in text.splitlines():
        if not line.strip():
            continue
        name, equals, value = line.partition("=")
        if not equals or not name.strip():
            raise InvalidAutomation(f"{where}: write each property as Datastream = value.")
        found.append({"dataStream": name.strip(), "value": value.strip()})
    return found


def _number(text: str, label: str) -> int:
    digits = text.strip().removeprefix("-")
    if not digits.isdecimal() or len(digits) > 9:
        raise InvalidAutomation(f"{label} must be a whole number.")
    return int(text.strip())


def _decimal(text: str, label: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidAutomation(f"{label} must be a number.") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidAutomation(f"{label} must be a number.")
    return value


def _target(text: str, label: str) -> tuple[int, int]:
    device, _, datastream = text.partition(":")
    if not text:
        raise InvalidAutomation(f"Choose the {label.lower()}.")
    return _number(device, label), _number(datastream, label)


def condition_summary(condition: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """One line saying what starts an automation, as its card shows it."""
    kind = condition.get("kind")
    if kind == "SCHEDULE":
        repeat = condition.get("repeat", {})
        when = dict(REPEATS).get(repeat.get("type", ""), "")
        if repeat.get("type") == "WEEKLY":
            when = "Every " + ", ".join(repeat.get("days", []))
        elif repeat.get("type") == "MONTHLY":
            when = "Monthly on " + ", ".join(str(d) for d in repeat.get("dates", []))
        elif repeat.get("type") == "ONCE":
            when = f"On {repeat.get('date')}"
        return f"{when} at {condition.get('time')} ({condition.get('tz')})"
    if kind == "SUN":
        event = "Sunrise" if condition.get("event") == "SUNRISE" else "Sunset"
        offset = int(condition.get("offsetMin", 0))
        shift = f" {offset:+d} min" if offset else ""
        return f"{event}{shift} at {condition.get('lat')}, {condition.get('lon')}"
    if kind == "DEVICE_STATE":
        target = names.get(
            f"{condition.get('deviceId')}:{condition.get('dataStreamId')}", "a datastream"
        )
        operator = OPERATOR_LABELS.get(str(condition.get("operator")), "")
        operands = [str(condition[k]) for k in ("operand", "operand2") if k in condition]
        return " ".join([f"When {target}", operator.lower(), " and ".join(operands)]).strip()
    return "Scene: runs when executed"


def kinds_in(actions: Sequence[Mapping[str, Any]]) -> list[str]:
    """The action kinds' labels, in order."""
    return [ACTION_LABELS.get(str(a.get("kind")), str(a.get("kind"))) for a in actions]
