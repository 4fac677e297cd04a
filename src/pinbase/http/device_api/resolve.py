"""Resolving pins and datastream ids of a request, with the device API's messages."""

from pinbase.domain.datastreams import Datastream
from pinbase.domain.errors import InvalidPin, UnknownDatastream
from pinbase.domain.pins import Pin, parse_pin
from pinbase.domain.templates import Template
from pinbase.http.device_api import messages
from pinbase.http.responses import ApiError


def parse_pin_name(name: str) -> Pin:
    """A pin, or ``Wrong pin format.``."""
    try:
        return parse_pin(name)
    except InvalidPin:
        raise ApiError(messages.WRONG_PIN) from None


def datastream_at(template: Template, pin: Pin) -> Datastream:
    """The datastream on ``pin``, or ``No datastream setup for that pin.``."""
    try:
        return template.datastream_at(pin)
    except UnknownDatastream:
        raise ApiError(messages.NO_DATASTREAM_ON_PIN) from None


def datastream_by_id(template: Template, datastream_id: int) -> Datastream:
    """The datastream with that id, or ``Requested dataStream doesn't exist…``."""
    try:
        return template.datastream(datastream_id)
    except UnknownDatastream:
        message = messages.NO_DATASTREAM_IN_PRODUCT.format(template_name=template.name)
        raise ApiError(message) from None
