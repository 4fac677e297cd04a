"""A template's web dashboard: tabs of widgets on a grid, each bound to datastreams (console.md
§3.3, which is Pinbase's own recommendation: Blynk documents no grid).

The layout is stored per template and applies to every device of it. ``parse_dashboard`` turns
the JSON a client sends into a ``Dashboard`` checked against the template's datastreams: known
widget types, datastreams of the template whose data type the widget accepts (console.md §2.1),
positions inside a 12-column grid, sizes at least the widget's minimum, no two widgets on one
cell. ``to_json`` gives the same shape back.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from pinbase.domain.datastreams import Datastream, DataType
from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.ids import DatastreamId

GRID_COLUMNS = 12
MAX_ROWS = 200
"""Deep enough for a hundred two-row widgets stacked in one column."""

MAX_TABS = 4
"""The default tab plus three more, as Blynk's paid plans allow (console.md §3.3)."""

MAX_WIDGETS_PER_TAB = 100
MAX_NAME_CHARS = 50
MAX_WIDGET_ID_CHARS = 32
MAX_SETTINGS_BYTES = 8192
"""A widget's settings (labels, colours, steps, on/off values) fit in far less."""

ROLES = frozenset({1, 2, 3})
"""Admin, Staff, User: who may see a tab (None: everyone)."""

NUMBERS = frozenset({DataType.INT, DataType.DOUBLE})
ANY = frozenset(DataType)


@dataclass(frozen=True, slots=True)
class WidgetKind:
    """What a widget type accepts and how small it may be (console.md §2.1 and §3.3)."""

    types: frozenset[DataType]
    min_w: int
    min_h: int


WIDGETS: Mapping[str, WidgetKind] = {
    "SWITCH": WidgetKind(NUMBERS | {DataType.BOOL}, 1, 1),
    "SLIDER": WidgetKind(NUMBERS, 2, 1),
    "NUMBER_INPUT": WidgetKind(NUMBERS, 1, 1),
    "IMAGE_BUTTON": WidgetKind(frozenset({DataType.INT}), 1, 1),
    "WEB_PAGE_IMAGE_BUTTON": WidgetKind(frozenset({DataType.INT}), 1, 1),
    "LED": WidgetKind(NUMBERS | {DataType.BOOL}, 1, 1),
    "LABEL": WidgetKind(ANY, 2, 1),
    "GAUGE": WidgetKind(NUMBERS, 2, 1),
    "RADIAL_GAUGE": WidgetKind(NUMBERS, 2, 1),
    "ALARM_SOUND": WidgetKind(frozenset({DataType.INT}), 1, 1),
    "CHART": WidgetKind(NUMBERS, 4, 2),
    "CUSTOM_CHART": WidgetKind(ANY - {DataType.BOOL}, 4, 2),
    "HEATMAP_CHART": WidgetKind(NUMBERS | {DataType.ENUM}, 4, 2),
    "IMAGE_GALLERY": WidgetKind(frozenset({DataType.INT}), 2, 2),
    "BITMASK_TABLE": WidgetKind(frozenset({DataType.INT}), 2, 2),
    "GRADIENT_RAMP": WidgetKind(NUMBERS, 2, 1),
    "VIDEO": WidgetKind(frozenset({DataType.STRING}), 4, 2),
    "MAP": WidgetKind(frozenset({DataType.LOCATION}), 4, 2),
    "TERMINAL": WidgetKind(frozenset({DataType.STRING}), 4, 2),
    "SEGMENTED_SWITCH": WidgetKind(frozenset({DataType.INT, DataType.ENUM}), 2, 1),
    "MENU": WidgetKind(frozenset({DataType.INT, DataType.ENUM}), 2, 1),
    "TEXT_INPUT": WidgetKind(frozenset({DataType.STRING}), 2, 1),
    "MODULES": WidgetKind(ANY, 4, 2),
}
"""Every widget type of the console's catalogue, by its layout literal."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Widget:
    """One widget on the grid; ``settings`` is the widget's own JSON object, kept as sent."""

    id: str
    type: str
    x: int
    y: int
    w: int
    h: int
    datastream_ids: tuple[DatastreamId, ...]
    settings: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def overlaps(self, other: "Widget") -> bool:
        """Whether the two widgets share a grid cell."""
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DashboardTab:
    """A tab; ``roles`` None shows it to every role."""

    id: int
    name: str
    roles: tuple[int, ...] | None
    widgets: tuple[Widget, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Dashboard:
    """A template's web dashboard: at least the default tab."""

    tabs: tuple[DashboardTab, ...]

    def to_json(self) -> dict[str, Any]:
        """The layout in the shape ``parse_dashboard`` reads."""
        return {
            "tabs": [
                {
                    "id": tab.id,
                    "name": tab.name,
                    "roles": None if tab.roles is None else list(tab.roles),
                    "widgets": [
                        {
                            "id": w.id,
                            "type": w.type,
                            "x": w.x,
                            "y": w.y,
                            "w": w.w,
                            "h": w.h,
                            "dataStreamIds": list(w.datastream_ids),
                            "settings": dict(w.settings),
                        }
                        for w in tab.widgets
                    ],
                }
                for tab in self.tabs
            ]
        }

    def fitted(self, datastreams: Sequence[Datastream]) -> "Dashboard":
        """The dashboard after a datastream changed or went: each widget keeps the datastreams
        that still exist with a type it accepts; a widget left with none goes."""
        by_id = {ds.id: ds for ds in datastreams}
        tabs = []
        for tab in self.tabs:
            widgets = []
            for widget in tab.widgets:
                kept = tuple(
                    ds_id
                    for ds_id in widget.datastream_ids
                    if ds_id in by_id and by_id[ds_id].type in WIDGETS[widget.type].types
                )
                if kept:
                    widgets.append(replace(widget, datastream_ids=kept))
            tabs.append(replace(tab, widgets=tuple(widgets)))
        return Dashboard(tabs=tuple(tabs))


def parse_dashboard(data: object, datastreams: Sequence[Datastream]) -> Dashboard:
    """Read and check a layout sent by a client against the template's ``datastreams``.

    Raises:
        InvalidDefinition: naming the first rule broken.
    """
    root = _object(data, "the dashboard")
    tabs_data = root.get("tabs")
    if not isinstance(tabs_data, list) or not 1 <= len(tabs_data) <= MAX_TABS:
        raise InvalidDefinition(f"a dashboard has 1..{MAX_TABS} tabs")
    by_id = {ds.id: ds for ds in datastreams}
    tabs = tuple(_tab(item, by_id) for item in tabs_data)
    if len({tab.id for tab in tabs}) != len(tabs):
        raise InvalidDefinition("two tabs share an id")
    widget_ids = [widget.id for tab in tabs for widget in tab.widgets]
    if len(set(widget_ids)) != len(widget_ids):
        raise InvalidDefinition("two widgets share an id")
    if tabs[0].roles is not None:
        raise InvalidDefinition("the first tab is visible to every role (roles: null)")
    return Dashboard(tabs=tabs)


def _tab(data: object, datastreams: Mapping[DatastreamId, Datastream]) -> DashboardTab:
    tab = _object(data, "a tab")
    name = tab.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        raise InvalidDefinition(f"a tab name has 1..{MAX_NAME_CHARS} characters")
    roles = tab.get("roles")
    if roles is not None and (
        not isinstance(roles, list)
        or not roles
        or not all(_is_int(role) and role in ROLES for role in roles)
    ):
        raise InvalidDefinition("tab roles: null or a list of role ids 1..3")
    widgets_data = tab.get("widgets", [])
    if not isinstance(widgets_data, list) or len(widgets_data) > MAX_WIDGETS_PER_TAB:
        raise InvalidDefinition(f"a tab holds a list of at most {MAX_WIDGETS_PER_TAB} widgets")
    widgets = tuple(_widget(item, datastreams) for item in widgets_data)
    for index, widget in enumerate(widgets):
        for other in widgets[:index]:
            if widget.overlaps(other):
                raise InvalidDefinition(f"widgets {other.id!r} and {widget.id!r} overlap")
    return DashboardTab(
        id=_int(tab.get("id"), "tab id", low=1, high=2**31 - 1),
        name=name,
        roles=None if roles is None else tuple(sorted(set(roles))),
        widgets=widgets,
    )


def _widget(data: object, datastreams: Mapping[DatastreamId, Datastream]) -> Widget:
    widget = _object(data, "a widget")
    widget_id, kind_name = widget.get("id"), widget.get("type")
    if not isinstance(widget_id, str) or not 1 <= len(widget_id) <= MAX_WIDGET_ID_CHARS:
        raise InvalidDefinition(f"a widget id is a string of 1..{MAX_WIDGET_ID_CHARS} characters")
    if not isinstance(kind_name, str) or kind_name not in WIDGETS:
        raise InvalidDefinition(f"unknown widget type {kind_name!r}")
    kind = WIDGETS[kind_name]
    at = f"widget {widget_id!r}"  # so an editor can show the message on that widget
    x = _int(widget.get("x"), f"{at}: x", low=0, high=GRID_COLUMNS - 1)
    y = _int(widget.get("y"), f"{at}: y", low=0, high=MAX_ROWS - 1)
    w = _int(widget.get("w"), f"{at}: {kind_name} width", low=kind.min_w, high=GRID_COLUMNS - x)
    h = _int(widget.get("h"), f"{at}: {kind_name} height", low=kind.min_h, high=MAX_ROWS - y)
    ids = widget.get("dataStreamIds")
    if not isinstance(ids, list) or not ids or not all(_is_int(i) for i in ids):
        raise InvalidDefinition(f"widget {widget_id!r} needs a list of dataStreamIds")
    for ds_id in ids:
        datastream = datastreams.get(DatastreamId(ds_id))
        if datastream is None:
            raise InvalidDefinition(f"widget {widget_id!r}: no datastream {ds_id} in the template")
        if datastream.type not in kind.types:
            raise InvalidDefinition(
                f"widget {widget_id!r}: a {kind_name} cannot show a {datastream.type.value} "
                "datastream"
            )
    settings = _object(widget.get("settings", {}), f"{at}: settings")
    if len(orjson.dumps(settings)) > MAX_SETTINGS_BYTES:
        raise InvalidDefinition(f"{at}: settings exceed {MAX_SETTINGS_BYTES} bytes")
    return Widget(
        id=widget_id,
        type=kind_name,
        x=x,
        y=y,
        w=w,
        h=h,
        datastream_ids=tuple(DatastreamId(i) for i in dict.fromkeys(ids)),
        settings=settings,
    )


def _object(data: object, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidDefinition(f"{what} must be a JSON object")
    return data


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: object, what: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidDefinition(f"{what} must be an integer in {low}..{high}")
    return value
