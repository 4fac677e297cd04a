"""Datastreams: the typed, pin-addressed channels a template defines (data-model.md §1.7).

Every device of a template keeps its own current value per datastream; the definition here holds
the rules a value must follow (type, min/max, enum rows) and how it is displayed (decimals, units).
"""

import math
import re
from dataclasses import dataclass, field
from enum import Enum

from pinbase.domain.datastream_automation import AutomationSetting, AutomationType
from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.ids import DatastreamId
from pinbase.domain.pins import Pin
from pinbase.domain.value_types import Value

MAX_LABEL_CHARS = 50
"""Datastream names are MQTT topic parts, so they stay short (data-model.md §5.36)."""

FORBIDDEN_LABEL_CHARS = frozenset("/#+\0")
"""Characters that would break an MQTT topic ``ds/<name>`` (data-model.md §5.36)."""

DECIMALS_PATTERNS = frozenset(
    {"#", "#.#", "#.##", "#.###", "#.####", "#.#####", "#.0", "#.00", "#.000", "#.0000", "#.00000"}
)
"""The display formats the Console offers for Double datastreams (data-model.md §2.4)."""

COLOR = re.compile(r"#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})")
"""An HTML colour code: the Console's eight presets are colours too (data-model.md §1.7.1)."""

MAX_UNITS_CHARS = 50
MAX_WAIT_S = 3600
"""Wait for confirmation: the Console offers seconds; an hour is far past any control's patience."""

MAX_INVALIDATE_S = 7 * 24 * 3600
"""Invalidate after: the Console picks seconds, minutes or hours; a week bounds it."""


class InvalidatePolicy(Enum):
    """What a widget shows once a value is older than ``invalidate_after`` (data-model.md §2.6)."""

    NOTHING = "NOTHING"
    DEFAULT = "DEFAULT"
    NO_DATA = "NO_DATA"
    EMPTY = "EMPTY"
    DASHES = "DASHES"


class DataType(Enum):
    """Datastream data types; the value is the API literal (data-model.md §1.7.2, §5.1)."""

    INT = "INT"
    DOUBLE = "DOUBLE"
    STRING = "STRING"
    ENUM = "ENUM"
    LOCATION = "LOCATION"
    BOOL = "BOOL"

    @classmethod
    def parse(cls, literal: str) -> "DataType":
        """Read a type literal, accepting the aliases seen in Blynk's documents."""
        try:
            return cls(_TYPE_ALIASES.get(literal.upper(), literal.upper()))
        except ValueError:
            raise InvalidDefinition(f"unknown datastream type {literal!r}") from None


_TYPE_ALIASES = {
    "INTEGER": "INT",
    "BOOLEAN": "BOOL",
    "GPS": "LOCATION",
    "ENUMERABLE": "ENUM",
    "FLOAT": "DOUBLE",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class EnumOption:
    """One row of an Enum datastream: an incoming integer and the label shown for it."""

    value: int
    label: str
    color: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Datastream:
    """A datastream definition. ``default_value`` is already parsed to the datastream's type."""

    id: DatastreamId
    label: str
    pin: Pin
    type: DataType
    alias: str | None = None
    min: float | None = None
    max: float | None = None
    default_value: Value | None = None
    decimals: str | None = None
    units: str | None = None
    save_raw: bool = False
    sync_with_latest: bool = False
    enum_options: tuple[EnumOption, ...] = field(default=())
    fallback_value: int | None = None
    color: str | None = None
    invalidate_after: int | None = None
    """Seconds after which a value is stale for display; None: never."""
    invalidate_policy: InvalidatePolicy = InvalidatePolicy.NOTHING
    wait_confirmation: int | None = None
    """Seconds a control waits for the device to echo a value (data-model.md §2.13); None: off."""
    automation: AutomationSetting | None = None
    """How the datastream takes part in automations (automations.md §3.2); None: by type."""

    def __post_init__(self) -> None:
        if self.id < 0:
            raise InvalidDefinition("datastream id must be a positive integer")
        if not self.label or len(self.label) > MAX_LABEL_CHARS:
            raise InvalidDefinition(f"datastream label must be 1..{MAX_LABEL_CHARS} characters")
        if FORBIDDEN_LABEL_CHARS & set(self.label):
            raise InvalidDefinition("datastream label must not contain '/', '#', '+' or NUL")
        for bound in (self.min, self.max):
            if bound is not None and not math.isfinite(bound):
                raise InvalidDefinition("datastream min and max must be finite numbers")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise InvalidDefinition("datastream min must not exceed max")
        if self.decimals is not None and self.decimals not in DECIMALS_PATTERNS:
            raise InvalidDefinition(f"unknown decimals pattern {self.decimals!r}")
        if self.units is not None and len(self.units) > MAX_UNITS_CHARS:
            raise InvalidDefinition(
                f"datastream units must be at most {MAX_UNITS_CHARS} characters"
            )
        if self.color is not None and not COLOR.fullmatch(self.color):
            raise InvalidDefinition("datastream color must be an HTML colour code such as #23C48E")
        _check_seconds("invalidate_after", self.invalidate_after, MAX_INVALIDATE_S)
        _check_seconds("wait_confirmation", self.wait_confirmation, MAX_WAIT_S)
        if (
            self.type is DataType.LOCATION
            and self.automation is not None
            and self.automation.type is not AutomationType.SENSOR
        ):
            # OP-A15: a location is only ever a Sensor condition (IS_ANY, HAS_CHANGED).
            raise InvalidDefinition("a LOCATION datastream takes part in automations as SENSOR")


def _check_seconds(name: str, value: int | None, limit: int) -> None:
    if value is not None and not 1 <= value <= limit:
        raise InvalidDefinition(f"datastream {name} must be 1..{limit} seconds")
