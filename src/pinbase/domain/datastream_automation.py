"""The template side of automations: how a datastream takes part (automations.md §3.2).

``automation: {"type":"POWER_SWITCH|SWITCH|RANGE|COLOR|ENUM|SENSOR","step":1,"asCondition":true,
"asAction":false}`` on a datastream. A datastream without the setting takes part by its data type
alone (docs/decisions.md); with it, it is a condition only when ``asCondition`` and an action
only when ``asAction``, and its type decides the operators offered (§3.4).
"""

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pinbase.domain.errors import InvalidDefinition


class AutomationType(Enum):
    """The "Type of Automation" column (§3.2)."""

    POWER_SWITCH = "POWER_SWITCH"
    SWITCH = "SWITCH"
    RANGE = "RANGE"
    COLOR = "COLOR"
    ENUM = "ENUM"
    SENSOR = "SENSOR"


@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationSetting:
    """How a datastream takes part in automations."""

    type: AutomationType
    step: float | None = None
    """The slider step of a RANGE control."""
    as_condition: bool = True
    as_action: bool = False

    def __post_init__(self) -> None:
        if self.type is AutomationType.SENSOR and self.as_action:
            raise InvalidDefinition("a SENSOR datastream cannot be an automation action")
        if self.step is not None and not (math.isfinite(self.step) and self.step > 0):
            raise InvalidDefinition("an automation step is a positive number")

    def to_json(self) -> dict[str, Any]:
        """The JSON form of §3.2."""
        answer: dict[str, Any] = {
            "type": self.type.value,
            "asCondition": self.as_condition,
            "asAction": self.as_action,
        }
        if self.step is not None:
            answer["step"] = self.step
        return answer


def parse_automation_setting(data: object) -> AutomationSetting | None:
    """Read the §3.2 JSON (None stays None).

    Raises:
        InvalidDefinition: naming the field that is wrong.
    """
    if data is None:
        return None
    if not isinstance(data, dict):
        raise InvalidDefinition("automation must be a JSON object")
    try:
        kind = AutomationType(data.get("type"))
    except ValueError:
        names = ", ".join(member.value for member in AutomationType)
        raise InvalidDefinition(f"automation.type must be one of {names}") from None
    step = data.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int | float)):
        raise InvalidDefinition("automation.step must be a number")
    if isinstance(step, int) and abs(step) >= 2**53:
        # Exact as a float only up to 2**53, and ``float`` overflows past 1e308.
        raise InvalidDefinition("automation.step is too large")
    flags = {}
    for name, default in (("asCondition", True), ("asAction", False)):
        value = data.get(name, default)
        if not isinstance(value, bool):
            raise InvalidDefinition(f"automation.{name} must be true or false")
        flags[name] = value
    return AutomationSetting(
        type=kind,
        step=None if step is None else float(step),
        as_condition=flags["asCondition"],
        as_action=flags["asAction"],
    )
