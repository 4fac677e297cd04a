"""Device State firing rules (automations.md §3.4): the spec's vectors, every operator, and the
save-time checks of operator and operand against the datastream's type."""

import pytest

from pinbase.domain.automation_rules import (
    check_condition,
    check_value,
    evaluate,
    forward_value,
    holds,
    is_on,
    read_text_plain,
    trigger_text,
    within_limit_period,
)
from pinbase.domain.automations import ControlDevice, DeviceState, InvalidAutomation, Operator
from pinbase.domain.datastreams import Datastream, DataType, EnumOption
from pinbase.domain.errors import ValueMismatch
from pinbase.domain.ids import DatastreamId
from pinbase.domain.pins import parse_pin
from pinbase.domain.value_types import Value

MINUTE = 60_000


def stream(kind: DataType, **fields: object) -> Datastream:
    """A datastream on V1 of ``kind``."""
    return Datastream(id=DatastreamId(1), label="V1", pin=parse_pin("V1"), type=kind, **fields)  # type: ignore[arg-type]


def rule(
    operator: Operator, operand: str | None = None, operand2: str | None = None
) -> DeviceState:
    """A Device State rule on device 1, datastream 1."""
    return DeviceState(
        device_id=1, datastream_id=1, operator=operator, operand=operand, operand2=operand2
    )


def run(condition: DeviceState, writes: list[tuple[Value, bool]]) -> list[bool]:
    """Feed ``(value, observed)`` writes; unobserved (automation) writes change only the stored
    value. Returns whether each observed write fired."""
    armed, previous, fired = True, None, []
    for value, observed in writes:
        if observed:
            verdict = evaluate(condition, value=value, previous=previous, armed=armed)
            armed = verdict.armed
            fired.append(verdict.fires)
        previous = value
    return fired


def test_is_on_vector() -> None:
    """IS_ON: 1 (web), [auto 0], 1, 0, 1 → run, —, (re-arm), run."""
    assert run(rule(Operator.IS_ON), [(1, True), (0, False), (1, True), (0, True), (1, True)]) == [
        True,
        False,
        False,
        True,
    ]


def test_is_any_vector() -> None:
    """IS_ANY: 1 (web), [auto 0], 1 (web) → run, run."""
    assert run(rule(Operator.IS_ANY), [(1, True), (0, False), (1, True)]) == [True, True]


def test_gt_vector_without_limit() -> None:
    """GT 40: 39, 41, 45, 38, 42 → —, run, —, (re-arm), run."""
    writes: list[tuple[Value, bool]] = [(v, True) for v in (39, 41, 45, 38, 42)]
    assert run(rule(Operator.GT, "40"), writes) == [False, True, False, False, True]


def test_gt_vector_with_a_one_hour_limit() -> None:
    """GT 40, limit 1 h: 41@9:30 run, 39@9:40, 41@9:50 skipped, 39@10:35, 41@10:40 run."""
    condition, armed, last = rule(Operator.GT, "40"), True, None
    outcomes = []
    for value, minute in ((41, 570), (39, 580), (41, 590), (39, 635), (41, 640)):
        now = minute * MINUTE
        verdict = evaluate(condition, value=value, previous=None, armed=armed)
        armed = verdict.armed
        if not verdict.fires:
            outcomes.append("-")
        elif within_limit_period(3600, last_fired_at=last, now=now):
            outcomes.append("skipped")
        else:
            outcomes.append("run")
            last = now
    assert outcomes == ["run", "-", "skipped", "-", "run"]


def test_has_changed_compares_with_the_previous_value() -> None:
    """HAS_CHANGED fires on the first value and on each differing one."""
    writes: list[tuple[Value, bool]] = [(1, True), (1, True), (2, True), (2, False), (2, True)]
    assert run(rule(Operator.HAS_CHANGED), writes) == [True, False, True, False]


@pytest.mark.parametrize(
    ("operator", "operand", "operand2", "value", "expected"),
    [
        (Operator.IS_OFF, None, None, 0, True),
        (Operator.IS_OFF, None, None, 2.5, False),
        (Operator.GTE, "40", None, 40, True),
        (Operator.LT, "40", None, 39.9, True),
        (Operator.LTE, "40", None, 41, False),
        (Operator.EQ, "3", None, 3, True),
        (Operator.NEQ, "3", None, 3, False),
        (Operator.BETWEEN, "10", "20", 15, True),
        (Operator.BETWEEN, "20", "10", 10, False),
        (Operator.NOT_BETWEEN, "10", "20", 20, True),
        (Operator.BETWEEN, "10", "x", 15, False),
        (Operator.GT, "x", None, 15, False),
        (Operator.GT, None, None, 15, False),
        (Operator.GT, "1", None, "abc", False),
        (Operator.GT, "1", None, "2", True),
        (Operator.GT, "1", None, (1.0, 2.0), False),
        (Operator.GT, "inf", None, 2, False),
        (Operator.STR_EQUAL, "open", None, "open", True),
        (Operator.STR_NOT_EQUAL, "open", None, "open", False),
        (Operator.STR_EQUAL, "1", None, True, True),
    ],
)
def test_each_operator_level(
    operator: Operator, operand: str | None, operand2: str | None, value: Value, expected: bool
) -> None:
    """Each operator's condition on a value, with exclusive BETWEEN bounds."""
    assert holds(rule(operator, operand, operand2), value) is expected


def test_on_and_off_for_each_value_type() -> None:
    """On is non-zero: numbers, booleans, numeric text; a location counts as on."""
    assert [is_on(v) for v in (1, True, "1", (0.0, 0.0))] == [True] * 4
    assert [is_on(v) for v in (0, False, "0", "off")] == [False] * 4


def test_operators_are_checked_against_the_datastream_type() -> None:
    """Numeric operators need numbers; strings take string operators; enums EQ/NEQ on a key."""
    check_condition(rule(Operator.GT, "40"), stream(DataType.DOUBLE))
    check_condition(rule(Operator.STR_EQUAL, "a"), stream(DataType.STRING))
    check_condition(rule(Operator.IS_ANY), stream(DataType.LOCATION))
    enum = stream(DataType.ENUM, enum_options=(EnumOption(value=1, label="On"),))
    check_condition(rule(Operator.EQ, "1"), enum)
    with pytest.raises(InvalidAutomation, match="key of the enum"):
        check_condition(rule(Operator.EQ, "2"), enum)
    with pytest.raises(InvalidAutomation, match="does not apply"):
        check_condition(rule(Operator.GT, "4"), stream(DataType.STRING))
    with pytest.raises(InvalidAutomation, match="does not apply"):
        check_condition(rule(Operator.IS_ON), stream(DataType.LOCATION))
    with pytest.raises(InvalidAutomation, match="operand must be a number"):
        check_condition(rule(Operator.GT, "warm"), stream(DataType.INT))
    with pytest.raises(InvalidAutomation, match="operand2 must be a number"):
        check_condition(rule(Operator.BETWEEN, "1", "x"), stream(DataType.INT))


def test_control_values_are_typed_on_save() -> None:
    """A Control Device value parses as the datastream's type, clamped; a bad one is refused."""
    action = ControlDevice(device_id=1, datastream_id=1, value="150")
    assert check_value(action, stream(DataType.INT, min=0, max=100)) == 100
    with pytest.raises(InvalidAutomation, match="does not fit"):
        check_value(ControlDevice(device_id=1, datastream_id=1, value="x"), stream(DataType.INT))
    with pytest.raises(InvalidAutomation, match="location"):
        check_value(action, stream(DataType.LOCATION))


def test_forwarded_values_take_the_target_type() -> None:
    """Forwarding converts to int, double or string; other targets or bad text fail."""
    assert forward_value(21.5, stream(DataType.STRING)) == "21.5"
    assert forward_value("7", stream(DataType.INT)) == 7
    with pytest.raises(ValueMismatch):
        forward_value("x", stream(DataType.DOUBLE))
    with pytest.raises(ValueMismatch, match="cannot forward"):
        forward_value(1, stream(DataType.BOOL))


def test_trigger_text_uses_decimals_and_enum_labels() -> None:
    """{TRIGGER_VALUE}: decimals pattern for doubles, label for enums, lon,lat for locations."""
    assert trigger_text(stream(DataType.DOUBLE, decimals="#.00"), 3.14159) == "3.14"
    enum = stream(DataType.ENUM, enum_options=(EnumOption(value=1, label="Open"),))
    assert trigger_text(enum, 1) == "Open"
    assert trigger_text(enum, 5) == "5"
    assert trigger_text(stream(DataType.LOCATION), (13.4, 52.5)) == "13.4,52.5"
    assert read_text_plain(False) == "0"
    assert read_text_plain(2) == "2"


def test_limit_period_without_limit_or_history() -> None:
    """No limit, or no earlier run, never skips."""
    assert not within_limit_period(0, last_fired_at=1, now=2)
    assert not within_limit_period(60, last_fired_at=None, now=2)
