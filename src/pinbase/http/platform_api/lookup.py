"""Finding what a request names, within the caller's scope, with the Platform API's 404s."""

from pinbase.domain.datastreams import Datastream
from pinbase.domain.errors import InvalidPin, UnknownDatastream
from pinbase.domain.ids import DeviceId, OrgId, TemplateId
from pinbase.domain.pins import Pin, parse_pin
from pinbase.domain.templates import Template
from pinbase.http.platform_api.errors import (
    datastream_not_found,
    device_not_found,
    incorrect_parameters,
    organization_not_found,
    template_not_found,
)
from pinbase.services.directory import BoundDevice, Directory
from pinbase.services.oauth import Caller
from pinbase.storage.base import Store
from pinbase.storage.users import StoredUser


async def device_in_scope(directory: Directory, caller: Caller, device_id: int) -> BoundDevice:
    """The device, if it exists and belongs to the caller's scope.

    Raises:
        PlatformError: the device 404, alike for a missing device and another organization's.
    """
    bound = await directory.find_by_id(DeviceId(device_id))
    if bound is None or not caller.can_see(bound.device.org_id):
        raise device_not_found(device_id)
    return bound


async def template_in_scope(directory: Directory, caller: Caller, template_id: int) -> Template:
    """The template, if it exists and belongs to the caller's scope.

    Raises:
        PlatformError: the template 404, alike for a missing template and another organization's.
    """
    template = await directory.find_template(TemplateId(template_id))
    if template is None or not caller.can_see(template.org_id):
        raise template_not_found()
    return template


def organization_in_scope(directory: Directory, caller: Caller, org_id: int | None) -> OrgId:
    """``orgId`` when given (it must be a known organization of the caller's scope), else the
    caller's home organization.

    Raises:
        PlatformError: the organization 404, alike for a missing organization and another's.
    """
    if org_id is None:
        return caller.org_id
    if not caller.can_see(OrgId(org_id)) or directory.organization(OrgId(org_id)) is None:
        raise organization_not_found(org_id)
    return OrgId(org_id)


def datastream_by_id(bound: BoundDevice, datastream_id: int) -> Datastream:
    """The datastream of the device's template with that id, or its 404."""
    try:
        return bound.template.datastream(datastream_id)
    except UnknownDatastream:
        raise datastream_not_found(datastream_id) from None


def pin_named(name: str) -> Pin:
    """A pin name such as ``v1``, or ``400 Request with incorrect parameters``."""
    try:
        return parse_pin(name.strip())
    except InvalidPin:
        raise incorrect_parameters() from None


async def user_in_scope(store: Store, caller: Caller, key: int | str) -> StoredUser | None:
    """The user with id ``key`` (an int) or e-mail address ``key`` (a str), if it belongs to
    the caller's scope.

    None alike for a missing user and another organization's; each endpoint answers that its
    own way (a 404, or an empty list).
    """
    async with store.transaction() as tx:
        user = await (tx.find_user(key) if isinstance(key, int) else tx.find_user_by_email(key))
    return user if user is not None and caller.can_see(user.org_id) else None
