"""The datastream automation setting (automations.md §3.2): parsing, its rules, and how it
decides which operators and actions a datastream allows."""

from typing import Any

import pytest

from pinbase.domain.automation_rules import check_condition, check_value, operators_for
from pinbase.domain.automations import (
    ALWAYS_OPERATORS,
    NUMERIC_OPERATORS,
    STRING_OPERATORS,
    SWITCH_OPERATORS,
    ControlDevice,
    DeviceState,
    InvalidAutomation,
    Operator,
)
from pinbase.domain.datastream_automation import (
    AutomationSetting,
    AutomationType,
    parse_automation_setting,
)
from pinbase.domain.datastreams import Datastream, DataType
from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.ids import DatastreamId
from pinbase.domain.pins import parse_pin
from pinbase.domain.templates import check_children


def stream(kind: DataType, setting: AutomationSetting | None = None, number: int = 1) -> Datastream:
    """A datastream V<number> of ``kind`` with ``setting``."""
    return Datastream(
        id=DatastreamId(number),
        label=f"V{number}",
        pin=parse_pin(f"V{number}"),
        type=kind,
        automation=setting,
    )


def test_the_setting_round_trips() -> None:
    """The §3.2 JSON reads back as written; defaults are condition yes, action no."""
    data = {"type": "RANGE", "step": 0.5, "asCondition": False, "asAction": True}
    setting = parse_automation_setting(data)
    assert setting is not None
    assert setting.to_json() == data
    plain = parse_automation_setting({"type": "SWITCH"})
    assert plain == AutomationSetting(type=AutomationType.SWITCH)
    assert plain is not None
    assert plain.to_json() == {"type": "SWITCH", "asCondition": True, "asAction": False}
    assert parse_automation_setting(None) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a JSON object"),
        ({"type": "DIMMER"}, "automation.type must be one of"),
        ({"type": "RANGE", "step": "1"}, "step must be a number"),
        ({"type": "RANGE", "step": True}, "step must be a number"),
        ({"type": "RANGE", "step": 0}, "positive number"),
        ({"type": "RANGE", "step": 10**400}, "too large"),
        ({"type": "SWITCH", "asAction": 1}, "asAction must be true or false"),
        ({"type": "SENSOR", "asAction": True}, "SENSOR datastream cannot be an automation action"),
    ],
)
def test_bad_settings_are_refused(data: Any, message: str) -> None:
    """Each wrong field is named."""
    with pytest.raises(InvalidDefinition, match=message):
        parse_automation_setting(data)


def test_template_rules() -> None:
    """A location is only a SENSOR; a template has at most one POWER_SWITCH."""
    with pytest.raises(InvalidDefinition, match="LOCATION"):
        stream(DataType.LOCATION, AutomationSetting(type=AutomationType.SWITCH))
    stream(DataType.LOCATION, AutomationSetting(type=AutomationType.SENSOR))
    power = AutomationSetting(type=AutomationType.POWER_SWITCH, as_action=True)
    check_children([stream(DataType.INT, power)], [])
    with pytest.raises(InvalidDefinition, match="at most one POWER_SWITCH"):
        check_children([stream(DataType.INT, power), stream(DataType.INT, power, 2)], [])


@pytest.mark.parametrize(
    ("kind", "automation_type", "expected"),
    [
        (DataType.INT, AutomationType.SWITCH, ALWAYS_OPERATORS | SWITCH_OPERATORS),
        (DataType.INT, AutomationType.POWER_SWITCH, ALWAYS_OPERATORS | SWITCH_OPERATORS),
        (DataType.INT, AutomationType.RANGE, ALWAYS_OPERATORS | NUMERIC_OPERATORS),
        (DataType.STRING, AutomationType.COLOR, ALWAYS_OPERATORS | STRING_OPERATORS),
        (DataType.ENUM, AutomationType.ENUM, ALWAYS_OPERATORS | {Operator.EQ, Operator.NEQ}),
        (DataType.DOUBLE, AutomationType.SENSOR, ALWAYS_OPERATORS | NUMERIC_OPERATORS),
        (DataType.STRING, AutomationType.SENSOR, ALWAYS_OPERATORS | STRING_OPERATORS),
        (DataType.LOCATION, AutomationType.SENSOR, ALWAYS_OPERATORS),
        (DataType.BOOL, None, ALWAYS_OPERATORS | SWITCH_OPERATORS | NUMERIC_OPERATORS),
    ],
)
def test_operators_follow_the_automation_type(
    kind: DataType, automation_type: AutomationType | None, expected: frozenset[Operator]
) -> None:
    """The §3.4 table: the automation type decides, else the data type."""
    setting = None if automation_type is None else AutomationSetting(type=automation_type)
    assert operators_for(stream(kind, setting)) == expected


def test_condition_and_action_switches_are_enforced() -> None:
    """A datastream is a condition only with asCondition, an action only with asAction."""
    rule = DeviceState(device_id=1, datastream_id=1, operator=Operator.IS_ANY)
    hidden = AutomationSetting(type=AutomationType.SWITCH, as_condition=False)
    with pytest.raises(InvalidAutomation, match="not an automation condition"):
        check_condition(rule, stream(DataType.INT, hidden))
    action = ControlDevice(device_id=1, datastream_id=1, value="1")
    with pytest.raises(InvalidAutomation, match="not an automation action"):
        check_value(action, stream(DataType.INT, AutomationSetting(type=AutomationType.SWITCH)))
    switch = AutomationSetting(type=AutomationType.SWITCH, as_action=True)
    assert check_value(action, stream(DataType.INT, switch)) == 1
