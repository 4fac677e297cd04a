"""What a webhook's placeholders are filled with, from a device, its write and what is known of
it (automations.md §4.5). Pure functions over values the caller already holds: the write path
calls ``device_placeholders`` for every matching webhook, so nothing here does I/O.
"""

from pinbase.domain.datastreams import Datastream
from pinbase.domain.devices import Device
from pinbase.domain.templates import Template
from pinbase.domain.value_types import Value
from pinbase.domain.values import MULTI_VALUE_SEPARATOR, read_text
from pinbase.domain.webhook_requests import Placeholders, iso_timestamp

CLIENT_TYPES = {
    "device_tcp": "Device",
    "device_mqtt": "Device",
    "device_http": "Device",
    "legacy_http": "Device",
    "platform_api": "HTTPS API",
    "console": "Web",
    "automation": "Automation",
    "webhook": "Webhook",
}
"""``{device_clientType}`` per write origin (OP-A7: the Actions-log names, else ``Device``)."""


def value_items(datastream: Datastream, value: Value) -> tuple[str, ...]:
    """The items of a written value as text: a multi-value string's NUL-separated items, a
    location's longitude and latitude, else the one value as device-wire text."""
    if isinstance(value, tuple):
        return (repr(value[0]), repr(value[1]))
    return tuple(read_text(datastream, value).split(MULTI_VALUE_SEPARATOR))


def value_text(datastream: Datastream, value: Value) -> str:
    """A value as one placeholder text: items joined by ``,`` (§4.6: NUL cannot go in a URL)."""
    return ",".join(value_items(datastream, value))


def time_values(ts: int) -> dict[str, str]:
    """The two timestamp placeholders, always filled (§4.5)."""
    return {"timestamp_unix": str(ts), "timestamp_iso8601": iso_timestamp(ts)}


def device_placeholders(
    device: Device,
    template: Template,
    *,
    org_name: str,
    ts: int,
    origin: str,
    written: tuple[Datastream, Value] | None,
    current: dict[int, str],
    tags: tuple[str, ...] = (),
    owner_email: str = "",
) -> Placeholders:
    """The placeholders of a device trigger.

    Args:
        device: the device the trigger concerns.
        template: its template.
        org_name: its organization's name.
        ts: the trigger time (the write's timestamp).
        origin: who wrote (``ValuesChanged.origin``), for ``{device_clientType}``.
        written: the written datastream and value; None for a test or a non-write trigger.
        current: the device's current values as text by datastream id (the written value
            included).
        tags: the device's tag names.
        owner_email: the owner's e-mail, for the legacy ``device_owner_email``.
    """
    values = {
        "device_id": str(device.id),
        "device_name": device.name,
        "device_authToken": device.token,
        "device_templateId": template.code,
        "device_productName": template.name,
        "device_orgName": org_name,
        "device_dateCreated": str(device.created_at),
        "device_clientType": CLIENT_TYPES.get(origin, "Device"),
        "device_tags": ",".join(tags),
        "device_country": "",
        "device_state": "",
        "device_zipCode": "",
        **time_values(ts),
    }
    items: tuple[str, ...] = ()
    if written is not None:
        datastream, value = written
        values["device_dataStreamId"] = str(datastream.id)
        values["device_pin"] = datastream.pin.name.upper()
        items = value_items(datastream, value)
    metadata = {int(field_id): text for field_id, text in device.metafield_values}
    return Placeholders(
        values=values,
        datastreams=current,
        metadata=metadata,
        items=items,
        owner_email=owner_email,
    )
