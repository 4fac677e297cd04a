"""One exception tree for every rule the domain enforces.

    PinbaseError
    ├── InvalidPin            a pin name that is not letter + 0..255
    ├── UnknownDatastream     a well-formed pin or id with no datastream in the template
    ├── ValueMismatch         a value that does not parse as the datastream's type
    │   └── ValueTooLong      a string over the size limit
    ├── InvalidDefinition     a template, datastream or device definition that breaks a rule
    └── TextHoldsNul          text holding NUL bound for a column that cannot store it

The HTTP layers map each to the exact message of the endpoint that raised it, in one place per
API family (see ``pinbase.http.device_api.messages``).
"""


class PinbaseError(Exception):
    """Base of every error the domain raises on bad input."""


class InvalidPin(PinbaseError):
    """A pin name is not a letter (v, d, a) followed by a number 0..255."""


class UnknownDatastream(PinbaseError):
    """No datastream of the device's template sits on that pin or carries that id."""


class ValueMismatch(PinbaseError):
    """A value does not parse as its datastream's data type."""


class ValueTooLong(ValueMismatch):
    """A string value exceeds the size limit (1024 bytes, blynk.console/limits.md)."""


class InvalidDefinition(PinbaseError):
    """A template, datastream, device or organization definition breaks a rule."""


class TextHoldsNul(PinbaseError):
    """Text to be stored holds NUL (U+0000), which no text column keeps: PostgreSQL cannot store
    it, and SQLite refuses it too so that both engines answer alike (storage/text_columns.py)."""
