"""Device management (PLT-DEV-09..14): create, rename, move, erase and delete devices.

Every change is committed first and then announced (``services.changes``); ``CachedState``
applies it to the in-memory state the device APIs serve from (directory, current values,
property cache) and ``DeviceSessions`` closes a deleted device's live connection, so a created
device's token works and a deleted device's token is refused from the very next request.

Scope. Every use case takes the caller (``services.scope.Scoped``): a device, organization or
user outside its scope is refused exactly like a missing one. A device may use a template of its
own organization or of any organization above it (templates are made in a parent and passed
down, data-model.md §1.1). Owners must be users within the caller's scope; a transfer to an owner
needs an activated (``Active``) account.
"""

import logging
from dataclasses import replace

from pinbase.domain.devices import Device, check_device_name, new_token
from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import OrgId
from pinbase.domain.users import ACTIVE
from pinbase.services.bus import Bus, DeviceActivated
from pinbase.services.changes import DeviceDataErased, DeviceRemoved, DeviceSaved
from pinbase.services.clock import Clock
from pinbase.services.directory import BoundDevice, Directory
from pinbase.services.scope import DeviceNotFound, Scoped, device_in_scope, user_in_scope
from pinbase.services.uploads import Uploads
from pinbase.storage.base import Store

logger = logging.getLogger(__name__)


class DeviceAdminRefusal(PinbaseError):
    """A device change is refused; the adapter picks the endpoint's message."""


class OrganizationNotUsable(DeviceAdminRefusal):
    """The organization of a new device is missing or outside the caller's scope."""


class TemplateNotUsable(DeviceAdminRefusal):
    """No template with that code in the organization's lineage."""


class OwnerNotFound(DeviceAdminRefusal):
    """The owner is missing or outside the caller's scope."""


class OwnerNotActivated(DeviceAdminRefusal):
    """The new owner's account is not activated."""


class DestinationNotFound(DeviceAdminRefusal):
    """The destination organization is missing or outside the caller's scope."""


class SameOwner(DeviceAdminRefusal):
    """The device already belongs there."""


class TransferImpossible(DeviceAdminRefusal):
    """No destination given, or the destination cannot use the device's template."""


class DeviceAdmin:
    """Changes devices in storage, then announces the change."""

    def __init__(
        self, *, store: Store, directory: Directory, uploads: Uploads, bus: Bus, clock: Clock
    ) -> None:
        self._store = store
        self._directory = directory
        self._uploads = uploads
        self._bus = bus
        self._clock = clock

    async def create(
        self,
        caller: Scoped,
        *,
        org_id: int | None,
        template_code: str,
        name: str,
        owner_id: int,
    ) -> BoundDevice:
        """A new device with a fresh token in ``org_id`` (default: the caller's home);
        ``activatedAt`` is its creation time. Announced as ``DeviceActivated`` by its owner too:
        the console and PLT-DEV-09 create a device for a user (webhooks' "New Device Activated
        By User", automations.md §4.2).

        Raises:
            InvalidDefinition, OrganizationNotUsable, TemplateNotUsable, OwnerNotFound: checked
                in this order (the name rule of PLT-DEV-09 first).
        """
        check_device_name(name)
        target = caller.org_id if org_id is None else OrgId(org_id)
        directory = self._directory
        if not caller.can_see(target) or directory.organization(target) is None:
            raise OrganizationNotUsable(target)
        template = directory.template_by_code(template_code)
        if template is None or template.org_id not in directory.lineage(target):
            raise TemplateNotUsable(template_code)
        owner = await user_in_scope(self._store, caller, owner_id)
        if owner is None:
            raise OwnerNotFound(owner_id)
        async with self._store.transaction() as tx:
            device = await tx.add_device(
                org_id=target,
                template=template,
                name=name,
                token=new_token(),
                created_at=self._clock(),
                owner_user_id=owner.id,
            )
        self._bus.publish(DeviceSaved(device=device))
        self._bus.publish(
            DeviceActivated(
                device_id=device.id, org_id=target, user_id=owner.id, ts=device.created_at
            )
        )
        logger.info("device.created device_id=%d org_id=%d", device.id, target)
        return BoundDevice(device, template)

    async def rename(self, caller: Scoped, device_id: int, name: str) -> BoundDevice:
        """The device under its new name.

        Raises:
            DeviceNotFound: missing, outside the scope, or deleted meanwhile.
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        async with self._store.transaction() as tx:
            if not await tx.rename_device(bound.device.id, name):
                raise DeviceNotFound(device_id)
        return self._saved(bound, replace(bound.device, name=name))

    async def remove_owner(self, caller: Scoped, device_id: int) -> None:
        """Leave the device without an owner, in its organization.

        Raises:
            DeviceNotFound: missing, outside the scope, or deleted meanwhile.
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        await self._move(bound, org_id=bound.device.org_id, owner_user_id=None)

    async def transfer(
        self, caller: Scoped, device_id: int, *, new_user_id: int | None, new_org_id: int | None
    ) -> None:
        """Move the device to ``new_user_id`` (into that user's organization) or, when it is
        None, to ``new_org_id`` without an owner.

        Raises:
            DeviceNotFound, OwnerNotFound, OwnerNotActivated, DestinationNotFound, SameOwner,
            TransferImpossible: checked in that order.
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        owner_id: int | None = None
        if new_user_id is not None:
            user = await user_in_scope(self._store, caller, new_user_id)
            if user is None:
                raise OwnerNotFound(new_user_id)
            if user.status != ACTIVE:
                raise OwnerNotActivated(new_user_id)
            if user.id == bound.device.owner_user_id:
                raise SameOwner(new_user_id)
            destination, owner_id = OrgId(user.org_id), user.id
        elif new_org_id is not None:
            destination = OrgId(new_org_id)
            known = self._directory.organization(destination) is not None
            if not caller.can_see(destination) or not known:
                raise DestinationNotFound(new_org_id)
            if destination == bound.device.org_id:
                raise SameOwner(new_org_id)
        else:
            raise TransferImpossible(device_id)
        if bound.template.org_id not in self._directory.lineage(destination):
            raise TransferImpossible(device_id)
        await self._move(bound, org_id=destination, owner_user_id=owner_id)

    async def erase_data(self, caller: Scoped, device_id: int) -> None:
        """Clear the device's values, history and properties; the device itself stays.

        Raises:
            DeviceNotFound.
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        async with self._store.transaction() as tx:
            await tx.clear_device_data(bound.device.id)
        self._bus.publish(DeviceDataErased(device_id=bound.device.id))
        logger.info("device.erased device_id=%d", bound.device.id)

    async def delete(self, caller: Scoped, device_id: int) -> None:
        """Delete the device with everything it stored, end its connection, drop its files.

        Raises:
            DeviceNotFound: missing, outside the scope, or deleted meanwhile.
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        async with self._store.transaction() as tx:
            if not await tx.delete_device(bound.device.id):
                raise DeviceNotFound(device_id)
        self._bus.publish(DeviceRemoved(device_id=bound.device.id))
        await self._uploads.remove_device(bound.device.id)
        logger.info("device.deleted device_id=%d", device_id)

    async def _move(self, bound: BoundDevice, *, org_id: OrgId, owner_user_id: int | None) -> None:
        """Put the device in ``org_id`` owned by ``owner_user_id`` (None: no owner).

        Raises:
            DeviceNotFound: the device was deleted meanwhile.
        """
        device = bound.device
        async with self._store.transaction() as tx:
            if not await tx.move_device(device.id, org_id=org_id, owner_user_id=owner_user_id):
                raise DeviceNotFound(device.id)
        logger.info(
            "device.moved device_id=%d org_id=%d owner=%s", device.id, org_id, owner_user_id
        )
        self._saved(bound, replace(device, org_id=org_id, owner_user_id=owner_user_id))

    def _saved(self, bound: BoundDevice, device: Device) -> BoundDevice:
        """Announce a changed device; it keeps its template."""
        self._bus.publish(DeviceSaved(device=device))
        return BoundDevice(device, bound.template)
