"""What a webhook's placeholders are filled with, from a device, its write and what is known of
it, or from a user or a new organization (automations.md §4.5). Pure functions over values the
caller already holds: the write path calls ``device_placeholders`` for every matching webhook,
so nothing here does I/O.
"""

import json
from collections.abc import Mapping

from pinbase.domain.datastreams import Datastream
from pinbase.domain.devices import Device
from pinbase.domain.organizations import Organization
from pinbase.domain.templates import Template
from pinbase.domain.users import ROLES
from pinbase.domain.value_types import Value
from pinbase.domain.values import MULTI_VALUE_SEPARATOR, read_text
from pinbase.domain.webhook_requests import Placeholders, iso_timestamp
from pinbase.services.users import user_full
from pinbase.storage.users import StoredUser

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


LOCATION_TYPE = "location"
"""The built-in Location metafield's type literal (data-model.md §1.6), compared lower-cased."""


def location_values(device: Device, template: Template) -> dict[str, str]:
    """``{device_country}``, ``{device_state}``, ``{device_zipCode}`` from the device's Location
    metafield (OP-A7: "from the device's assigned Location address, else empty").

    Pinbase has no location objects: a device's location is the value of its template's
    ``Location`` metafield, read as the address JSON users have (``{"fullAddress", "city",
    "country", "state", "zip"}``; ``zipCode`` is read too). Any other value leaves them empty.
    """
    stored = dict(device.metafield_values)
    address: dict[str, str] = {}
    for metafield in template.metafields:
        if metafield.type.replace(" ", "").lower() == LOCATION_TYPE:
            address = _address(stored.get(metafield.id))
            if address:
                break
    return {
        "device_country": address.get("country", ""),
        "device_state": address.get("state", ""),
        "device_zipCode": address.get("zip", address.get("zipCode", "")),
    }


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
        **location_values(device, template),
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


def user_placeholders(
    user: StoredUser,
    *,
    org_name: str,
    ts: int,
    devices_by_product: Mapping[str, int],
) -> Placeholders:
    """The placeholders of a user trigger (§4.5 ``user_*``) about a stored user.

    Args:
        user: the user the trigger concerns, as stored now.
        org_name: its organization's name.
        ts: the trigger time.
        devices_by_product: how many devices the user owns, by template name.
    """
    address = _address(user.address)
    values = {
        "user_id": str(user.id),
        "user_email": user.email,
        "user_name": user.name,
        "user_orgName": org_name,
        "user_dateCreated": str(user.registered_at),
        "user_roleName": ROLES.get(user.role_id, ""),
        "user_title": user.title or "",
        "user_nickname": user.nick_name or "",
        "user_phoneNumber": user.phone_number or "",
        "user_country": address.get("country", ""),
        "user_state": address.get("state", ""),
        "user_zipCode": address.get("zip", ""),
        "user_object": json.dumps(user_full(user), ensure_ascii=False, separators=(",", ":")),
        "user_assignedTags": "",
        "user_ownDevicesCount": str(sum(devices_by_product.values())),
        "user_devicesCountByProductName": json.dumps(
            dict(sorted(devices_by_product.items())), ensure_ascii=False, separators=(",", ":")
        ),
        **time_values(ts),
    }
    return Placeholders(values=values)


def removed_user_placeholders(
    *, user_id: int, email: str, name: str, org_name: str, ts: int
) -> Placeholders:
    """The placeholders of ``USER_DELETED``: what is known of a user that is gone (its other
    ``user_*`` fields are empty)."""
    values = dict.fromkeys(_USER_FIELDS, "")
    values.update(
        {
            "user_id": str(user_id),
            "user_email": email,
            "user_name": name,
            "user_orgName": org_name,
            "user_ownDevicesCount": "0",
            "user_devicesCountByProductName": "{}",
            **time_values(ts),
        }
    )
    return Placeholders(values=values)


def organization_placeholders(organization: Organization, *, ts: int) -> Placeholders:
    """The placeholders of ``ORGANIZATION_CREATED`` (a Pinbase choice; §4.5 names none):
    ``{organization_id}``, ``{organization_name}``, ``{organization_parentId}`` and the times."""
    return Placeholders(
        values={
            "organization_id": str(organization.id),
            "organization_name": organization.name,
            "organization_parentId": (
                "" if organization.parent_id is None else str(organization.parent_id)
            ),
            **time_values(ts),
        }
    )


_USER_FIELDS = (
    "user_id",
    "user_email",
    "user_name",
    "user_orgName",
    "user_dateCreated",
    "user_roleName",
    "user_title",
    "user_nickname",
    "user_phoneNumber",
    "user_country",
    "user_state",
    "user_zipCode",
    "user_object",
    "user_assignedTags",
    "user_ownDevicesCount",
    "user_devicesCountByProductName",
)


def _address(text: str | None) -> dict[str, str]:
    """The stored address JSON's text fields; empty when missing or unreadable."""
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {key: value for key, value in parsed.items() if isinstance(value, str)}
