"""Device State firing rules (automations.md §3.4) and the checks made when one is saved.

``evaluate`` is the whole state machine of one rule over one observed write: it answers whether
the rule fires and whether it stays armed. ``IS_ON``/``IS_OFF`` and the comparison operators are
edge-triggered: they fire when the condition turns true while armed, and re-arm when an observed
write makes it false. ``HAS_CHANGED`` compares with the value stored before the write; ``IS_ANY``
fires on every observed write. Automation writes are never observed (the engine drops them), so
an automation's own reset does not re-arm it.
"""

import math
from typing import NamedTuple

from pinbase.domain.automations import (
    ALWAYS_OPERATORS,
    NUMERIC_OPERATORS,
    STRING_OPERATORS,
    SWITCH_OPERATORS,
    ControlDevice,
    DeviceState,
    InvalidAutomation,
    Operator,
    SegmentProperty,
)
from pinbase.domain.datastream_automation import AutomationType
from pinbase.domain.datastreams import Datastream, DataType
from pinbase.domain.errors import ValueMismatch
from pinbase.domain.templates import Template
from pinbase.domain.value_types import Value
from pinbase.domain.values import parse_text, read_text


class Verdict(NamedTuple):
    """What one observed write does to a rule: fire it, and whether it is armed afterwards."""

    fires: bool
    armed: bool


def is_on(value: Value) -> bool:
    """Off is 0, on is any non-zero value (OP-A14); a text is on when it reads as non-zero."""
    if isinstance(value, tuple):
        return True
    if isinstance(value, str):
        number = _number(value)
        return number is not None and number != 0
    return value != 0


def holds(rule: DeviceState, value: Value) -> bool:
    """Whether the level condition of an edge-triggered rule is true for ``value``."""
    operator = rule.operator
    if operator is Operator.IS_ON:
        return is_on(value)
    if operator is Operator.IS_OFF:
        return not is_on(value)
    if operator in STRING_OPERATORS:
        text = value if isinstance(value, str) else read_text_plain(value)
        return (text == rule.operand) == (operator is Operator.STR_EQUAL)
    number = _value_number(value)
    low = _number(rule.operand)
    if number is None or low is None:
        return False
    if operator in (Operator.BETWEEN, Operator.NOT_BETWEEN):
        high = _number(rule.operand2)
        if high is None:
            return False
        inside = min(low, high) < number < max(low, high)
        return inside == (operator is Operator.BETWEEN)
    return {
        Operator.GT: number > low,
        Operator.GTE: number >= low,
        Operator.LT: number < low,
        Operator.LTE: number <= low,
        Operator.EQ: number == low,
        Operator.NEQ: number != low,
    }[operator]


def evaluate(rule: DeviceState, *, value: Value, previous: Value | None, armed: bool) -> Verdict:
    """Apply one observed write of ``value`` (``previous`` was stored before it, None if none)."""
    if rule.operator is Operator.IS_ANY:
        return Verdict(fires=True, armed=True)
    if rule.operator is Operator.HAS_CHANGED:
        return Verdict(fires=previous is None or previous != value, armed=True)
    if holds(rule, value):
        return Verdict(fires=armed, armed=False)
    return Verdict(fires=False, armed=True)


def operators_for(datastream: Datastream) -> frozenset[Operator]:
    """The operators a Device State condition on ``datastream`` may use (spec §3.4's table):
    by its automation type when it has the §3.2 setting, else by its data type."""
    kind = datastream.type
    setting = datastream.automation
    by_type = setting.type if setting is not None else None
    if by_type in (AutomationType.POWER_SWITCH, AutomationType.SWITCH):
        return ALWAYS_OPERATORS | SWITCH_OPERATORS
    if by_type is AutomationType.RANGE:
        return ALWAYS_OPERATORS | NUMERIC_OPERATORS
    if by_type is AutomationType.COLOR:
        return ALWAYS_OPERATORS | STRING_OPERATORS
    if kind is DataType.ENUM or by_type is AutomationType.ENUM:
        return ALWAYS_OPERATORS | {Operator.EQ, Operator.NEQ}
    if kind in (DataType.INT, DataType.DOUBLE, DataType.BOOL):
        if by_type is AutomationType.SENSOR:
            return ALWAYS_OPERATORS | NUMERIC_OPERATORS
        return ALWAYS_OPERATORS | SWITCH_OPERATORS | NUMERIC_OPERATORS
    if kind is DataType.STRING:
        return ALWAYS_OPERATORS | STRING_OPERATORS
    return ALWAYS_OPERATORS


def check_condition(rule: DeviceState, datastream: Datastream) -> None:
    """Refuse a datastream not enabled as a condition, and an operator or operand that does not
    fit it (spec §3.4 table).

    Raises:
        InvalidAutomation: the message names the operator or the operand.
    """
    kind = datastream.type
    if datastream.automation is not None and not datastream.automation.as_condition:
        raise InvalidAutomation(f"datastream {datastream.id} is not an automation condition")
    if rule.operator not in operators_for(datastream):
        raise InvalidAutomation(
            f"operator {rule.operator} does not apply to a {kind.value} datastream"
        )
    if rule.operator in NUMERIC_OPERATORS:
        for name, operand in (("operand", rule.operand), ("operand2", rule.operand2)):
            if operand is not None and _number(operand) is None:
                raise InvalidAutomation(f"{name} must be a number")
        if kind is DataType.ENUM and not any(
            option.value == _number(rule.operand) for option in datastream.enum_options
        ):
            raise InvalidAutomation("operand must be a key of the enum")


def check_action_target(datastream: Datastream) -> None:
    """Refuse a datastream that is not enabled as an automation action (§3.2).

    Raises:
        InvalidAutomation.
    """
    if datastream.automation is not None and not datastream.automation.as_action:
        raise InvalidAutomation(f"datastream {datastream.id} is not an automation action")


def check_value(action: ControlDevice | SegmentProperty, datastream: Datastream) -> Value:
    """The typed value a Control Device action (or a Control Segment property) writes (type,
    min/max and enum applied).

    Raises:
        InvalidAutomation: the value does not parse as the datastream's type.
    """
    check_action_target(datastream)
    if datastream.type is DataType.LOCATION:
        raise InvalidAutomation("a location datastream cannot be an action")
    try:
        return parse_text(datastream, [action.value])
    except ValueMismatch as error:
        raise InvalidAutomation(f"value does not fit the datastream: {error}") from None


def named_datastreams(template: Template, name: str) -> list[Datastream]:
    """The template's datastreams a Control Segment property ``name`` stands for: those whose
    label is ``name``, ignoring case (§3.2: properties by name, merged across templates)."""
    wanted = name.casefold()
    return [ds for ds in template.datastreams if ds.label.casefold() == wanted]


def forward_value(value: Value, datastream: Datastream) -> Value:
    """The trigger value converted for a Forward Device Data target: integer, double and string
    only (spec §3.5).

    Raises:
        ValueMismatch: the target is of another type, or the value does not parse as it.
    """
    if datastream.type not in (DataType.INT, DataType.DOUBLE, DataType.STRING):
        raise ValueMismatch(f"cannot forward to a {datastream.type.value} datastream")
    return parse_text(datastream, [read_text_plain(value)])


def read_text_plain(value: Value) -> str:
    """A value as text without a datastream's display rules (a location as ``lon,lat``)."""
    if isinstance(value, tuple):
        return f"{value[0]!r},{value[1]!r}"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def trigger_text(datastream: Datastream, value: Value) -> str:
    """``{TRIGGER_VALUE}``: the datastream's decimals, an enum's label (spec §3.6)."""
    if datastream.type is DataType.ENUM:
        for option in datastream.enum_options:
            if option.value == value:
                return option.label
    if datastream.type is DataType.LOCATION:
        return read_text_plain(value)
    return read_text(datastream, value)


def _value_number(value: Value) -> float | None:
    if isinstance(value, tuple):
        return None
    if isinstance(value, str):
        return _number(value)
    return float(value)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def within_limit_period(limit_period_s: int, *, last_fired_at: int | None, now: int) -> bool:
    """Whether a firing at ``now`` falls inside the Limit Period after the last run (then it
    is skipped and logged ``AUTOMATION_LIMIT_PERIOD``, spec §3.4)."""
    if not limit_period_s or last_fired_at is None:
        return False
    return now - last_fired_at < limit_period_s * 1000
