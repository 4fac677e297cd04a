"""Current values of legacy pins (legacy-import.md §2.5): ``pinsStorage`` keys of every era, the
value forms, and the order in which a pin's current value is looked for.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pinbase.domain.legacy_profiles import as_dict, as_list

_KEY = re.compile(r"^(?:(\d+)-)?(?:(\d+)-)?([dvaDVA])(\d{1,3})(?:-([A-Za-z]+))?$")
"""``<dashId>-<deviceId>-<t><pin>[-<property>]`` and its shorter variants (§2.5)."""

PROPERTIES = frozenset(
    {
        "label",
        "color",
        "onBackColor",
        "offBackColor",
        "onColor",
        "offColor",
        "onLabel",
        "offLabel",
        "labels",
        "min",
        "max",
        "isOnPlay",
        "url",
        "urls",
        "step",
        "valueFormatting",
        "suffix",
        "maximumFractionDigits",
        "opacity",
        "scale",
        "rotation",
    }
)
"""The 21 widget properties a ``pinsStorage`` key may end with (§2.5)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredPin:
    """One parsed ``pinsStorage`` entry. ``dash_id`` is None for dashboard-level keys,
    ``device_id`` 0 for ``storagePins`` keys; ``property`` None for a value."""

    dash_id: int | None
    device_id: int
    kind: str
    number: int
    property: str | None
    value: str
    dropped: int = 0
    """Older entries of a multi-value store (LCD, TERMINAL, TABLE) that were not kept."""


def parse_storage_key(key: str, *, levels: int) -> tuple[int | None, int, str, int, str | None]:
    """(dashId, deviceId, kind, number, property) of a storage key with ``levels`` numeric
    prefixes (2: profile level, 1: dashboard level, 0: ``storagePins``).

    Raises:
        ValueError: the key does not have that shape (negative ids included, §7 point 8).
    """
    match = _KEY.fullmatch(key)
    if match is None:
        raise ValueError(f"unreadable storage key {key!r}")
    first, second, kind, number, prop = match.groups()
    numbers = [int(x) for x in (first, second) if x is not None]
    if len(numbers) != levels:
        raise ValueError(f"unreadable storage key {key!r}")
    dash_id = numbers[0] if levels == 2 else None
    device_id = numbers[-1] if levels else 0
    return dash_id, device_id, kind.lower(), int(number), prop


def storage_value(raw: object) -> tuple[str, int] | None:
    """The current value of a storage entry and how many older entries it drops: a string, or
    the last element of ``{"type": "LCD|TERMINAL|TABLE", "values": […]}``; None when empty."""
    if isinstance(raw, str):
        return (raw, 0) if raw else None
    values = [v for v in as_list(as_dict(raw).get("values")) if isinstance(v, str)]
    if not values:
        return None
    return values[-1], len(values) - 1


def read_storage(storage: Mapping[str, Any], *, levels: int) -> tuple[list[StoredPin], list[str]]:
    """Every readable entry of a ``pinsStorage``/``storagePins`` map, and the unreadable keys.

    An unknown property name is kept under its raw name (the legacy parser read it as
    ``label``; Pinbase stores properties by name, DM §1.11).
    """
    pins: list[StoredPin] = []
    bad: list[str] = []
    for key, raw in storage.items():
        try:
            dash_id, device_id, kind, number, prop = parse_storage_key(key, levels=levels)
        except ValueError:
            bad.append(key)
            continue
        value = storage_value(raw)
        if value is None:
            continue
        pins.append(
            StoredPin(
                dash_id=dash_id,
                device_id=device_id,
                kind=kind,
                number=number,
                property=prop,
                value=value[0],
                dropped=value[1],
            )
        )
    return pins, bad


NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
INT32 = range(-(2**31), 2**31)


def value_class(text: str) -> str:
    """``text``, ``fraction`` or ``whole``: the value classes of §2.6 step 3."""
    stripped = text.strip()
    if "\0" in text or not NUMBER.fullmatch(stripped):
        return "text"
    if any(c in stripped for c in ".eE") or int(stripped) not in INT32:
        return "fraction"
    return "whole"
