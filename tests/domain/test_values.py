"""Value parsing, clamping, enum mapping and rendering (data-model.md §2)."""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinbase.domain.datastreams import Datastream, DataType, EnumOption
from pinbase.domain.errors import InvalidDefinition, ValueMismatch, ValueTooLong
from pinbase.domain.ids import DatastreamId
from pinbase.domain.pins import Pin, PinType
from pinbase.domain.values import (
    NumberText,
    clamp,
    double_text,
    format_decimals,
    parse_json,
    parse_text,
    read_json,
    read_text,
    to_json,
    to_text,
)


def stream(kind: DataType, **settings: object) -> Datastream:
    return Datastream(
        id=DatastreamId(1), label="S", pin=Pin(PinType.VIRTUAL, 1), type=kind, **settings
    )


INT = stream(DataType.INT, min=0, max=100)
DOUBLE = stream(DataType.DOUBLE, min=-40, max=85)
ENUM = stream(
    DataType.ENUM,
    enum_options=(EnumOption(value=0, label="Off"), EnumOption(value=1, label="On")),
    fallback_value=0,
)


@pytest.mark.parametrize(("text", "value"), [("50", 50), ("314", 100), ("-2", 0), ("+7", 7)])
def test_integers_are_clamped_to_min_and_max(text: str, value: int) -> None:
    """With min 0 / max 100: 50 -> 50, 314 -> 100, -2 -> 0 (the docs' example)."""
    assert parse_text(INT, [text]) == value


@pytest.mark.parametrize("text", ["123.0", "123.45", "abc", "", "1e3", "2147483648", "1_000"])
def test_integer_mismatches_are_refused(text: str) -> None:
    """Fractions, exponents, text and values outside int32 do not parse as Integer."""
    with pytest.raises(ValueMismatch):
        parse_text(stream(DataType.INT), [text])


@pytest.mark.parametrize(
    ("text", "value"), [("36.6", 36.6), ("12", 12.0), ("1e2", 85.0), ("-50", -40.0)]
)
def test_doubles_parse_and_clamp(text: str, value: float) -> None:
    """Decimal and integer text parse as Double, then clamp."""
    assert parse_text(DOUBLE, [text]) == value


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity", "1e999", "1,5", "0x10", ""])
def test_non_finite_or_foreign_doubles_are_refused(text: str) -> None:
    """NaN, infinities, overflow and foreign spellings are mismatches (data-model §5.3)."""
    with pytest.raises(ValueMismatch):
        parse_text(DOUBLE, [text])


def test_location_takes_two_items_longitude_first() -> None:
    """A location is (lon, lat), from two items or one NUL-joined item."""
    location = stream(DataType.LOCATION)
    assert parse_text(location, ["30.5", "50.4"]) == (30.5, 50.4)
    assert parse_text(location, ["30.5\x0050.4"]) == (30.5, 50.4)
    with pytest.raises(ValueMismatch):
        parse_text(location, ["30.5"])


def test_strings_join_multi_values_and_enforce_1024_bytes() -> None:
    """Repeated items join with NUL; more than 1024 UTF-8 bytes is refused."""
    text = stream(DataType.STRING)
    assert parse_text(text, ["a", "b"]) == "a\x00b"
    assert parse_text(text, ["x" * 1024]) == "x" * 1024
    with pytest.raises(ValueTooLong):
        parse_text(text, ["é" * 513])


@pytest.mark.parametrize(("text", "value"), [("true", True), ("0", False), ("TRUE", True)])
def test_booleans_accept_words_and_digits(text: str, value: bool) -> None:
    """true/false/1/0 in any case parse as Boolean."""
    assert parse_text(stream(DataType.BOOL), [text]) is value


def test_unknown_enum_value_becomes_the_fallback() -> None:
    """An integer no enum row knows is stored as the fallback value."""
    assert parse_text(ENUM, ["1"]) == 1
    assert parse_text(ENUM, ["9"]) == 0
    assert parse_text(stream(DataType.ENUM), ["9"]) == 9


def test_several_items_for_a_single_value_type_are_refused() -> None:
    """Two values for an Integer pin are a mismatch."""
    with pytest.raises(ValueMismatch):
        parse_text(INT, ["1", "2"])


@pytest.mark.parametrize(
    ("kind", "data", "value"),
    [
        (DataType.INT, 5, 5),
        (DataType.DOUBLE, 5, 5.0),
        (DataType.STRING, "s", "s"),
        (DataType.BOOL, True, True),
        (DataType.LOCATION, [1, 2.5], (1.0, 2.5)),
        (DataType.ENUM, 3, 3),
    ],
)
def test_json_values_parse_by_type(kind: DataType, data: object, value: object) -> None:
    """JSON bodies carry typed values."""
    assert parse_json(stream(kind), data) == value


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (DataType.INT, 1.5),
        (DataType.INT, True),
        (DataType.INT, 2**40),
        (DataType.DOUBLE, "1"),
        (DataType.STRING, 1),
        (DataType.BOOL, 1),
        (DataType.LOCATION, [1]),
        (DataType.ENUM, "1"),
    ],
)
def test_json_type_mismatches_are_refused(kind: DataType, data: object) -> None:
    """A JSON value of the wrong type is a mismatch."""
    with pytest.raises(ValueMismatch):
        parse_json(stream(kind), data)


@pytest.mark.parametrize(
    ("value", "pattern", "text"),
    [
        (3.14159265359, "#", "3"),
        (3.14159265359, "#.#", "3.1"),
        (3.14159265359, "#.###", "3.141"),
        (3.0, "#.0", "3.0"),
        (3.1, "#.00", "3.10"),
        (100.0, "#.00000", "100.00000"),
        (3.10, "#.##", "3.1"),
        (3.0, "#.##", "3"),
        (-0.04, "#.#", "0"),
        (-0.001, "#.00", "0.00"),
        (1e300, "#.0", "1" + "0" * 300 + ".0"),
        (-1.7976931348623157e308, "#", "-17976931348623157" + "0" * 292),
    ],
)
def test_decimals_patterns_truncate(value: float, pattern: str, text: str) -> None:
    """Patterns with # keep optional digits, with 0 fixed digits; digits are cut (§2.4)."""
    assert format_decimals(value, pattern) == text


def test_wire_forms() -> None:
    """JSON and device-text forms of each kind of value."""
    assert to_json((1.0, 2.0)) == [1.0, 2.0]
    assert to_json(5) == 5
    assert to_text((1.0, 2.0)) == "1.0\x002.0"
    assert to_text(True) == "1"
    assert to_text(2.5) == "2.5"
    assert to_text(7) == "7"


def test_reads_render_a_double_by_one_rule() -> None:
    """A DOUBLE reads by its decimals pattern when set, else by repr; JSON keeps those digits."""
    patterned = stream(DataType.DOUBLE, decimals="#.00")
    assert double_text(patterned, 21.5) == "21.50"
    assert double_text(DOUBLE, 21.5) == "21.5"
    assert read_json(patterned, 21.5) == NumberText("21.50")
    assert read_text(patterned, 21.5) == "21.50"
    assert read_json(INT, 7) == 7
    assert read_text(stream(DataType.LOCATION), (1.0, 2.0)) == "1.0\x002.0"


def test_clamp_keeps_integer_bounds_inside_the_range() -> None:
    """Fractional bounds of an Integer datastream round inward."""
    odd = stream(DataType.INT, min=0.5, max=9.5)
    assert clamp(odd, 0) == 1
    assert clamp(odd, 10) == 9


def test_datastream_definitions_are_validated() -> None:
    """min > max, unknown decimals and MQTT-breaking labels are refused."""
    with pytest.raises(InvalidDefinition):
        stream(DataType.INT, min=5, max=1)
    with pytest.raises(InvalidDefinition):
        stream(DataType.DOUBLE, decimals="#.0#")
    with pytest.raises(InvalidDefinition):
        Datastream(id=DatastreamId(1), label="a/b", pin=Pin(PinType.VIRTUAL, 1), type=DataType.INT)
    assert DataType.parse("gps") is DataType.LOCATION
    with pytest.raises(InvalidDefinition):
        DataType.parse("COMPLEX")


@given(st.lists(st.text(max_size=30), min_size=1, max_size=3))
def test_text_parsing_only_ever_raises_value_mismatch(items: list[str]) -> None:
    """Any text either parses or raises ValueMismatch, for every data type."""
    for kind in DataType:
        with contextlib.suppress(ValueMismatch):
            parse_text(stream(kind), items)


def test_number_text_is_a_value_keyed_by_its_text() -> None:
    """Equal texts are equal and hash alike (a set holds one), and the repr shows the text."""
    assert {NumberText("21.50"), NumberText("21.50")} == {NumberText("21.50")}
    assert NumberText("21.50") != "21.50"
    assert repr(NumberText("21.50")) == "NumberText('21.50')"
