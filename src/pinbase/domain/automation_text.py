"""Placeholders of automation messages (automations.md §3.6).

``{ORG_NAME}``, ``{PRODUCT_NAME}``, ``{DEVICE_NAME}`` and ``{TRIGGER_VALUE}`` expand in Send
Email and Send Notification texts. One that the condition cannot supply (Schedule and Scene have
neither device nor trigger value) becomes empty; an unknown ``{…}`` stays literal. The legacy
Eventor's ``/pin/`` means the trigger value only in automations imported from legacy projects.
"""

import re
from dataclasses import dataclass

PLACEHOLDER = re.compile(r"\{(ORG_NAME|PRODUCT_NAME|DEVICE_NAME|TRIGGER_VALUE)\}")
LEGACY_PIN = "/pin/"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceholderValues:
    """What the run knows; None is "unavailable for this condition"."""

    org_name: str | None = None
    product_name: str | None = None
    device_name: str | None = None
    trigger_value: str | None = None


def expand(text: str, values: PlaceholderValues, *, legacy: bool = False) -> str:
    """``text`` with its placeholders replaced, in one pass (a value holding ``{DEVICE_NAME}``
    is not expanded again)."""
    table = {
        "ORG_NAME": values.org_name,
        "PRODUCT_NAME": values.product_name,
        "DEVICE_NAME": values.device_name,
        "TRIGGER_VALUE": values.trigger_value,
    }

    def fill(part: str) -> str:
        return PLACEHOLDER.sub(lambda match: table[match.group(1)] or "", part)

    if not legacy:
        return fill(text)
    # Split first, so that only the text's own "/pin/" changes, not one a device name holds.
    return (values.trigger_value or "").join(fill(part) for part in text.split(LEGACY_PIN))
