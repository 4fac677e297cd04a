"""How domain values are laid out in columns.

Current values and properties are JSON text (so one column holds any type). History keeps numbers
in ``num`` (so aggregates run in SQL) and everything else as text in ``text``, escaped by
``escape_text``: PostgreSQL ``text`` cannot hold NUL, which joins the items of a multi-value
string (data-model.md §2.11), and both dialects store the same bytes (docs/storage.md).
"""

import re

import orjson

from pinbase.domain.datastreams import DataType
from pinbase.domain.value_types import Value
from pinbase.domain.values import to_json


def dump_json(value: object) -> str:
    """Compact JSON text; domain values go through ``to_json`` first."""
    return orjson.dumps(value).decode()


def dump_value(value: Value) -> str:
    """The JSON text of a value for the current-values table."""
    return orjson.dumps(to_json(value)).decode()


def load_value(text: str) -> Value:
    """Read back what ``dump_value`` wrote; a two-item list is a location."""
    data = orjson.loads(text)
    if isinstance(data, list):
        return (float(data[0]), float(data[1]))
    if isinstance(data, bool | int | float | str):
        return data
    raise ValueError(f"not a stored value: {text!r}")


def history_columns(value: Value) -> tuple[float | None, str | None]:
    """Split a value into the ``num`` and ``text`` history columns."""
    if isinstance(value, bool):
        return (1.0 if value else 0.0, None)
    if isinstance(value, int | float):
        return (float(value), None)
    if isinstance(value, tuple):
        return (None, dump_value(value))
    return (None, escape_text(value))


_ESCAPED = re.compile(r"\\([\\0])")
"""An escape ``escape_text`` wrote: a backslash, then the backslash or ``0`` it stands for."""


def escape_text(text: str) -> str:
    """History text without NUL: ``\\`` becomes ``\\\\`` and NUL becomes ``\\0``.

    Escaping the backslash too keeps the scheme unambiguous: a stored backslash is always the
    first of a pair. Text holding neither (almost all of it, and every location's JSON) is stored
    as it is; migration 0005 escaped the rows stored before it.
    """
    if "\\" in text or "\0" in text:
        return text.replace("\\", "\\\\").replace("\0", "\\0")
    return text


def unescape_text(text: str) -> str:
    """Undo ``escape_text`` in one left-to-right pass: ``\\\\0`` is a backslash and a ``0``."""
    if "\\" not in text:
        return text
    return _ESCAPED.sub(lambda match: "\0" if match[1] == "0" else "\\", text)


def history_value(kind: DataType, num: float | None, text: str | None) -> Value:
    """Rebuild a history value for a datastream of type ``kind``."""
    if kind is DataType.STRING:
        return text or ""
    if kind is DataType.LOCATION:
        return load_value(text or "[0,0]")
    number = num or 0.0
    if kind is DataType.BOOL:
        return number != 0.0
    if kind in (DataType.INT, DataType.ENUM):
        return int(number)
    return number
