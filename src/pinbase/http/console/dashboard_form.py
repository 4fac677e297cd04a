"""The Web Dashboard tab's layout editor as an HTML form (console.md §3.3, §5.2).

The form lists the widgets of the dashboard's first tab, each with its datastream, position and
size (x, y, w, h in grid units) and its settings, a "Delete" box, and a row to add a widget: a
choice of (widget type, datastream) pairs that console.md §2.1 allows, so only a fitting pair
can be picked. Saving rebuilds the layout JSON and hands it to ``Templates.set_dashboard``,
which checks it (``domain.dashboards.parse_dashboard``: grid bounds, minimum sizes, overlaps);
its message names the widget it is about, and the form shows it on that widget's row. Other tabs
of a stored layout are kept as they are. ``static/dashboard_editor.js`` adds the preview grid's
keyboard moves and resizes, which only change the inputs: the form remains the editor.
"""

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from pinbase.domain.dashboards import GRID_COLUMNS, WIDGETS, Dashboard
from pinbase.domain.datastreams import Datastream
from pinbase.domain.ids import DatastreamId
from pinbase.http.console.template_forms import is_count, text

MAX_EXACT = 2**53
"""Whole numbers up to here are kept as integers in a widget's settings (exact in JSON and in a
browser's numbers); beyond, as floating point."""

MAX_FORM_WIDGETS = 100
"""``domain.dashboards.MAX_WIDGETS_PER_TAB``: rows a posted form is read for."""


@dataclass(frozen=True, slots=True)
class Setting:
    """One widget setting the form offers: its key in the layout's ``settings``, label, kind."""

    key: str
    label: str
    kind: str  # "text", "number" or "check"


COMMON = (Setting("title", "Title", "text"), Setting("color", "Colour", "text"))
KINDS: dict[str, tuple[str, tuple[int, int], tuple[Setting, ...]]] = {
    "SWITCH": (
        "Switch",
        (2, 1),
        (
            Setting("onValue", "ON value", "number"),
            Setting("offValue", "OFF value", "number"),
            Setting("onLabel", "ON label", "text"),
            Setting("offLabel", "OFF label", "text"),
        ),
    ),
    "SLIDER": (
        "Slider",
        (4, 1),
        (
            Setting("step", "Step", "number"),
            Setting("sendOnReleaseOnly", "Send on release", "check"),
        ),
    ),
    "NUMBER_INPUT": (
        "Number Input",
        (2, 1),
        (Setting("step", "Step", "number"), Setting("loop", "Loop values", "check")),
    ),
    "LABEL": ("Label", (3, 1), ()),
    "GAUGE": ("Gauge", (3, 2), ()),
    "LED": ("LED", (2, 1), ()),
    "CHART": ("Chart", (6, 3), ()),
    "TERMINAL": (
        "Terminal",
        (6, 3),
        (
            Setting("newLine", "Add new line", "check"),
            Setting("autoScroll", "Auto scroll", "check"),
            Setting("showInput", "Show input", "check"),
        ),
    ),
    "SEGMENTED_SWITCH": ("Segmented Switch", (4, 1), ()),
    "MAP": ("Map", (6, 3), ()),
}
"""The widgets the console draws (console.md §5.1's v1 set, one ``static/widgets/<type>.js``
each): name, default size (console.md §3.3) and settings beyond title and colour."""


@dataclass(slots=True)
class WidgetRow:
    """One widget as the form shows it (strings as typed)."""

    id: str
    type: str
    datastream: str
    x: str
    y: str
    w: str
    h: str
    settings: dict[str, str] = field(default_factory=dict)
    error: str = ""

    @property
    def name(self) -> str:
        """The widget type's name, ``Switch``."""
        return KINDS.get(self.type, (self.type.title(),))[0]

    def settings_offered(self) -> tuple[Setting, ...]:
        """Title, colour and the type's own settings."""
        return COMMON + (KINDS[self.type][2] if self.type in KINDS else ())


@dataclass(slots=True)
class LayoutForm:
    """The whole form: the widgets and an error that names no widget."""

    widgets: list[WidgetRow]
    error: str = ""
    others: list[dict[str, Any]] = field(default_factory=list)
    """The stored layout's tabs after the first, kept as they are."""


@dataclass(frozen=True, slots=True)
class Choice:
    """An entry of "Add widget": a widget type for a datastream it can show."""

    value: str
    label: str


def choices(datastreams: Sequence[Datastream]) -> list[Choice]:
    """Every (type, datastream) pair the catalogue allows, as ``TYPE:id``."""
    found = []
    for kind, (name, _, _) in KINDS.items():
        for ds in datastreams:
            if ds.type in WIDGETS[kind].types:
                label = f"{name} — {ds.label} ({ds.pin.name.upper()})"
                found.append(Choice(f"{kind}:{ds.id}", label))
    return found


def stored_form(dashboard: Dashboard | None) -> LayoutForm:
    """The form of the stored layout (an empty first tab when none is designed)."""
    if dashboard is None:
        return LayoutForm(widgets=[])
    layout = dashboard.to_json()["tabs"]
    rows = [
        WidgetRow(
            id=w["id"],
            type=w["type"],
            datastream=str(w["dataStreamIds"][0]),
            x=str(w["x"]),
            y=str(w["y"]),
            w=str(w["w"]),
            h=str(w["h"]),
            settings={k: _shown(v) for k, v in w["settings"].items()},
        )
        for w in layout[0]["widgets"]
    ]
    return LayoutForm(widgets=rows, others=layout[1:])


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else ""
    return str(value)


def posted_form(form: FormData, stored: Dashboard | None) -> LayoutForm:
    """The form as posted: widgets not marked for deletion, plus the one added."""
    others = [] if stored is None else stored.to_json()["tabs"][1:]
    rows = []
    count = min(_count(text(form, "widgets")), MAX_FORM_WIDGETS)
    for index in range(count):
        prefix = f"w{index}_"
        kind = text(form, prefix + "type")
        if form.get(prefix + "delete") or kind not in KINDS:
            continue
        row = _row(form, prefix, widget_id=text(form, prefix + "id"), kind=kind)
        row.datastream = text(form, prefix + "datastream")
        rows.append(row)
    added = text(form, "new_widget")
    kind, _, ds_id = added.partition(":")
    if kind in KINDS:
        row = _row(form, "new_", widget_id=_free_id(rows), kind=kind)
        row.datastream = ds_id
        width, height = KINDS[kind][1]
        row.w, row.h = row.w or str(width), row.h or str(height)
        rows.append(row)
    return LayoutForm(widgets=rows, others=others)


def _count(value: str) -> int:
    return int(value) if is_count(value) else 0


def _row(form: FormData, prefix: str, *, widget_id: str, kind: str) -> WidgetRow:
    settings = {s.key: text(form, prefix + s.key) for s in COMMON + KINDS[kind][2]}
    return WidgetRow(
        id=widget_id,
        type=kind,
        datastream="",
        x=text(form, prefix + "x"),
        y=text(form, prefix + "y"),
        w=text(form, prefix + "w"),
        h=text(form, prefix + "h"),
        settings={k: v for k, v in settings.items() if v},
    )


def _free_id(rows: Sequence[WidgetRow]) -> str:
    taken = {row.id for row in rows}
    return next(f"w{n}" for n in range(1, len(rows) + 2) if f"w{n}" not in taken)


def next_place(rows: Sequence[WidgetRow]) -> tuple[int, int]:
    """Where a new widget goes: the left edge, under every widget (x, y)."""
    bottom = 0
    for row in rows:
        if is_count(row.y) and is_count(row.h):
            bottom = max(bottom, int(row.y) + int(row.h))
    return 0, bottom


def layout_of(form: LayoutForm) -> dict[str, Any] | None:
    """The layout JSON the form describes, or None with the rows' errors set for numbers that
    cannot be read (the service checks everything else)."""
    widgets = []
    for row in form.widgets:
        numbers = {}
        for name in ("x", "y", "w", "h"):
            value = getattr(row, name)
            if not is_count(value):
                row.error = f"{name} is a whole number (0 to {GRID_COLUMNS - 1} for x)."
                break
            numbers[name] = int(value)
        if not is_count(row.datastream):
            row.error = row.error or "Choose a datastream."
        if row.error:
            continue
        widgets.append(
            {
                "id": row.id,
                "type": row.type,
                **numbers,
                "dataStreamIds": [DatastreamId(int(row.datastream))],
                "settings": _settings(row),
            }
        )
    if any(row.error for row in form.widgets):
        return None
    first = {"id": 1, "name": "Dashboard", "roles": None, "widgets": widgets}
    return {"tabs": [first, *form.others]}


def _settings(row: WidgetRow) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for setting in row.settings_offered():
        raw = row.settings.get(setting.key, "")
        if setting.kind == "check":
            values[setting.key] = bool(raw)
        elif raw and setting.kind == "number":
            number = _finite(raw)
            if number is None:
                row.error = f"{setting.label} is a number."
            else:
                exact = number.is_integer() and abs(number) <= MAX_EXACT
                values[setting.key] = int(number) if exact else number
        elif raw:
            values[setting.key] = raw
    return values


def _finite(raw: str) -> float | None:
    try:
        number = float(raw)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


QUOTED = re.compile(r"'([^']+)'")


def blame(form: LayoutForm, message: str) -> None:
    """Put the service's message on the widget it names (the later one of two that overlap),
    or on the form."""
    named = set(QUOTED.findall(message))
    row = next((r for r in reversed(form.widgets) if r.id in named), None)
    if row is None:
        form.error = message
    else:
        row.error = message
