"""LEG-02 property mode: ``GET /{token}/update/{pin}?label=Hi`` sets widget properties.

The legacy server took the first query parameter that named one of its widget properties and
ignored the rest of the query; Pinbase sets every named property (one request may set ``onLabel``
and ``offLabel`` together) through the same ``Properties`` service as the device API.
"""

from pinbase.domain.errors import ValueMismatch
from pinbase.domain.pins import Pin
from pinbase.http.legacy_api import messages
from pinbase.http.legacy_api.inputs import Query, datastream_on
from pinbase.http.legacy_api.replies import LegacyError
from pinbase.services.container import Services
from pinbase.services.directory import BoundDevice
from pinbase.services.properties import LEGACY_PROPERTIES, check_property


async def set_properties(services: Services, bound: BoundDevice, *, pin: Pin, query: Query) -> None:
    """Set every known property the query names on the datastream of ``pin``.

    Raises:
        LegacyError: ``Wrong request format.`` when the query names no known property,
            ``No properties for update provided.`` for a property named without ``=value``,
            ``No widget for SetWidgetProperty command.`` for a pin without datastream and
            ``Error setting widget property.`` for a value of the wrong shape (``min=abc``).
    """
    named = {name: items for name, items in query.items() if name in LEGACY_PROPERTIES}
    if not named:
        raise LegacyError(messages.WRONG_REQUEST_FORMAT)
    changes: dict[str, list[str]] = {}
    for name, items in named.items():
        values = [item for item in items if item is not None]
        if len(values) != len(items):
            raise LegacyError(messages.NO_PROPERTIES)
        changes[name] = values
    datastream = datastream_on(bound.template, pin, missing=messages.NO_WIDGET_FOR_PROPERTY)
    try:
        checked = {name: check_property(name, values) for name, values in changes.items()}
    except ValueMismatch:
        raise LegacyError(messages.PROPERTY_REFUSED) from None
    await services.properties.set(bound.device, datastream, checked)
