"""The automation JSON model of automations.md §3.1 (parse, render, limits) and the message
placeholders of §3.6."""

from typing import Any

import pytest

from pinbase.domain.automation_text import PlaceholderValues, expand
from pinbase.domain.automations import (
    Automation,
    InvalidAutomation,
    automation_json,
    check_count,
    parse_automation,
    referenced_datastreams,
    referenced_devices,
    referenced_segments,
    spec_json,
    stored_segments,
)

SPEC_EXAMPLE: dict[str, Any] = {
    "id": 2,
    "name": "Hot room",
    "cover": "#E57373",
    "ownerId": 1133,
    "orgId": 5,
    "isActive": True,
    "limitPeriodSec": 3600,
    "condition": {
        "kind": "DEVICE_STATE",
        "deviceId": 7,
        "dataStreamId": 3,
        "operator": "GT",
        "operand": "40",
    },
    "actions": [
        {
            "kind": "SEND_EMAIL",
            "recipients": [{"userId": 12}],
            "subject": "{DEVICE_NAME} is hot",
            "body": "{TRIGGER_VALUE} in {ORG_NAME}",
        },
        {"kind": "WAIT", "seconds": 120},
        {"kind": "CONTROL_DEVICE", "deviceId": 7, "dataStreamId": 5, "value": "1"},
    ],
    "lastExecutedAt": 1717000000000,
    "createdAt": 1716000000000,
}


def test_the_spec_example_round_trips() -> None:
    """The §3.1 example parses and renders back to the same JSON."""
    spec = parse_automation(SPEC_EXAMPLE, max_actions=50)
    automation = Automation(
        id=2,
        org_id=5,
        owner_id=1133,
        spec=spec,
        created_at=1716000000000,
        last_executed_at=1717000000000,
    )
    assert automation_json(automation) == SPEC_EXAMPLE
    assert referenced_devices(spec) == {7}
    assert referenced_datastreams(spec) == {(7, 3), (7, 5)}


CONDITIONS: list[dict[str, Any]] = [
    {
        "kind": "SCHEDULE",
        "time": "18:30",
        "tz": "Europe/Berlin",
        "repeat": {"type": "ONCE", "date": "2026-08-01"},
    },
    {"kind": "SCHEDULE", "time": "00:00", "tz": "UTC", "repeat": {"type": "DAILY"}},
    {
        "kind": "SCHEDULE",
        "time": "07:05",
        "tz": "UTC",
        "repeat": {"type": "WEEKLY", "days": ["MON", "FRI"]},
    },
    {
        "kind": "SCHEDULE",
        "time": "23:59",
        "tz": "UTC",
        "repeat": {"type": "MONTHLY", "dates": [1, 15]},
    },
    {
        "kind": "SUN",
        "event": "SUNRISE",
        "offsetMin": -15,
        "days": ["SAT"],
        "lat": 52.52,
        "lon": 13.4,
        "tz": "Europe/Berlin",
    },
    {
        "kind": "DEVICE_STATE",
        "deviceId": 1,
        "dataStreamId": 2,
        "operator": "BETWEEN",
        "operand": "1",
        "operand2": "5",
    },
    {"kind": "DEVICE_STATE", "deviceId": 1, "dataStreamId": 2, "operator": "IS_ANY"},
    {"kind": "SCENE"},
]

ACTIONS: list[dict[str, Any]] = [
    {"kind": "SEND_NOTIFICATION", "recipients": [{"userId": 3}], "subject": "", "body": "hi"},
    {
        "kind": "SEND_EMAIL",
        "recipients": [{"email": "ops@example.com"}],
        "subject": "s",
        "body": "b",
    },
    {"kind": "WAIT", "time": "06:00", "tz": "Europe/Berlin"},
    {"kind": "LOG_EVENT", "eventCode": "hot", "deviceId": 4, "description": "too hot"},
    {"kind": "LOG_EVENT", "eventCode": "hot"},
]


@pytest.mark.parametrize("condition", CONDITIONS)
def test_every_condition_kind_round_trips(condition: dict[str, Any]) -> None:
    """Each condition kind reads and renders back unchanged."""
    body = {"name": "x", "condition": condition, "actions": ACTIONS}
    spec = parse_automation(body, max_actions=50)
    again = spec_json(spec)
    assert again["condition"] == condition
    assert again["actions"] == ACTIONS
    assert 4 in referenced_devices(spec)
    assert referenced_datastreams(spec) <= {(1, 2)}


def test_forward_and_legacy_round_trip() -> None:
    """FORWARD_DEVICE_DATA with a Device State condition, and the legacy flag, render back."""
    body = {
        "name": "f",
        "legacy": True,
        "condition": CONDITIONS[5],
        "actions": [{"kind": "FORWARD_DEVICE_DATA", "deviceId": 9, "dataStreamId": 1}],
    }
    spec = parse_automation(body, max_actions=50)
    assert spec_json(spec)["legacy"] is True
    assert spec_json(spec)["actions"] == body["actions"]
    assert automation_json(Automation(id=1, org_id=1, owner_id=None, spec=spec, created_at=0))[
        "legacy"
    ]
    assert referenced_devices(spec) == {1, 9}


def test_control_segment_round_trips_and_names_its_segment() -> None:
    """A Control Segment action reads back as written (numbers as text) and its segment is
    among the ones the automation references."""
    body = segment([{"dataStream": "Power", "value": 1}, {"dataStream": "Mode", "value": "eco"}])
    spec = parse_automation(body, max_actions=5)
    assert spec_json(spec)["actions"] == [
        {
            "kind": "CONTROL_SEGMENT",
            "segmentId": 1,
            "properties": [
                {"dataStream": "Power", "value": "1"},
                {"dataStream": "Mode", "value": "eco"},
            ],
        }
    ]
    assert referenced_segments(spec) == frozenset({1})
    assert stored_segments(spec_json(spec)) == frozenset({1})
    assert stored_segments({"name": "no actions"}) == frozenset()


def test_numbers_are_accepted_as_values_and_operands() -> None:
    """A numeric CONTROL_DEVICE value or operand is kept as its text."""
    body = {
        "name": "n",
        "condition": {
            "kind": "DEVICE_STATE",
            "deviceId": 1,
            "dataStreamId": 2,
            "operator": "GT",
            "operand": 30.0,
        },
        "actions": [{"kind": "CONTROL_DEVICE", "deviceId": 1, "dataStreamId": 3, "value": 1.5}],
    }
    rendered = spec_json(parse_automation(body, max_actions=5))
    assert rendered["condition"]["operand"] == "30"
    assert rendered["actions"][0]["value"] == "1.5"


def bad(**changes: Any) -> dict[str, Any]:
    """A valid Scene automation with ``changes`` applied (None removes a key)."""
    body: dict[str, Any] = {
        "name": "s",
        "condition": {"kind": "SCENE"},
        "actions": [{"kind": "WAIT", "seconds": 1}],
    }
    for key, value in changes.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    return body


def segment(properties: object) -> dict[str, Any]:
    """A valid Scene automation whose one action is Control Segment with ``properties``."""
    action: dict[str, Any] = {"kind": "CONTROL_SEGMENT", "segmentId": 1}
    if properties is not None:
        action["properties"] = properties
    return bad(actions=[action])


def state(**fields: Any) -> dict[str, Any]:
    """A Device State condition with ``fields`` merged in."""
    return {
        "kind": "DEVICE_STATE",
        "deviceId": 1,
        "dataStreamId": 2,
        "operator": "IS_ANY",
        **fields,
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "automation must be a JSON object"),
        (bad(name="  "), "name must not be empty"),
        (bad(name=5), "name must be a string"),
        (bad(name="x" * 101), "longer than 100"),
        (bad(name="a\0"), "NUL"),
        (bad(isActive="yes"), "isActive"),
        (bad(legacy=1), "legacy"),
        (bad(limitPeriodSec=-1), "limitPeriodSec must be an integer"),
        (bad(limitPeriodSec=60), "needs a DEVICE_STATE"),
        (bad(condition=None), "condition must be a JSON object"),
        (bad(condition={"kind": "RAIN"}), "condition kind"),
        (bad(actions=[]), "non-empty list"),
        (bad(actions=[{"kind": "WAIT", "seconds": 1}] * 6), "Actions limit reached"),
        (bad(actions=[{"kind": "DANCE"}]), "action kind"),
        (
            bad(actions=[{"kind": "WAIT", "seconds": 0}]),
            "seconds must be an integer from 1 to 86400",
        ),
        (bad(actions=[{"kind": "WAIT", "seconds": 86401}]), "seconds"),
        (bad(actions=[{"kind": "WAIT", "time": "24:00", "tz": "UTC"}]), "time must be HH:MM"),
        (bad(actions=[{"kind": "WAIT", "time": "12:00", "tz": "Mars/Base"}]), "unknown time zone"),
        (bad(actions=[{"kind": "WAIT", "time": "12:00", "tz": ""}]), "IANA"),
        (bad(actions=[{"kind": "WAIT", "time": "12:00", "tz": "../etc"}]), "unknown time zone"),
        (
            bad(actions=[{"kind": "FORWARD_DEVICE_DATA", "deviceId": 1, "dataStreamId": 1}]),
            "needs a DEVICE_STATE",
        ),
        (
            bad(
                actions=[
                    {"kind": "CONTROL_DEVICE", "deviceId": 1, "dataStreamId": 1, "value": True}
                ]
            ),
            "value must be",
        ),
        (
            bad(
                actions=[
                    {"kind": "CONTROL_DEVICE", "deviceId": 1, "dataStreamId": 1, "value": "\0"}
                ]
            ),
            "NUL",
        ),
        (
            bad(
                actions=[
                    {
                        "kind": "CONTROL_DEVICE",
                        "deviceId": 1,
                        "dataStreamId": 1,
                        "value": float("nan"),
                    }
                ]
            ),
            "finite",
        ),
        (
            bad(
                actions=[{"kind": "CONTROL_DEVICE", "deviceId": 0, "dataStreamId": 1, "value": "1"}]
            ),
            "deviceId",
        ),
        (
            bad(actions=[{"kind": "SEND_EMAIL", "recipients": [], "body": "b"}]),
            "recipients must be",
        ),
        (
            bad(actions=[{"kind": "SEND_EMAIL", "recipients": [{"userId": 1}] * 51, "body": "b"}]),
            "at most 50",
        ),
        (
            bad(actions=[{"kind": "SEND_EMAIL", "recipients": [{"email": "a b@c"}], "body": "b"}]),
            "not an address",
        ),
        (
            bad(
                actions=[
                    {"kind": "SEND_NOTIFICATION", "recipients": [{"email": "a@c"}], "body": "b"}
                ]
            ),
            "needs userId$",
        ),
        (bad(actions=[{"kind": "SEND_EMAIL", "recipients": [{}], "body": "b"}]), "userId or email"),
        (bad(actions=[{"kind": "LOG_EVENT", "eventCode": ""}]), "eventCode must not be empty"),
        (
            bad(
                condition={
                    "kind": "SCHEDULE",
                    "time": "1:00",
                    "tz": "UTC",
                    "repeat": {"type": "DAILY"},
                }
            ),
            "HH:MM",
        ),
        (
            bad(
                condition={
                    "kind": "SCHEDULE",
                    "time": "01:00",
                    "tz": "UTC",
                    "repeat": {"type": "ONCE", "date": "2026-02-30"},
                }
            ),
            "repeat.date",
        ),
        (
            bad(
                condition={
                    "kind": "SCHEDULE",
                    "time": "01:00",
                    "tz": "UTC",
                    "repeat": {"type": "ONCE"},
                }
            ),
            "repeat.date",
        ),
        (
            bad(
                condition={
                    "kind": "SCHEDULE",
                    "time": "01:00",
                    "tz": "UTC",
                    "repeat": {"type": "WEEKLY", "days": []},
                }
            ),
            "days must not be empty",
        ),
        (
            bad(
                condition={
                    "kind": "SCHEDULE",
                    "time": "01:00",
                    "tz": "UTC",
                    "repeat": {"type": "WEEKLY", "days": ["MO"]},
                }
            ),
            "days must be a list",
        ),
        (
            bad(
                condition={
                    "kind": "SCHEDULE",
                    "time": "01:00",
                    "tz": "UTC",
                    "repeat": {"type": "MONTHLY", "dates": [32]},
                }
            ),
            "1..31",
        ),
        (
            bad(
                condition={
                    "kind": "SCHEDULE",
                    "time": "01:00",
                    "tz": "UTC",
                    "repeat": {"type": "HOURLY"},
                }
            ),
            "repeat.type",
        ),
        (bad(condition={"kind": "SUN", "event": "NOON"}), "SUNRISE or SUNSET"),
        (bad(condition={"kind": "SUN", "event": "SUNSET", "offsetMin": 400}), "offsetMin"),
        (
            bad(condition={"kind": "SUN", "event": "SUNSET", "lat": "52", "lon": 1, "tz": "UTC"}),
            "lat must be a number",
        ),
        (
            bad(condition={"kind": "SUN", "event": "SUNSET", "lat": 91, "lon": 1, "tz": "UTC"}),
            "lat must be within",
        ),
        (bad(condition={"kind": "SUN", "event": "SUNSET", "lat": 10**400, "lon": 1}), "lat must"),
        (
            bad(
                actions=[
                    {"kind": "CONTROL_DEVICE", "deviceId": 1, "dataStreamId": 1, "value": 10**5000}
                ]
            ),
            "64 bits",
        ),
        (bad(condition=state(operator="ABOUT")), "operator is not one of"),
        (bad(condition=state(operator="GT")), "needs an operand"),
        (bad(condition=state(operator="BETWEEN", operand="1")), "needs operand2"),
        (bad(condition=state(operand=[1])), "operand must be a string or a number"),
        (bad(condition=state(operand="x" * 256)), "operand is too long"),
        (segment(None), "properties must be a non-empty list"),
        (segment([]), "properties must be a non-empty list"),
        (segment([{"dataStream": f"d{n}", "value": 1} for n in range(21)]), "at most 20"),
        (segment(["Power"]), "property"),
        (segment([{"dataStream": "  ", "value": 1}]), "dataStream must name a datastream"),
        (segment([{"dataStream": "Power", "value": True}]), "value must be a string"),
        (segment([{"dataStream": "Power", "value": [1]}]), "value must be a string"),
        (segment([{"dataStream": "Power", "value": "a\0b"}]), "holds NUL"),
        (segment([{"dataStream": "Power", "value": "x" * 5000}]), "too long"),
        (
            segment([{"dataStream": "Power", "value": 1}, {"dataStream": "POWER", "value": 0}]),
            "named twice",
        ),
    ],
)
def test_invalid_automations_are_refused_with_the_field_named(body: object, message: str) -> None:
    """Each wrong field is refused with a message naming it."""
    with pytest.raises(InvalidAutomation, match=message):
        parse_automation(body, max_actions=5)


def test_the_automations_limit() -> None:
    """A 51st automation of an organization is refused with the spec's message."""
    check_count(49, limit=50)
    with pytest.raises(InvalidAutomation, match=r"^Automations limit reached$"):
        check_count(50, limit=50)


def test_placeholders_expand_empty_or_literal() -> None:
    """Known placeholders expand (unavailable ones to empty); unknown ones stay literal."""
    values = PlaceholderValues(org_name="Acme", device_name="Boiler", trigger_value="41.5")
    text = "{DEVICE_NAME} of {ORG_NAME} ({PRODUCT_NAME}) at {TRIGGER_VALUE} {UNKNOWN} /pin/"
    assert expand(text, values) == "Boiler of Acme () at 41.5 {UNKNOWN} /pin/"


def test_legacy_pin_placeholder_only_for_legacy_automations() -> None:
    """``/pin/`` is the trigger value in a legacy automation; a device name's own is kept."""
    values = PlaceholderValues(device_name="a/pin/b", trigger_value="7")
    assert expand("/pin/ on {DEVICE_NAME}", values, legacy=True) == "7 on a/pin/b"
    assert expand("/pin/", PlaceholderValues(), legacy=True) == ""
