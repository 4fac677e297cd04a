"""Who a use case acts for, and finding what a request names within that caller's scope.

Every entry point that acts for someone (the Platform API's OAuth client, ``services.oauth.
Caller``; the console's signed-in user) passes a ``Scoped`` caller: its home organization and
the set of organizations it may see, that organization and everything below it (http-api.md
§1.3). Anything outside the scope is reported exactly like a missing thing, so one tenant never
learns what another holds. The lookups here raise domain errors; each adapter maps them to its
own answer shape (the Platform API's in ``http.platform_api.errors``).
"""

from typing import Protocol

from pinbase.domain.datastreams import Datastream
from pinbase.domain.errors import PinbaseError, UnknownDatastream
from pinbase.domain.ids import DeviceId, OrgId, TemplateId
from pinbase.domain.pins import Pin
from pinbase.domain.templates import Template
from pinbase.services.directory import BoundDevice, Directory
from pinbase.storage.base import Store
from pinbase.storage.users import StoredUser


class Scoped(Protocol):
    """A caller: its home organization and every organization it may see."""

    @property
    def org_id(self) -> OrgId:
        """The caller's home organization."""
        ...

    @property
    def scope(self) -> frozenset[OrgId]:
        """``org_id`` and every organization below it."""
        ...

    def can_see(self, org_id: OrgId) -> bool:
        """Whether an object of ``org_id`` is within the caller's scope."""
        ...


class DeviceNotFound(PinbaseError):
    """No such device in the caller's scope; ``args[0]`` is the id asked for."""


class TemplateNotFound(PinbaseError):
    """No such template in the caller's scope; ``args[0]`` is the id asked for."""


class DatastreamNotFound(PinbaseError):
    """The device's template has no such datastream; ``args[0]`` is the id or pin name."""


class OrganizationOutOfScope(PinbaseError):
    """No such organization in the caller's scope; ``args[0]`` is the id asked for."""


async def device_in_scope(directory: Directory, caller: Scoped, device_id: int) -> BoundDevice:
    """The device, if it exists and belongs to the caller's scope.

    Raises:
        DeviceNotFound: alike for a missing device and another organization's.
    """
    bound = await directory.find_by_id(DeviceId(device_id))
    if bound is None or not caller.can_see(bound.device.org_id):
        raise DeviceNotFound(device_id)
    return bound


async def template_in_scope(directory: Directory, caller: Scoped, template_id: int) -> Template:
    """The template, if it exists and belongs to the caller's scope.

    Raises:
        TemplateNotFound: alike for a missing template and another organization's.
    """
    template = await directory.find_template(TemplateId(template_id))
    if template is None or not caller.can_see(template.org_id):
        raise TemplateNotFound(template_id)
    return template


def organization_in_scope(directory: Directory, caller: Scoped, org_id: int | None) -> OrgId:
    """``org_id`` when given (a known organization of the caller's scope), else the caller's
    home organization.

    Raises:
        OrganizationOutOfScope: alike for a missing organization and another's.
    """
    if org_id is None:
        return caller.org_id
    if not caller.can_see(OrgId(org_id)) or directory.organization(OrgId(org_id)) is None:
        raise OrganizationOutOfScope(org_id)
    return OrgId(org_id)


def datastream_by_id(bound: BoundDevice, datastream_id: int) -> Datastream:
    """The datastream of the device's template with that id.

    Raises:
        DatastreamNotFound: the template has none.
    """
    try:
        return bound.template.datastream(datastream_id)
    except UnknownDatastream:
        raise DatastreamNotFound(datastream_id) from None


def datastream_at(bound: BoundDevice, pin: Pin) -> Datastream:
    """The datastream of the device's template on ``pin``.

    Raises:
        DatastreamNotFound: the template has none there (``args[0]`` is the pin's name).
    """
    try:
        return bound.template.datastream_at(pin)
    except UnknownDatastream:
        raise DatastreamNotFound(pin.name) from None


async def user_in_scope(store: Store, caller: Scoped, key: int | str) -> StoredUser | None:
    """The user with id ``key`` (an int) or e-mail address ``key`` (a str), if it belongs to
    the caller's scope.

    None alike for a missing user and another organization's; each use case answers that its
    own way (a refusal, or an empty list).
    """
    async with store.transaction() as tx:
        user = await (tx.find_user(key) if isinstance(key, int) else tx.find_user_by_email(key))
    return user if user is not None and caller.can_see(user.org_id) else None
