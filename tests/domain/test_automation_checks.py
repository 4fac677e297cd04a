"""Save-time checks of an automation against the templates of the devices it names
(``domain.automation_checks``)."""

from typing import Any

import pytest

from pinbase.domain.automation_checks import check_automation_references
from pinbase.domain.automations import InvalidAutomation, parse_automation
from pinbase.domain.datastream_automation import AutomationSetting, AutomationType
from pinbase.domain.datastreams import Datastream, DataType
from pinbase.domain.ids import DatastreamId, EventId, OrgId, TemplateId
from pinbase.domain.pins import parse_pin
from pinbase.domain.templates import Template, TemplateEvent

TEMPLATE = Template(
    id=TemplateId(1),
    org_id=OrgId(1),
    code="TMPL1",
    name="Boiler",
    datastreams=(
        Datastream(id=DatastreamId(1), label="T", pin=parse_pin("V1"), type=DataType.DOUBLE),
        Datastream(id=DatastreamId(2), label="R", pin=parse_pin("V2"), type=DataType.INT),
        Datastream(id=DatastreamId(3), label="S", pin=parse_pin("V3"), type=DataType.BOOL),
        Datastream(
            id=DatastreamId(4),
            label="Sensor",
            pin=parse_pin("V4"),
            type=DataType.DOUBLE,
            automation=AutomationSetting(type=AutomationType.SENSOR),
        ),
    ),
    events=(TemplateEvent(id=EventId(1), code="hot", name="Hot"),),
)


def template_of(device_id: int) -> Template:
    """Device 1 is a Boiler; any other is not the caller's."""
    if device_id != 1:
        raise InvalidAutomation(f"device {device_id} is not found")
    return TEMPLATE


def check(condition: dict[str, Any], *actions: dict[str, Any]) -> None:
    """Parse an automation and check it against ``template_of``."""
    body = {"name": "x", "condition": condition, "actions": list(actions) or [WAIT]}
    check_automation_references(parse_automation(body, max_actions=10), template_of)


WAIT = {"kind": "WAIT", "seconds": 1}
GT = {"kind": "DEVICE_STATE", "deviceId": 1, "dataStreamId": 1, "operator": "GT", "operand": "4"}


def test_a_fitting_automation_passes() -> None:
    """Condition, control, forward and event that fit their datastreams pass."""
    check(
        GT,
        {"kind": "CONTROL_DEVICE", "deviceId": 1, "dataStreamId": 2, "value": "1"},
        {"kind": "FORWARD_DEVICE_DATA", "deviceId": 1, "dataStreamId": 1},
        {"kind": "LOG_EVENT", "eventCode": "hot", "deviceId": 1},
        {"kind": "LOG_EVENT", "eventCode": "any"},
        WAIT,
    )


@pytest.mark.parametrize(
    ("condition", "action", "message"),
    [
        (GT | {"dataStreamId": 9}, WAIT, "datastream 9 is not found"),
        (GT | {"deviceId": 2}, WAIT, "device 2 is not found"),
        (GT | {"operand": "x"}, WAIT, "operand must be a number"),
        (
            {"kind": "SCENE"},
            {"kind": "CONTROL_DEVICE", "deviceId": 1, "dataStreamId": 2, "value": "x"},
            "value does not fit",
        ),
        (GT, {"kind": "FORWARD_DEVICE_DATA", "deviceId": 1, "dataStreamId": 3}, "integer, double"),
        (GT, {"kind": "LOG_EVENT", "eventCode": "cold", "deviceId": 1}, "event 'cold'"),
        (
            GT,
            {"kind": "FORWARD_DEVICE_DATA", "deviceId": 1, "dataStreamId": 4},
            "not an automation action",
        ),
    ],
)
def test_what_does_not_fit_is_refused(
    condition: dict[str, Any], action: dict[str, Any], message: str
) -> None:
    """Each misfit is refused with a message naming it."""
    with pytest.raises(InvalidAutomation, match=message):
        check(condition, action)
