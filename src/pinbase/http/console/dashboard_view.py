"""The Dashboard tab's layout as the browser's dashboard runtime reads it (static/dashboard.js).

The template's designed web dashboard, or the default one (``domain.dashboard_defaults``) when
it has none, with the tabs the caller's role may see (console.md §3.3: a tab may be limited to
roles). Each widget carries its datastreams in the shape of the widget module contract
(``ctx.datastream``: id, name, label, type, min, max, step, units, decimals, options, color), so
a widget needs nothing else from the server; values arrive over the live socket.
"""

from typing import Any

from pinbase.domain.dashboard_defaults import default_dashboard
from pinbase.domain.dashboards import Widget
from pinbase.domain.datastreams import Datastream, DataType
from pinbase.domain.templates import Template


def dashboard_json(template: Template, role_id: int) -> dict[str, Any]:
    """The layout for a caller of ``role_id``: ``{"designed", "tabs": [{id, name, widgets}]}``."""
    dashboard = template.dashboard or default_dashboard(template.datastreams)
    by_id = {ds.id: ds for ds in template.datastreams}
    return {
        "designed": template.dashboard is not None,
        "tabs": [
            {
                "id": tab.id,
                "name": tab.name,
                "widgets": [_widget(widget, by_id) for widget in tab.widgets],
            }
            for tab in dashboard.tabs
            if tab.roles is None or role_id in tab.roles
        ],
    }


def _widget(widget: Widget, datastreams: dict[Any, Datastream]) -> dict[str, Any]:
    return {
        "id": widget.id,
        "type": widget.type.lower(),
        "x": widget.x,
        "y": widget.y,
        "w": widget.w,
        "h": widget.h,
        "settings": dict(widget.settings),
        "datastreams": [
            datastream_json(datastreams[ds_id])
            for ds_id in widget.datastream_ids
            if ds_id in datastreams
        ],
    }


def datastream_json(datastream: Datastream) -> dict[str, Any]:
    """A datastream as widgets read it (``ctx.datastream``)."""
    return {
        "id": datastream.id,
        "name": datastream.label,
        "label": datastream.label,
        "pin": datastream.pin.name,
        "type": datastream.type.value,
        "min": datastream.min,
        "max": datastream.max,
        "step": default_step(datastream),
        "units": datastream.units,
        "decimals": datastream.decimals,
        "options": [
            {"value": option.value, "label": option.label, "color": option.color}
            for option in datastream.enum_options
        ],
        "color": datastream.color,
    }


def default_step(datastream: Datastream) -> float:
    """A control's step when its widget sets none: 1 for integers; for a Double, one unit of
    its last shown decimal ("#.##" → 0.01), else 0.1."""
    if datastream.type is not DataType.DOUBLE:
        return 1
    pattern = datastream.decimals or ""
    point = pattern.find(".")
    digits = len(pattern) - point - 1 if point >= 0 else 1
    return float(10**-digits) if digits else 1.0
