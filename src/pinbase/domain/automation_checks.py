"""Save-time checks of an automation against the devices it names (automations.md §3.4, §3.5):
each datastream exists in the device's template, the operator and operand fit the condition's
datastream, a Control Device value parses as its datastream's type, Forward Device Data targets
an integer, double or string datastream, a Log Event names an event of the template, and a
Control Segment property names a datastream (by label) of the segment's templates whose every
match takes the value.

Which devices a caller may name is the caller's business; ``template_of`` answers the template
of a device it may use and raises ``InvalidAutomation`` for any other.
"""

from collections.abc import Callable, Sequence

from pinbase.domain.automation_rules import (
    check_action_target,
    check_condition,
    check_value,
    named_datastreams,
)
from pinbase.domain.automations import (
    AutomationSpec,
    ControlDevice,
    ControlSegment,
    DeviceState,
    ForwardDeviceData,
    InvalidAutomation,
    LogEvent,
)
from pinbase.domain.datastreams import Datastream, DataType
from pinbase.domain.errors import UnknownDatastream
from pinbase.domain.templates import Template

FORWARD_TYPES = frozenset({DataType.INT, DataType.DOUBLE, DataType.STRING})


def check_automation_references(
    spec: AutomationSpec,
    template_of: Callable[[int], Template],
    segment_templates: Callable[[int], Sequence[Template]] = lambda _: (),
) -> None:
    """Refuse datastreams, operands, values and events that do not fit the named devices;
    ``segment_templates`` answers the templates of a segment's devices now (and raises
    ``InvalidAutomation`` for a segment the caller may not use).

    Raises:
        InvalidAutomation: the message names what does not fit (``template_of`` raises it too
            for a device the caller may not use).
    """
    condition = spec.condition
    if isinstance(condition, DeviceState):
        template = template_of(condition.device_id)
        check_condition(condition, _datastream(template, condition.datastream_id))
    for action in spec.actions:
        if isinstance(action, ControlDevice):
            template = template_of(action.device_id)
            check_value(action, _datastream(template, action.datastream_id))
        elif isinstance(action, ForwardDeviceData):
            target = _datastream(template_of(action.device_id), action.datastream_id)
            check_action_target(target)
            if target.type not in FORWARD_TYPES:
                raise InvalidAutomation(
                    "FORWARD_DEVICE_DATA targets integer, double or string datastreams"
                )
        elif isinstance(action, ControlSegment):
            check_segment_action(action, segment_templates(action.segment_id))
        elif isinstance(action, LogEvent) and action.device_id is not None:
            template = template_of(action.device_id)
            if template.event(action.event_code) is None:
                raise InvalidAutomation(f"event {action.event_code!r} is not found")


def check_segment_action(action: ControlSegment, templates: Sequence[Template]) -> None:
    """Refuse a property no template of the segment has, or a value one of its matching
    datastreams refuses. An empty segment is accepted: its devices are chosen at run time.

    Raises:
        InvalidAutomation.
    """
    for prop in action.properties:
        matched = [ds for template in templates for ds in named_datastreams(template, prop.name)]
        if templates and not matched:
            raise InvalidAutomation(
                f"property {prop.name!r} is not a datastream of the segment's devices"
            )
        for datastream in matched:
            try:
                check_value(prop, datastream)
            except InvalidAutomation as error:
                raise InvalidAutomation(f"property {prop.name!r}: {error}") from None


def _datastream(template: Template, datastream_id: int) -> Datastream:
    try:
        return template.datastream(datastream_id)
    except UnknownDatastream:
        raise InvalidAutomation(f"datastream {datastream_id} is not found") from None
