"""The value rules every write path shares (data-model.md §2.2 to §2.10).

A raw value arrives as text (query strings, device frames) or as JSON (request bodies). It is
parsed by the datastream's type, a mismatch is refused, enum integers are mapped, numbers are
clamped to [min, max] and strings are size-checked. The result is a plain Python value:

    INT, ENUM -> int        DOUBLE -> float        STRING -> str
    BOOL -> bool            LOCATION -> (longitude, latitude) floats
"""

import math
import re
from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal, localcontext

from pinbase.domain.datastreams import Datastream, DataType
from pinbase.domain.errors import ValueMismatch, ValueTooLong
from pinbase.domain.value_types import Value

MAX_STRING_BYTES = 1024
"""Longest string value in UTF-8 bytes (blynk.console/limits.md)."""

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
"""Integer datastreams are signed 32-bit (data-model.md §1.7.2)."""

DECIMAL_DIGITS_ENOUGH = 400
"""Decimal precision that holds any finite float64 written out in full (at most 309 integer
digits) plus a decimals pattern's five fraction digits, so truncating never overflows."""

MULTI_VALUE_SEPARATOR = "\0"
"""Blynk joins the items of a multi-value payload with NUL (data-model.md §2.11)."""

_INT_TEXT = re.compile(r"[+-]?[0-9]{1,12}")
_DOUBLE_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_TRUE_TEXT = frozenset({"true", "1"})
_FALSE_TEXT = frozenset({"false", "0"})


def parse_text(datastream: Datastream, raw: Sequence[str]) -> Value:
    """Parse query-string or device text into a valid value for ``datastream``.

    Args:
        datastream: the target datastream.
        raw: the text items; one for single values, several for a multi-value write (a Location
            sent as ``value=lon&value=lat``). One item holding NUL separators is split first.

    Raises:
        ValueMismatch: the text does not parse as the datastream's type.
        ValueTooLong: a string exceeds ``MAX_STRING_BYTES``.
    """
    items = _split_items(raw)
    kind = datastream.type
    if kind is DataType.STRING:
        return _checked_string(MULTI_VALUE_SEPARATOR.join(items))
    if kind is DataType.LOCATION:
        if len(items) != 2:
            raise ValueMismatch("a location needs longitude and latitude")
        return (_parse_double_text(items[0]), _parse_double_text(items[1]))
    if len(items) != 1:
        raise ValueMismatch("several items for a single-value datastream")
    text = items[0].strip()
    if kind is DataType.DOUBLE:
        return clamp(datastream, _parse_double_text(text))
    if kind is DataType.BOOL:
        lowered = text.lower()
        if lowered in _TRUE_TEXT:
            return True
        if lowered in _FALSE_TEXT:
            return False
        raise ValueMismatch("not a boolean")
    number = _parse_int_text(text)
    if kind is DataType.ENUM:
        return map_enum(datastream, number)
    return clamp(datastream, number)


def parse_json(datastream: Datastream, data: object) -> Value:
    """Parse a JSON value (timestamped uploads, Platform API bodies) for ``datastream``.

    Raises:
        ValueMismatch: the JSON type does not fit the datastream's type.
        ValueTooLong: a string exceeds ``MAX_STRING_BYTES``.
    """
    kind = datastream.type
    if kind is DataType.STRING:
        if not isinstance(data, str):
            raise ValueMismatch("not a string")
        return _checked_string(data)
    if kind is DataType.BOOL:
        if not isinstance(data, bool):
            raise ValueMismatch("not a boolean")
        return data
    if kind is DataType.LOCATION:
        if not (isinstance(data, list) and len(data) == 2):
            raise ValueMismatch("a location is [longitude, latitude]")
        return (_json_double(data[0]), _json_double(data[1]))
    if kind is DataType.DOUBLE:
        return clamp(datastream, _json_double(data))
    if isinstance(data, bool) or not isinstance(data, int):
        raise ValueMismatch("not an integer")
    _check_int32(data)
    if kind is DataType.ENUM:
        return map_enum(datastream, data)
    return clamp(datastream, data)


def clamp(datastream: Datastream, number: float) -> float:
    """Crop a number into the datastream's [min, max]; unset bounds are open (data-model §2.3)."""
    low, high = datastream.min, datastream.max
    if datastream.type is DataType.INT:
        # An INT datastream keeps an int: fractional bounds round inward to stay in range.
        if low is not None and number < low:
            return math.ceil(low)
        if high is not None and number > high:
            return math.floor(high)
        return number
    if low is not None and number < low:
        return float(low)
    if high is not None and number > high:
        return float(high)
    return number


def map_enum(datastream: Datastream, number: int) -> int:
    """Replace an integer no enum row knows by the fallback value, when one is set (§2.9)."""
    if not datastream.enum_options or datastream.fallback_value is None:
        return number
    if any(option.value == number for option in datastream.enum_options):
        return number
    return datastream.fallback_value


def to_json(value: Value) -> object:
    """The JSON form of a value: numbers, strings, booleans, and ``[lon, lat]`` for locations."""
    if isinstance(value, tuple):
        return [value[0], value[1]]
    return value


def to_text(value: Value) -> str:
    """The device-wire text of a value: multi-value items joined by NUL, booleans as 1 or 0."""
    if isinstance(value, tuple):
        return f"{value[0]!r}{MULTI_VALUE_SEPARATOR}{value[1]!r}"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


class NumberText:
    """A number already written as text, which a JSON answer carries as that very number literal
    (``3.10`` stays ``3.10``, not ``3.1``), so JSON reads show the digits bare-text reads show.

    A plain class rather than a dataclass: orjson writes dataclasses as objects by itself, and
    this one must reach the HTTP layer's ``default`` hook instead.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NumberText) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"NumberText({self.text!r})"


def double_text(datastream: Datastream, value: float) -> str:
    """The text of a stored DOUBLE in every read form (docs/decisions.md, "Rendering a DOUBLE").

    With a decimals pattern, the value truncated to it (§2.4); without one, the shortest text
    that reads back as the same float (Python's ``repr``: ``21.57``, ``21.0``, ``1e+20``).
    """
    if datastream.decimals:
        return format_decimals(value, datastream.decimals)
    return repr(value)


def read_json(datastream: Datastream, value: Value) -> object:
    """The JSON form of a value in an API read: a DOUBLE as the number ``double_text`` writes,
    anything else as ``to_json``. Stored values and history keep their full precision."""
    if datastream.type is DataType.DOUBLE and isinstance(value, float) and datastream.decimals:
        return NumberText(format_decimals(value, datastream.decimals))
    # Without a pattern the float itself: orjson writes the shortest text that reads back as
    # it, the number ``repr`` gives, with no per-value call into Python (bench/history.py).
    return to_json(value)


def read_text(datastream: Datastream, value: Value) -> str:
    """The device-wire text of a value in an API read: ``to_text``, with a DOUBLE written by
    ``double_text`` (legacy reads, the legacy project, history exports)."""
    if datastream.type is DataType.DOUBLE and isinstance(value, float):
        return double_text(datastream, value)
    return to_text(value)


def format_decimals(value: float, pattern: str) -> str:
    """Render a double with a Console decimals pattern, truncating as the docs show (§2.4).

    ``#.##`` keeps up to two digits (3.10 -> ``3.1``), ``#.00`` exactly two (3.1 -> ``3.10``).
    A value truncated to zero reads without a sign (-0.001 with ``#.00`` -> ``0.00``).
    """
    digits = len(pattern) - 2 if "." in pattern else 0
    quantum = Decimal(1).scaleb(-digits)
    with localcontext(prec=DECIMAL_DIGITS_ENOUGH):
        truncated = Decimal(repr(value)).quantize(quantum, rounding=ROUND_DOWN)
    if truncated.is_zero():
        truncated = abs(truncated)
    text = format(truncated, "f")
    if digits and "#" in pattern[2:]:
        text = text.rstrip("0").rstrip(".")
    return text


def _split_items(raw: Sequence[str]) -> list[str]:
    if len(raw) == 1 and MULTI_VALUE_SEPARATOR in raw[0]:
        return raw[0].split(MULTI_VALUE_SEPARATOR)
    return list(raw)


def _checked_string(text: str) -> str:
    if len(text) > MAX_STRING_BYTES // 4 and len(text.encode()) > MAX_STRING_BYTES:
        raise ValueTooLong(f"string longer than {MAX_STRING_BYTES} bytes")
    return text


def _parse_int_text(text: str) -> int:
    if not _INT_TEXT.fullmatch(text):
        raise ValueMismatch("not an integer")
    number = int(text)
    _check_int32(number)
    return number


def _check_int32(number: int) -> None:
    if not INT32_MIN <= number <= INT32_MAX:
        raise ValueMismatch("integer outside the signed 32-bit range")


def _parse_double_text(text: str) -> float:
    text = text.strip()
    if not _DOUBLE_TEXT.fullmatch(text):
        raise ValueMismatch("not a number")
    return _finite(float(text))


def _json_double(data: object) -> float:
    if isinstance(data, bool) or not isinstance(data, int | float):
        raise ValueMismatch("not a number")
    return _finite(float(data))


def _finite(number: float) -> float:
    if not math.isfinite(number):
        raise ValueMismatch("not a finite number")
    return number
