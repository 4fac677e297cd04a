"""LEG-12 ``project``: the legacy "project" JSON, synthesized from the device's template.

Blynk 1.0 answered with the app dashboard the token belonged to. Pinbase has no app dashboards;
its nearest equivalent is the template (http-api.md §5.1), so the project is the template with one
value-display widget per datastream, laid out one per row, holding this device's values, and
with the devices and tags of the project (``services.projects``), as Blynk 1.0's ``DashBoard``
listed them (``devices[]`` of ``{id, name, boardType}``, ``tags[]`` of ``{id, name, deviceIds}``;
device tokens and connection details stay out, as the old server's public view left them out).
"""

from starlette.requests import Request
from starlette.responses import Response

from pinbase.domain.datastreams import Datastream, DataType
from pinbase.domain.devices import Device
from pinbase.domain.values import read_text
from pinbase.http.legacy_api.inputs import authenticate
from pinbase.http.legacy_api.replies import json_reply
from pinbase.services.container import Services
from pinbase.services.directory import BoundDevice
from pinbase.services.projects import ProjectTag, project_members

WIDGET_TYPES = {
    DataType.INT: "DIGIT4_DISPLAY",
    DataType.DOUBLE: "DIGIT4_DISPLAY",
    DataType.ENUM: "DIGIT4_DISPLAY",
    DataType.BOOL: "BUTTON",
    DataType.STRING: "LABELED_VALUE_DISPLAY",
    DataType.LOCATION: "MAP",
}
"""Blynk 1.0 widget types closest to a datastream of each type."""

BLYNK_GREEN = 600084223
"""``#23C48E`` as the RGBA integer Blynk 1.0 stored widget colors in."""

DEFAULT_MIN, DEFAULT_MAX = 0, 255
"""A Blynk 1.0 widget's range when the datastream sets none."""

GRID_WIDTH = 8
"""Columns of the Blynk 1.0 phone grid: every synthesized widget takes a full row."""

DEFAULT_BOARD = "Generic Board"


class ProjectEndpoints:
    """Handler of the project endpoint."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def project(self, request: Request) -> Response:
        """The template as a project: id, name, times, widgets, devices, tags, board; always
        active."""
        bound = await authenticate(self._services, request)
        members = await project_members(
            self._services.directory, self._services.store, bound.device
        )
        template = bound.template
        updated_at = template.created_at
        widgets = []
        for row, datastream in enumerate(template.datastreams):
            point = self._services.telemetry.current(bound.device.id, datastream)
            if point is not None:
                updated_at = max(updated_at, point.ts)
            widgets.append(self._widget(bound, datastream, row))
        return json_reply(
            {
                "id": template.id,
                "name": template.name,
                "createdAt": template.created_at,
                "updatedAt": updated_at,
                "widgets": widgets,
                "devices": [_device(device) for device in members.devices],
                "tags": [_tag(tag) for tag in members.tags],
                "boardType": bound.device.hardware_info.board_type or DEFAULT_BOARD,
                "keepScreenOn": False,
                "isShared": False,
                "isActive": True,
            }
        )

    def _widget(self, bound: BoundDevice, datastream: Datastream, row: int) -> dict[str, object]:
        value = self._services.telemetry.effective(bound.device.id, datastream)
        return {
            "type": WIDGET_TYPES[datastream.type],
            "id": datastream.id,
            "deviceId": bound.device.id,
            "x": 0,
            "y": row,
            "color": BLYNK_GREEN,
            "width": GRID_WIDTH,
            "height": 1,
            "label": datastream.label,
            "pinType": datastream.pin.type.value,
            "pin": datastream.pin.number,
            "pwmMode": False,
            "rangeMappingOn": False,
            "min": DEFAULT_MIN if datastream.min is None else datastream.min,
            "max": DEFAULT_MAX if datastream.max is None else datastream.max,
            "value": None if value is None else read_text(datastream, value),
        }


def _device(device: Device) -> dict[str, object]:
    return {
        "id": device.id,
        "name": device.name,
        "boardType": device.hardware_info.board_type or DEFAULT_BOARD,
    }


def _tag(project_tag: ProjectTag) -> dict[str, object]:
    return {
        "id": project_tag.tag.id,
        "name": project_tag.tag.name,
        "deviceIds": list(project_tag.device_ids),
    }
