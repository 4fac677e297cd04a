"""The default web dashboard of a template without one (domain/dashboard_defaults.py)."""

from typing import Any

from pinbase.domain.dashboard_defaults import default_dashboard
from pinbase.domain.dashboards import parse_dashboard
from pinbase.domain.datastreams import Datastream, DataType
from pinbase.domain.ids import DatastreamId
from pinbase.domain.pins import Pin, PinType


def stream(number: int, kind: DataType, **settings: Any) -> Datastream:
    return Datastream(
        id=DatastreamId(number),
        label=f"S{number}",
        pin=Pin(PinType.VIRTUAL, number),
        type=kind,
        **settings,
    )


def test_each_type_gets_its_widget_and_numbers_share_one_chart() -> None:
    """INT 0..1 and BOOL → Switch, other numbers → Gauge (and one Chart of them), String →
    Label, Enum → Segmented Switch, Location → Map."""
    streams = [
        stream(1, DataType.INT, min=0, max=1),
        stream(2, DataType.BOOL),
        stream(3, DataType.INT, min=0, max=255),
        stream(4, DataType.DOUBLE),
        stream(5, DataType.STRING),
        stream(6, DataType.ENUM),
        stream(7, DataType.LOCATION),
    ]
    (tab,) = default_dashboard(streams).tabs
    kinds = [(widget.type, widget.datastream_ids) for widget in tab.widgets]
    assert kinds == [
        ("SWITCH", (1,)),
        ("SWITCH", (2,)),
        ("GAUGE", (3,)),
        ("GAUGE", (4,)),
        ("LABEL", (5,)),
        ("SEGMENTED_SWITCH", (6,)),
        ("MAP", (7,)),
        ("CHART", (3, 4)),
    ]
    assert tab.roles is None


def test_the_default_layout_is_a_valid_layout_of_the_template() -> None:
    """Placed on the 12-column grid without overlaps, it passes the layout check as it is."""
    streams = [stream(n, DataType.DOUBLE) for n in range(1, 15)]
    dashboard = default_dashboard(streams)
    assert parse_dashboard(dashboard.to_json(), streams) == dashboard
    (tab,) = dashboard.tabs
    assert [ds for w in tab.widgets if w.type == "CHART" for ds in w.datastream_ids] == list(
        range(1, 11)
    )


def test_a_template_without_datastreams_has_an_empty_default_tab() -> None:
    """Nothing to show: one tab, no widgets."""
    (tab,) = default_dashboard([]).tabs
    assert tab.widgets == ()
