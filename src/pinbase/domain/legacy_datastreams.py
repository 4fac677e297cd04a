"""A template's datastreams derived from legacy pins (legacy-import.md §2.6).

Each pin of the scope (dashboard or tile template) becomes one datastream. Its type combines
widget hints (H), known values (V) and numeric signs (N) by the four rules of step 3; the reason
is kept for the report (open point 2 of §7: every guess must be explained).
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pinbase.domain.datastreams import (
    FORBIDDEN_LABEL_CHARS,
    MAX_LABEL_CHARS,
    MAX_UNITS_CHARS,
    Datastream,
    DataType,
    EnumOption,
)
from pinbase.domain.ids import DatastreamId
from pinbase.domain.legacy_catalogue import DOUBLE, ENUM, INT, STRING
from pinbase.domain.legacy_values import value_class
from pinbase.domain.legacy_widgets import PinUse
from pinbase.domain.pins import MAX_PIN, Pin, PinType

_ORDER = {ENUM: 0, INT: 1, DOUBLE: 2, STRING: 3}
_KIND = {"v": PinType.VIRTUAL, "d": PinType.DIGITAL, "a": PinType.ANALOG}
MAX_DECIMALS = 5
"""The Console's longest decimals pattern is ``#.#####`` (data-model.md §2.4)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DerivedDatastream:
    """A datastream and why it has its type (rule number of §2.6 step 3 and the evidence)."""

    datastream: Datastream
    reason: str
    guessed: bool
    """Rules 3 and 4: no widget said what the pin carries."""
    pull: bool = False
    phone: bool = False


def widen(a: str, b: str) -> str:
    """The wider of two types in ``ENUM < INT < DOUBLE < STRING``; ENUM with a number is DOUBLE."""
    if a == b:
        return a
    if ENUM in (a, b) and STRING not in (a, b):
        return DOUBLE
    return a if _ORDER[a] > _ORDER[b] else b


def infer_type(
    kind: str, uses: Sequence[PinUse], values: Iterable[str], *, has_history: bool
) -> tuple[str, int, str]:
    """(type, rule, reason) of one pin by §2.6 step 3."""
    known = [*values, *(v for use in uses for v in use.known_values)]
    classes = {value: value_class(value) for value in known}
    text = next((v for v, c in classes.items() if c == "text"), None)
    if text is not None:
        return STRING, 1, f"value {text[:20]!r} is text"
    if any(use.text_condition for use in uses):
        return STRING, 1, "an Eventor rule compares it as text"
    hints = [use.hint for use in uses if use.hint is not None]
    pin_kind_hint = not hints and kind in ("d", "a") and bool(uses)
    if pin_kind_hint:
        hints = [INT]
    decimals = any(use.fraction_digits for use in uses)
    fraction = any(c == "fraction" for c in classes.values())
    if hints:
        chosen = hints[0]
        for hint in hints[1:]:
            chosen = widen(chosen, hint)
        widgets = ", ".join(dict.fromkeys(use.widget for use in uses if use.hint is not None))
        reason = "a digital or analog pin" if pin_kind_hint else f"widget hints ({widgets})"
        if fraction or decimals:
            chosen = widen(chosen, DOUBLE)
            reason += ", with fractions" if fraction else ", with decimals configured"
        return chosen, 2, reason
    numeric = has_history or any(use.numeric for use in uses)
    if numeric or classes:
        why = (
            "numeric signs (history, chart, report or decimals)"
            if numeric
            else f"numeric value {next(iter(classes))!r}"
        )
        return DOUBLE, 3, f"no widget type; {why}"
    return STRING, 4, "nothing known about the pin: STRING accepts anything"


def clean_label(text: str) -> str:
    """A legacy label without ``/ # + NUL``, trimmed and cut to 50 characters (DM §5.36)."""
    kept = "".join(" " if c in FORBIDDEN_LABEL_CHARS else c for c in text)
    return " ".join(kept.split())[:MAX_LABEL_CHARS].strip()


def _alias(label: str) -> str | None:
    alias = " ".join(re.sub(r"[^\w ]|_", " ", label).split())
    return alias or None


def _color(argb: int | None) -> str | None:
    return None if argb is None else f"#{argb & 0xFFFFFF:06X}"


def _range(uses: Sequence[PinUse]) -> tuple[float | None, float | None]:
    """min/max of §2.6 step 4: only ``out`` widgets without range mapping, ``min < max`` and not
    both 0; never from displays (the legacy server never clamped)."""
    lows, highs = [], []
    for use in uses:
        if not use.is_out or use.range_mapping or use.send_step:
            continue
        if use.min is None or use.max is None or use.min >= use.max:
            continue
        lows.append(use.min)
        highs.append(use.max)
    if not lows:
        return None, None
    return min(lows), max(highs)


def _decimals(uses: Sequence[PinUse]) -> str | None:
    digits = [use.fraction_digits for use in uses if use.fraction_digits is not None]
    if not digits:
        return None
    n = min(max(digits), MAX_DECIMALS)
    return "#." + "#" * n if n else "#"


def _label(kind: str, number: int, uses: Sequence[PinUse]) -> str:
    ordered = [use for use in uses if use.is_out] + [use for use in uses if not use.is_out]
    for use in ordered:
        if use.label and clean_label(use.label):
            return clean_label(use.label)
    return f"{kind.upper()}{number}"


def derive_datastreams(
    pins: Iterable[tuple[str, int]],
    uses: Sequence[PinUse],
    *,
    values: Mapping[tuple[str, int], Sequence[str]],
    history: Iterable[tuple[str, int]] = (),
) -> list[DerivedDatastream]:
    """One datastream per pin (ids from 1 in pin order: virtual, digital, analog)."""
    history_pins = set(history)
    by_pin: dict[tuple[str, int], list[PinUse]] = {}
    for use in uses:
        by_pin.setdefault((use.kind, use.number), []).append(use)
    all_pins = sorted(
        {p for p in pins if 0 <= p[1] <= MAX_PIN} | set(by_pin),
        key=lambda p: ("vda".index(p[0]), p[1]),
    )
    derived: list[DerivedDatastream] = []
    taken: set[str] = set()
    for number, (kind, pin) in enumerate(all_pins, start=1):
        pin_uses = by_pin.get((kind, pin), [])
        literal, rule, reason = infer_type(
            kind, pin_uses, values.get((kind, pin), ()), has_history=(kind, pin) in history_pins
        )
        label = _unique(_label(kind, pin, pin_uses), kind, pin, taken)
        numeric = literal in (INT, DOUBLE)
        low, high = _range(pin_uses) if numeric else (None, None)
        units = next((use.units for use in pin_uses if use.units), None)
        labels = next((use.enum_labels for use in pin_uses if use.enum_labels), ())
        datastream = Datastream(
            id=DatastreamId(number),
            label=label,
            alias=_alias(label),
            pin=Pin(_KIND[kind], pin),
            type=DataType(literal),
            min=low,
            max=high,
            decimals=_decimals(pin_uses) if literal == DOUBLE else None,
            units=units.replace("\0", "")[:MAX_UNITS_CHARS] or None if units else None,
            sync_with_latest=True,
            enum_options=tuple(
                EnumOption(value=i, label=text.replace("\0", "")[:MAX_LABEL_CHARS] or str(i))
                for i, text in enumerate(labels, start=1)
            )
            if literal == ENUM
            else (),
            color=next((_color(use.color) for use in pin_uses if use.color is not None), None),
        )
        derived.append(
            DerivedDatastream(
                datastream=datastream,
                reason=f"{literal} (rule {rule}): {reason}",
                guessed=rule >= 3,
                pull=any(use.pull for use in pin_uses),
                phone=any(use.phone for use in pin_uses),
            )
        )
    return derived


def _unique(label: str, kind: str, pin: int, taken: set[str]) -> str:
    """``label``, else ``label (V5)``, else ``label (V5) 2``, ``3``… (DM §5.36)."""
    candidate = label
    if candidate in taken:
        candidate = f"{label[: MAX_LABEL_CHARS - 6]} ({kind.upper()}{pin})"
    base, n = candidate, 2
    while candidate in taken:
        candidate = f"{base[: MAX_LABEL_CHARS - 4]} {n}"
        n += 1
    taken.add(candidate)
    return candidate
