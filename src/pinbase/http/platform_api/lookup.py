"""Parsing what a request names where a use case takes a domain value."""

from pinbase.domain.errors import InvalidPin
from pinbase.domain.pins import Pin, parse_pin
from pinbase.http.platform_api.errors import incorrect_parameters


def pin_named(name: str) -> Pin:
    """A pin name such as ``v1``, or ``400 Request with incorrect parameters``."""
    try:
        return parse_pin(name.strip())
    except InvalidPin:
        raise incorrect_parameters() from None
