"""Pins of legacy widgets (legacy-import.md §2.3, §2.4).

Theory of operation. Every widget of a legacy dashboard is read by its *shape* (one pin on the
widget, ``pins[]``, chart ``dataStreams[].pin``, report sources, tiles, eventor rules), never
by trusting its ``type``: the legacy server turned unknown types into buttons, we do not
(§2.3). The ``type`` only adds hints (§2.4): a recommended data type, whether the widget sends
(``out``), numeric signs, enum labels. The result is a list of ``PinUse`` per scope (the
dashboard, or one DEVICE_TILES tile template), which ``legacy_datastreams`` turns into
datastreams, plus the issues (features that are not migrated, unknown types).
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pinbase.domain.legacy_catalogue import (
    DOUBLE,
    ENUM,
    INT,
    MULTI_PIN_WIDGETS,
    NO_PIN_WIDGETS,
    NOT_MIGRATED,
    NUMERIC_CONDITIONS,
    ONE_PIN,
    PHONE_WIDGETS,
    STRING,
    TEXT_CONDITIONS,
    WHY_NOT,
    is_known_type,
)
from pinbase.domain.legacy_profiles import as_dict, as_int, as_list, as_text
from pinbase.domain.legacy_report import Issue
from pinbase.domain.users import MAX_TZ

KINDS = {"VIRTUAL": "v", "DIGITAL": "d", "ANALOG": "a"}
"""Legacy ``pinType`` literals and the letter of each (§2.3 "Valid pin")."""

TAG_IDS = range(100_000, 200_000)
"""Target ids of tags; below is a device id, above a DEVICE_SELECTOR widget (§2.3)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PinUse:
    """One widget's use of one pin, with everything §2.6 needs to derive a datastream.

    ``hint`` is the recommended data type (None: decide by evidence); ``targets`` the raw
    target ids (device, tag or selector); ``value`` the widget's stored value for them.
    """

    kind: str
    number: int
    widget: str
    hint: str | None = None
    is_out: bool = False
    label: str | None = None
    min: float | None = None
    max: float | None = None
    range_mapping: bool = False
    pwm: bool = False
    numeric: bool = False
    fraction_digits: int | None = None
    units: str | None = None
    enum_labels: tuple[str, ...] = ()
    color: int | None = None
    text_condition: bool = False
    known_values: tuple[str, ...] = ()
    send_step: bool = False
    targets: tuple[int, ...] = ()
    value: str | None = None
    pull: bool = False
    phone: bool = False

    @property
    def pin_name(self) -> str:
        """``v5``, ``d13``."""
        return f"{self.kind}{self.number}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TileTemplateScan:
    """One DEVICE_TILES tile template: an extra Pinbase template (§5.1)."""

    id: int
    name: str
    device_ids: tuple[int, ...]
    uses: tuple[PinUse, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DashboardScan:
    """Everything the widgets of one dashboard say about pins and features."""

    uses: tuple[PinUse, ...] = ()
    tile_templates: tuple[TileTemplateScan, ...] = ()
    tile_values: Mapping[tuple[int, str, int], str] = field(default_factory=dict)
    """(device id, kind, number) -> a tile's own pin value."""
    selectors: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    issues: tuple[Issue, ...] = ()
    tz_names: tuple[str, ...] = ()
    offline_alert: bool = False
    """A NOTIFICATION widget with ``notifyWhenOffline`` (§5.3)."""
    offline_ignore_ms: int = 0


def pin_of(stream: Mapping[str, Any]) -> tuple[str, int] | None:
    """The (kind letter, number) of a legacy DataStream or one-pin widget, or None when the pin
    is unassigned (§2.3: a known ``pinType`` and ``pin`` ≠ -1; a missing ``pinType`` is
    unassigned, a missing ``pin`` is 0)."""
    kind = KINDS.get(str(stream.get("pinType", "")).upper())
    number = as_int(stream.get("pin"), -1) if "pin" in stream else 0
    if kind is None or number == -1:
        return None
    return (kind, number)


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _fraction_digits(widget: Mapping[str, Any]) -> int | None:
    if "maximumFractionDigits" not in widget:
        return None
    return max(0, as_int(widget.get("maximumFractionDigits")))


def _value_formatting(text: str | None) -> tuple[int | None, str | None]:
    """Decimals and units from a Value Display's ``valueFormatting`` (``/pin.##/ °C``)."""
    if text is None:
        return None, None
    for placeholder in ("/pin.###/", "/pin.##/", "/pin.#/", "/pin./", "/pin/"):
        at = text.find(placeholder)
        if at >= 0:
            digits = placeholder.count("#") if "." in placeholder else None
            units = text[at + len(placeholder) :].strip() or None
            return digits, units
    return None, None


def _one(
    widget: Mapping[str, Any], kind_type: str, targets: tuple[int, ...], **extra: Any
) -> PinUse | None:
    pin = pin_of(widget)
    if pin is None:
        return None
    hint, out = ONE_PIN.get(kind_type, (None, False))
    digits = _fraction_digits(widget)
    units = as_text(widget.get("suffix"))
    if kind_type in ("DIGIT4_DISPLAY", "LABELED_VALUE_DISPLAY"):
        digits, units = _value_formatting(as_text(widget.get("valueFormatting")))
    if kind_type == "TEMPERATURE" and widget.get("isCelsius") is True:
        units = "Celsius"
    if kind_type in ("SLIDER", "VERTICAL_SLIDER") and digits:
        hint = DOUBLE
    step = _float(widget.get("step"))
    fractional_step = kind_type in ("STEP", "VERTICAL_STEP", "NUMBER_INPUT") and any(
        x is not None and not float(x).is_integer()
        for x in (step, _float(widget.get("min")), _float(widget.get("max")))
    )
    if fractional_step:
        hint = DOUBLE
    labels = tuple(str(x) for x in as_list(widget.get("labels")))
    if hint == ENUM and not labels:
        hint = INT
    known: tuple[str, ...] = ()
    if kind_type == "TIMER":
        known = tuple(
            v for v in (as_text(widget.get("startValue")), as_text(widget.get("stopValue"))) if v
        )
    return PinUse(
        kind="a" if pin[0] == "d" and widget.get("pwmMode") is True else pin[0],
        number=pin[1],
        widget=kind_type,
        hint=hint,
        is_out=out,
        label=as_text(widget.get("label")),
        min=_float(widget.get("min")),
        max=_float(widget.get("max")),
        range_mapping=widget.get("rangeMappingOn") is True,
        pwm=widget.get("pwmMode") is True,
        numeric=bool(digits) or fractional_step,
        fraction_digits=digits,
        units=units,
        enum_labels=labels if hint == ENUM else (),
        color=as_int(widget["color"]) if "color" in widget else None,
        known_values=known,
        send_step=widget.get("isSendStep") is True,
        targets=targets,
        value=_clean_value(as_text(widget.get("value")), pin),
        pull=as_int(widget.get("frequency")) > 0 and not out,
        phone=kind_type in PHONE_WIDGETS,
        **extra,
    )


def _clean_value(value: str | None, pin: tuple[str, int]) -> str | None:
    """A widget value without the command prefix old Timers stored (``dw\\x005\\x001`` → ``1``,
    §2.5)."""
    if value is None:
        return None
    prefix = f"{pin[0]}w\0{pin[1]}\0"
    if value.lower().startswith(prefix):
        return value[len(prefix) :]
    return value


def _multi(widget: Mapping[str, Any], kind_type: str, targets: tuple[int, ...]) -> list[PinUse]:
    streams = [as_dict(s) for s in as_list(widget.get("pins"))]
    split = widget.get("splitMode") is True or widget.get("split") is True
    label = as_text(widget.get("label"))
    uses: list[PinUse] = []
    if kind_type in ("RGB", "ZERGBA", "TWO_AXIS_JOYSTICK"):
        suffixes = (" R", " G", " B") if kind_type != "TWO_AXIS_JOYSTICK" else (" X", " Y")
        if not split:
            streams = streams[:1]
        for index, stream in enumerate(streams):
            pin = pin_of(stream)
            if pin is None:
                continue
            suffix = suffixes[index] if split and index < len(suffixes) else ""
            uses.append(
                PinUse(
                    kind=pin[0],
                    number=pin[1],
                    widget=kind_type,
                    hint=INT if split else STRING,
                    is_out=True,
                    label=(as_text(stream.get("label")) or label or "") + suffix or None,
                    min=_float(stream.get("min")) if split else None,
                    max=_float(stream.get("max")) if split else None,
                    targets=targets,
                    value=as_text(stream.get("value")),
                )
            )
        return uses
    advanced = kind_type == "LCD" and widget.get("advancedMode") is True
    if advanced:
        streams = streams[:1]
    hint = STRING if advanced else (DOUBLE if kind_type == "LOGGER" else None)
    for stream in streams:
        pin = pin_of(stream)
        if pin is not None:
            uses.append(
                PinUse(
                    kind=pin[0],
                    number=pin[1],
                    widget=kind_type,
                    hint=hint,
                    label=as_text(stream.get("label")) or label,
                    numeric=kind_type == "LOGGER",
                    targets=targets,
                    value=as_text(stream.get("value")),
                )
            )
    return uses


def _chart(widget: Mapping[str, Any]) -> list[PinUse]:
    uses = []
    for entry in (as_dict(s) for s in as_list(widget.get("dataStreams"))):
        stream = as_dict(entry.get("pin"))
        pin = pin_of(stream)
        if pin is None:
            continue
        uses.append(
            PinUse(
                kind=pin[0],
                number=pin[1],
                widget="ENHANCED_GRAPH",
                hint=DOUBLE,
                label=as_text(entry.get("title")) or as_text(stream.get("label")),
                numeric=True,
                fraction_digits=_fraction_digits(entry),
                units=as_text(entry.get("suffix")),
                targets=(as_int(entry.get("targetId")),),
            )
        )
    return uses


def _report(widget: Mapping[str, Any]) -> list[PinUse]:
    sources = [as_dict(s) for s in as_list(widget.get("reportSources"))]
    for report in (as_dict(r) for r in as_list(widget.get("reports"))):
        sources.extend(as_dict(s) for s in as_list(report.get("reportSources")))
    uses = []
    for source in sources:
        streams = as_list(source.get("reportDataStreams")) + as_list(source.get("dataStreams"))
        targets = tuple(as_int(d) for d in as_list(source.get("deviceIds")))
        for stream in (as_dict(s) for s in streams):
            pin = pin_of(stream)
            if pin is not None:
                uses.append(
                    PinUse(
                        kind=pin[0],
                        number=pin[1],
                        widget="REPORT",
                        hint=DOUBLE,
                        label=as_text(stream.get("label")),
                        numeric=True,
                        targets=targets,
                    )
                )
    return uses


def _eventor(widget: Mapping[str, Any], targets: tuple[int, ...]) -> list[PinUse]:
    uses = []
    for rule in (as_dict(r) for r in as_list(widget.get("rules"))):
        trigger = pin_of(as_dict(rule.get("triggerPin")))
        condition = str(as_dict(rule.get("condition")).get("type", "")).upper()
        if trigger is not None and condition != "CHANGED":
            uses.append(
                PinUse(
                    kind=trigger[0],
                    number=trigger[1],
                    widget="EVENTOR",
                    numeric=condition in NUMERIC_CONDITIONS,
                    text_condition=condition in TEXT_CONDITIONS,
                    targets=targets,
                )
            )
        for action in (as_dict(a) for a in as_list(rule.get("actions"))):
            pin = pin_of(as_dict(action.get("pin")))
            if pin is None or str(action.get("type", "")).upper() != "SETPIN":
                continue
            value = as_text(action.get("value"))
            uses.append(
                PinUse(
                    kind=pin[0],
                    number=pin[1],
                    widget="EVENTOR",
                    is_out=True,
                    known_values=(value,) if value else (),
                    targets=targets,
                )
            )
    return uses


def widget_uses(widget: Mapping[str, Any], *, default_target: int = 0) -> Iterator[PinUse]:
    """The pins one widget uses, by shape (§2.3), with the hints of its known type (§2.4)."""
    kind_type = str(widget.get("type", "")).upper()
    targets = (as_int(widget.get("deviceId"), default_target),)
    if kind_type in NO_PIN_WIDGETS:
        return
    if kind_type == "ENHANCED_GRAPH" or (kind_type not in ONE_PIN and "dataStreams" in widget):
        yield from _chart(widget)
    elif kind_type == "REPORT":
        yield from _report(widget)
    elif kind_type == "EVENTOR":
        yield from _eventor(widget, targets)
    elif kind_type in MULTI_PIN_WIDGETS or (kind_type not in ONE_PIN and "pins" in widget):
        yield from _multi(widget, kind_type, targets)
    else:
        use = _one(widget, kind_type, targets)
        if use is not None:
            yield use


def scan_dashboard(dashboard: Mapping[str, Any], *, subject: str) -> DashboardScan:
    """Read every widget of a dashboard (``subject`` names it in issues)."""
    uses: list[PinUse] = []
    tiles: list[TileTemplateScan] = []
    tile_values: dict[tuple[int, str, int], str] = {}
    selectors: dict[int, tuple[int, ...]] = {}
    issues: list[Issue] = []
    tz_names: list[str] = []
    offline_alert, offline_ignore_ms = False, 0
    for widget in (as_dict(w) for w in as_list(dashboard.get("widgets"))):
        kind_type = str(widget.get("type", "")).upper()
        if kind_type == "DEVICE_SELECTOR":
            ids = tuple(as_int(d) for d in as_list(widget.get("deviceIds")))
            selectors[as_int(widget.get("id"))] = ids
        zone = (as_text(widget.get("tzName")) or "").replace("\0", "")[:MAX_TZ]
        if kind_type == "RTC" and zone:
            tz_names.append(zone)
        if kind_type == "NOTIFICATION" and widget.get("notifyWhenOffline") is True:
            offline_alert = True
            offline_ignore_ms = as_int(widget.get("notifyWhenOfflineIgnorePeriod"))
        if kind_type in NOT_MIGRATED:
            code = NOT_MIGRATED[kind_type]
            issues.append(Issue(code=code, subject=subject, reason=WHY_NOT[code]))
        if not is_known_type(kind_type):
            issues.append(
                Issue(
                    code="UNKNOWN_WIDGET",
                    subject=subject,
                    reason=f"widget type {kind_type or '(none)'!r} read by its shape only",
                )
            )
        if kind_type == "DEVICE_TILES":
            tiles.extend(_tile_templates(widget))
            for tile in (as_dict(t) for t in as_list(widget.get("tiles"))):
                stream = as_dict(tile.get("pin"))
                pin, value = pin_of(stream), as_text(stream.get("value"))
                if pin is not None and value is not None:
                    tile_values[(as_int(tile.get("deviceId")), pin[0], pin[1])] = value
            continue
        uses.extend(widget_uses(widget))
    return DashboardScan(
        uses=tuple(uses),
        tile_templates=tuple(tiles),
        tile_values=tile_values,
        selectors=selectors,
        issues=tuple(issues),
        tz_names=tuple(tz_names),
        offline_alert=offline_alert,
        offline_ignore_ms=offline_ignore_ms,
    )


def _tile_templates(widget: Mapping[str, Any]) -> Iterator[TileTemplateScan]:
    for template in (as_dict(t) for t in as_list(widget.get("templates"))):
        device_ids = tuple(as_int(d) for d in as_list(template.get("deviceIds")))
        uses: list[PinUse] = []
        # Open point 5 of §7: the tile template's own stream is under "pin" or "dataStream".
        own = as_dict(template.get("pin")) or as_dict(template.get("dataStream"))
        pin = pin_of(own)
        if pin is not None:
            mode = str(template.get("mode", "")).upper()
            uses.append(
                PinUse(
                    kind=pin[0],
                    number=pin[1],
                    widget=f"TILE_{mode or 'PAGE'}",
                    hint=INT if mode in ("BUTTON", "DIMMER") else None,
                    is_out=mode in ("BUTTON", "DIMMER"),
                    label=as_text(own.get("label")),
                    min=_float(own.get("min")),
                    max=_float(own.get("max")),
                    targets=device_ids,
                )
            )
        for nested in (as_dict(w) for w in as_list(template.get("widgets"))):
            uses.extend(widget_uses(nested))
        yield TileTemplateScan(
            id=as_int(template.get("id")),
            name=as_text(template.get("name")) or "Tile",
            device_ids=device_ids,
            uses=tuple(uses),
        )


def resolve_targets(
    targets: tuple[int, ...],
    *,
    tags: Mapping[int, tuple[int, ...]],
    selectors: Mapping[int, tuple[int, ...]],
) -> tuple[int, ...]:
    """The device ids behind raw target ids (§2.3: device, tag, or DEVICE_SELECTOR widget)."""
    devices: list[int] = []
    for target in targets:
        if target in TAG_IDS:
            devices.extend(tags.get(target, ()))
        elif target >= TAG_IDS.stop:
            devices.extend(selectors.get(target, ()))
        else:
            devices.append(target)
    return tuple(dict.fromkeys(devices))
