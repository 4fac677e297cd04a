"""Validation shared by the event classes; each raises ValueError, as value objects must."""

from pinbase.domain.pins import MAX_PIN, Pin, PinType
from pinbase.protocols.device.frames import MAX_MSG_ID

MAX_NUMBER_DIGITS = 9
"""Info numbers longer than this are clamped, not parsed: the caps (3600 s, 65540 bytes) are far
below, and Python refuses to parse very long digit strings (``sys.int_info``)."""

CLAMPED_NUMBER = 1_000_000_000
"""What a number of more than ``MAX_NUMBER_DIGITS`` digits counts as."""


def check_msg_id(msg_id: int) -> None:
    """A message id fits the 16-bit header field."""
    if not 0 <= msg_id <= MAX_MSG_ID:
        raise ValueError(f"msg_id {msg_id} outside 0..{MAX_MSG_ID}")


def check_reply_id(msg_id: int | None) -> None:
    """None (numbered by the connection) or a 16-bit id."""
    if msg_id is not None:
        check_msg_id(msg_id)


def check_text(name: str, value: str, *, allow_empty: bool = True) -> None:
    """No NUL (it separates body elements) and encodable as UTF-8 (no lone surrogates)."""
    if not value and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    if "\0" in value:
        raise ValueError(f"{name} must not contain NUL")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError as error:
            raise ValueError(f"{name} is not valid Unicode") from error


def check_values(name: str, values: tuple[str, ...]) -> None:
    """At least one value, each a clean text."""
    if not values:
        raise ValueError(f"{name} needs at least one value")
    for value in values:
        check_text(name, value)


def check_channel(channel: int) -> None:
    """A bridge channel is a virtual pin number (C++ ``WidgetBridge bridge(V1)``)."""
    if not 0 <= channel <= MAX_PIN:
        raise ValueError(f"channel {channel} outside 0..{MAX_PIN}")


def check_virtual(pins: tuple[Pin, ...]) -> None:
    """At least one pin, all virtual: widget properties live on virtual pins (§1.10.4)."""
    if not pins:
        raise ValueError("at least one pin is needed")
    if any(pin.type is not PinType.VIRTUAL for pin in pins):
        raise ValueError("properties belong to virtual pins")


def parse_count(text: str | None) -> int | None:
    """A non-negative decimal number, clamped to ``CLAMPED_NUMBER``; None unless digits."""
    if text is None or not is_number(text):
        return None
    if len(text) > MAX_NUMBER_DIGITS:
        return CLAMPED_NUMBER
    return int(text)


def is_number(text: str) -> bool:
    """Plain ASCII decimal digits: how the spec tells a pin from a property name (§1.10.4)."""
    return text.isascii() and text.isdigit()


def check_written_values(values: tuple[str, ...]) -> None:
    """A device write carries at least one value, and a lone value is not empty (§1.6: the legacy
    server refused a write with an empty value)."""
    check_values("values", values)
    if values == ("",):
        raise ValueError("a write needs a non-empty value")


def has_own_event(name: str, args: tuple[str, ...]) -> bool:
    """True for the INTERNAL shapes that ``RtcSync``, ``UtcRequest`` and ``Metadata*`` carry."""
    return (
        (name == "rtc" and args == ("sync",))
        or (name == "utc" and len(args) == 1)
        or (name == "meta" and len(args) == 2 and args[0] == "get")
        or (name == "meta" and len(args) == 3 and args[0] == "set")
    )
