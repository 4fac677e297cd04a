"""The web dashboard of a template nobody designed one for (issue #9 item 4).

One sensible widget per datastream, by its type: an INT 0..1 (or a BOOL) is a Switch, any other
number a Gauge, with one Chart of all those numbers; a String a Label, an Enum a Segmented
Switch, a Location a Map. Sizes are console.md §3.3's defaults; widgets flow left to right over
the 12-column grid in datastream order, a new row starting where the next one does not fit.
"""

from collections.abc import Sequence

from pinbase.domain.dashboards import GRID_COLUMNS, Dashboard, DashboardTab, Widget
from pinbase.domain.datastreams import Datastream, DataType

MAX_CHART_SERIES = 10
"""The chart endpoint's limit of datastreams per chart (``services.charts.MAX_SERIES``)."""

DEFAULT_TAB = "Dashboard"

SIZES = {
    "SWITCH": (2, 1),
    "GAUGE": (3, 2),
    "LABEL": (3, 1),
    "SEGMENTED_SWITCH": (4, 1),
    "MAP": (6, 3),
    "CHART": (6, 3),
}
"""Default width and height of each widget type used here (console.md §3.3)."""


def is_switch(datastream: Datastream) -> bool:
    """A BOOL, or an INT whose range is exactly 0..1: on/off."""
    if datastream.type is DataType.BOOL:
        return True
    return datastream.type is DataType.INT and (datastream.min, datastream.max) == (0, 1)


def widget_type_for(datastream: Datastream) -> str:
    """The widget type a datastream gets on a default dashboard."""
    if is_switch(datastream):
        return "SWITCH"
    match datastream.type:
        case DataType.INT | DataType.DOUBLE:
            return "GAUGE"
        case DataType.ENUM:
            return "SEGMENTED_SWITCH"
        case DataType.LOCATION:
            return "MAP"
        case _:
            return "LABEL"


def default_dashboard(datastreams: Sequence[Datastream]) -> Dashboard:
    """One tab holding a widget per datastream and a Chart of the gauged numbers."""
    placed: list[tuple[str, tuple[Datastream, ...]]] = [
        (widget_type_for(ds), (ds,)) for ds in datastreams
    ]
    charted = tuple(ds for kind, (ds,) in placed if kind == "GAUGE")[:MAX_CHART_SERIES]
    if charted:
        placed.append(("CHART", charted))
    widgets = []
    x = y = row_height = 0
    for number, (kind, bound) in enumerate(placed, start=1):
        w, h = SIZES[kind]
        if x + w > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        widgets.append(
            Widget(
                id=f"w{number}",
                type=kind,
                x=x,
                y=y,
                w=w,
                h=h,
                datastream_ids=tuple(ds.id for ds in bound),
            )
        )
        x, row_height = x + w, max(row_height, h)
    return Dashboard(
        tabs=(DashboardTab(id=1, name=DEFAULT_TAB, roles=None, widgets=tuple(widgets)),)
    )
