"""Web dashboard layouts sent by a client (domain/dashboards.py, console.md §3.3): every rule
refuses with a message naming it."""

from typing import Any

import pytest

from pinbase.domain.dashboards import (
    MAX_SETTINGS_BYTES,
    MAX_TABS,
    MAX_WIDGETS_PER_TAB,
    parse_dashboard,
)
from pinbase.domain.datastreams import Datastream, DataType
from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.ids import DatastreamId
from pinbase.domain.pins import Pin, PinType

STREAMS = [
    Datastream(id=DatastreamId(1), label="Relay", pin=Pin(PinType.VIRTUAL, 1), type=DataType.INT),
    Datastream(id=DatastreamId(2), label="Note", pin=Pin(PinType.VIRTUAL, 2), type=DataType.STRING),
]


def widget(**fields: Any) -> dict[str, Any]:
    """A valid Switch on datastream 1 at the top left, with ``fields`` changed."""
    return {
        "id": "w1",
        "type": "SWITCH",
        "x": 0,
        "y": 0,
        "w": 2,
        "h": 1,
        "dataStreamIds": [1],
    } | fields


def tab(**fields: Any) -> dict[str, Any]:
    """A valid first tab holding one widget, with ``fields`` changed."""
    return {"id": 1, "name": "Dashboard", "roles": None, "widgets": [widget()]} | fields


def test_a_valid_layout_is_read() -> None:
    """Tabs, roles and widgets come back as values; repeated datastream ids count once."""
    dashboard = parse_dashboard(
        {
            "tabs": [
                tab(widgets=[widget(dataStreamIds=[1, 1], settings={"onValue": 1})]),
                {"id": 2, "name": "Staff", "roles": [2, 1, 2], "widgets": []},
            ]
        },
        STREAMS,
    )
    first, second = dashboard.tabs
    assert first.widgets[0].datastream_ids == (1,)
    assert second.roles == (1, 2)


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ([], "the dashboard must be a JSON object"),
        ({"tabs": []}, f"a dashboard has 1..{MAX_TABS} tabs"),
        ({"tabs": [tab()] * (MAX_TABS + 1)}, f"a dashboard has 1..{MAX_TABS} tabs"),
        ({"tabs": [tab(), tab(widgets=[])]}, "two tabs share an id"),
        (
            {"tabs": [tab(), tab(id=2, roles=[1])]},
            "two widgets share an id",
        ),
        ({"tabs": [tab(roles=[1])]}, "the first tab is visible to every role (roles: null)"),
        ({"tabs": [tab(name=" ")]}, "a tab name has 1..50 characters"),
        ({"tabs": [tab(), tab(id=2, roles=[4], widgets=[])]}, "tab roles: null or a list"),
        ({"tabs": [tab(), tab(id=2, roles=[], widgets=[])]}, "tab roles: null or a list"),
        ({"tabs": [tab(widgets={})]}, f"at most {MAX_WIDGETS_PER_TAB} widgets"),
        (
            {
                "tabs": [
                    tab(widgets=[widget(id=str(i), y=i) for i in range(MAX_WIDGETS_PER_TAB + 1)])
                ]
            },
            f"at most {MAX_WIDGETS_PER_TAB} widgets",
        ),
        ({"tabs": [tab(widgets=[widget(id="")])]}, "a widget id is a string of 1..32"),
        ({"tabs": [tab(widgets=[widget(type="KNOB")])]}, "unknown widget type 'KNOB'"),
        ({"tabs": [tab(widgets=[widget(dataStreamIds=[])])]}, "needs a list of dataStreamIds"),
        ({"tabs": [tab(widgets=[widget(dataStreamIds=["1"])])]}, "needs a list of dataStreamIds"),
        ({"tabs": [tab(widgets=[widget(dataStreamIds=[9])])]}, "no datastream 9 in the template"),
        (
            {"tabs": [tab(widgets=[widget(dataStreamIds=[2])])]},
            "a SWITCH cannot show a STRING datastream",
        ),
        (
            {"tabs": [tab(widgets=[widget(settings={"x": "y" * MAX_SETTINGS_BYTES})])]},
            f"settings exceed {MAX_SETTINGS_BYTES} bytes",
        ),
        ({"tabs": [tab(widgets=[widget(settings=[])])]}, "settings must be a JSON object"),
        (
            {"tabs": [tab(widgets=[widget(), widget(id="w2")])]},
            "widgets 'w1' and 'w2' overlap",
        ),
    ],
)
def test_a_broken_rule_is_refused_with_its_message(layout: object, message: str) -> None:
    """Each rule of the layout refuses with words an editor can show next to the field."""
    with pytest.raises(InvalidDefinition, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_dashboard(layout, STREAMS)
