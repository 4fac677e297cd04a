"""Device objects in the shapes of http-api.md §4.0: summary, base and full.

Pinbase tracks no connect and disconnect times (only the first connection), IP addresses or
locks yet: those fields answer ``0``, ``null`` and ``false`` (docs/platform-api.md).
``activatedAt`` is the creation time, since a provisioned device is active from the start.
"""

from collections.abc import Mapping

from pinbase.domain.ids import DatastreamId
from pinbase.domain.values import read_json
from pinbase.services.directory import BoundDevice
from pinbase.services.metadata import Metadata
from pinbase.services.properties import PropertyValue
from pinbase.services.telemetry import Telemetry

ONLINE = "Online"
OFFLINE = "Offline"


def device_summary(bound: BoundDevice) -> dict[str, object]:
    """DeviceSummary: identity, owner and hardware facts."""
    device = bound.device
    info = device.hardware_info
    return {
        "id": device.id,
        "templateId": device.template_id,
        "orgId": device.org_id,
        "name": device.name,
        "token": device.token,
        "activatedAt": device.created_at,
        "ownerUserId": device.owner_user_id,
        "hardwareInfo": {
            "version": info.version,
            "fwType": info.fw_type,
            "blynkVersion": info.blynk_version,
            "boardType": info.board_type,
            "build": info.build,
            "templateId": info.template_code,
        },
    }


def device_base(
    bound: BoundDevice, *, online: bool, first_connected_at: int | None = None
) -> dict[str, object]:
    """DeviceBase: the summary plus connection facts (``firstConnectTime`` 0: never connected)."""
    return {
        **device_summary(bound),
        "lifecycleStatus": {"name": ONLINE if online else OFFLINE},
        "firstConnectTime": first_connected_at or 0,
        "firmwareUpdatedAt": 0,
        "connectTime": 0,
        "disconnectTime": 0,
        "ip": None,
        "isLocked": False,
        "lastReceivedEventAt": 0,
    }


def datastream_values(bound: BoundDevice, telemetry: Telemetry) -> list[dict[str, object]]:
    """Every datastream holding a value, or a default (then ``updatedAt`` is 0)."""
    answer: list[dict[str, object]] = []
    for datastream in bound.template.datastreams:
        point = telemetry.current(bound.device.id, datastream)
        if point is not None:
            value, updated_at = point.value, point.ts
        elif datastream.default_value is not None:
            value, updated_at = datastream.default_value, 0
        else:
            continue
        answer.append(
            {
                "dataStreamId": datastream.id,
                "pin": datastream.pin.name,
                "dataStreamLabel": datastream.label,
                "dataStreamAlias": datastream.alias,
                "value": read_json(datastream, value),
                "updatedAt": updated_at,
            }
        )
    return answer


def metafield_values(bound: BoundDevice, metadata: Metadata) -> list[dict[str, object]]:
    """Every metadata field of the template with the device's value."""
    answer: list[dict[str, object]] = []
    for metafield in bound.template.metafields:
        reading = metadata.read(bound, str(metafield.id))
        answer.append(
            {
                "id": metafield.id,
                "name": metafield.name,
                "value": {"type": reading.type, "value": reading.value},
            }
        )
    return answer


def properties_by_datastream(
    stored: Mapping[DatastreamId, Mapping[str, PropertyValue]],
) -> dict[str, dict[str, PropertyValue]]:
    """Stored properties keyed by dataStreamId as a string, as PLT-DS-03 keys values."""
    return {str(ds_id): dict(values) for ds_id, values in sorted(stored.items())}
