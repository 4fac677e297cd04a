"""Pin names: letter plus 0..255, either case in, lowercase out."""

import pytest

from pinbase.domain.errors import InvalidPin
from pinbase.domain.pins import Pin, PinType, parse_pin


@pytest.mark.parametrize(
    ("text", "pin"),
    [
        ("v0", Pin(PinType.VIRTUAL, 0)),
        ("V255", Pin(PinType.VIRTUAL, 255)),
        ("d13", Pin(PinType.DIGITAL, 13)),
        ("A0", Pin(PinType.ANALOG, 0)),
        ("v007", Pin(PinType.VIRTUAL, 7)),
    ],
)
def test_valid_pin_names_parse(text: str, pin: Pin) -> None:
    """Letters v, d, a in either case with 0..255 parse."""
    assert parse_pin(text) == pin


@pytest.mark.parametrize(
    "text", ["", "v", "v256", "x1", "v-1", "v+1", "v 1", "v1.0", "v\u0661", "vv1", "v0001", "1"]
)
def test_invalid_pin_names_are_refused(text: str) -> None:
    """Anything but letter + plain decimal 0..255 raises InvalidPin."""
    with pytest.raises(InvalidPin):
        parse_pin(text)


def test_pin_name_is_lowercase() -> None:
    """Output names are always lowercase (OP-21)."""
    assert parse_pin("V7").name == "v7"
    assert Pin(PinType.DIGITAL, 3).name == "d3"


def test_pin_number_out_of_range_is_refused() -> None:
    """A Pin cannot be built outside 0..255."""
    with pytest.raises(InvalidPin):
        Pin(PinType.VIRTUAL, 300)
