"""How values are written into device API answers (http-api.md DEV-01, DEV-02, OP-22)."""

from pinbase.domain.datastreams import Datastream, DataType
from pinbase.domain.value_types import Value
from pinbase.domain.values import double_text


def value_text(datastream: Datastream, value: Value) -> str:
    """The bare-text answer of a single-value read.

    Integers as plain digits; doubles by ``double_text``, the rule every read form shares;
    locations as ``lon,lat``; booleans as ``true``/``false``.
    """
    if isinstance(value, tuple):
        return f"{value[0]!r},{value[1]!r}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return double_text(datastream, value) if datastream.type is DataType.DOUBLE else repr(value)
    return str(value)
