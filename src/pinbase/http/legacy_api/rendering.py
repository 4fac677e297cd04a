"""How values look on the legacy wire: a list of strings, one per item (http-api.md §5.1)."""

from pinbase.domain.datastreams import Datastream
from pinbase.domain.value_types import Value
from pinbase.domain.values import MULTI_VALUE_SEPARATOR, read_text


def wire_items(datastream: Datastream, value: Value) -> list[str]:
    """The device-wire text of a value, split into its items.

    ``42`` -> ``["42"]``, a location -> ``["-73.987", "40.725"]``, a string written as several
    ``value`` items -> those items in order; booleans as ``"1"``/``"0"`` as devices see them;
    doubles by ``double_text``, the rule every read form shares.
    """
    return read_text(datastream, value).split(MULTI_VALUE_SEPARATOR)
