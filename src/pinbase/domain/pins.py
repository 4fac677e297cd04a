"""Pin names: a kind letter plus a number, ``v1``, ``V1``, ``d13``, ``a0``.

Input accepts either letter case and the output is always lowercase (http-api.md OP-21).
Numbers run 0..255 for every kind (OP-32).
"""

from dataclasses import dataclass
from enum import Enum

from pinbase.domain.errors import InvalidPin

MAX_PIN = 255
"""Highest pin number; the legacy server rejects v256 and firmware documents pins up to 255."""


class PinType(Enum):
    """The three pin kinds of a datastream; the value is the Platform API literal."""

    VIRTUAL = "VIRTUAL"
    DIGITAL = "DIGITAL"
    ANALOG = "ANALOG"

    @property
    def letter(self) -> str:
        """The lowercase letter used in pin names."""
        return _LETTERS[self]


_LETTERS = {PinType.VIRTUAL: "v", PinType.DIGITAL: "d", PinType.ANALOG: "a"}
_BY_LETTER = {letter: kind for kind, letter in _LETTERS.items()}


@dataclass(frozen=True, slots=True)
class Pin:
    """A pin address inside a template: its kind and number."""

    type: PinType
    number: int

    def __post_init__(self) -> None:
        if not 0 <= self.number <= MAX_PIN:
            raise InvalidPin(f"pin number {self.number} outside 0..{MAX_PIN}")

    @property
    def name(self) -> str:
        """The canonical lowercase name, such as ``v1``."""
        return f"{self.type.letter}{self.number}"


def parse_pin(text: str) -> Pin:
    """Parse a pin name such as ``v1`` or ``V1``.

    Raises:
        InvalidPin: the text is not a letter v/d/a (any case) followed by 0..255 in plain
            decimal digits (no sign, no spaces, at most three digits).
    """
    if not 2 <= len(text) <= 4:
        raise InvalidPin(text)
    kind = _BY_LETTER.get(text[0].lower())
    digits = text[1:]
    if kind is None or not (digits.isascii() and digits.isdigit()):
        raise InvalidPin(text)
    return Pin(kind, int(digits))
