"""Device management (PLT-DEV-09..14): create, rename, move, erase and delete devices.

Every change is committed first and then announced (``services.changes``); ``CachedState``
applies it to the in-memory state the device APIs serve from (directory, current values,
property cache) and ``DeviceSessions`` closes a deleted device's live connection, so a created
device's token works and a deleted device's token is refused from the very next request. Scope
and permission checks are the caller's; this service only changes state.
"""

import logging
from dataclasses import replace

from pinbase.domain.devices import Device, new_token
from pinbase.domain.ids import OrgId
from pinbase.domain.templates import Template
from pinbase.services.bus import Bus
from pinbase.services.changes import DeviceDataErased, DeviceRemoved, DeviceSaved
from pinbase.services.clock import Clock
from pinbase.services.directory import BoundDevice
from pinbase.services.uploads import Uploads
from pinbase.storage.base import Store

logger = logging.getLogger(__name__)


class DeviceGone(Exception):
    """The device was deleted meanwhile (by a concurrent request); nothing was changed."""


class DeviceAdmin:
    """Changes devices in storage, then announces the change."""

    def __init__(self, *, store: Store, uploads: Uploads, bus: Bus, clock: Clock) -> None:
        self._store = store
        self._uploads = uploads
        self._bus = bus
        self._clock = clock

    async def create(
        self, *, org_id: OrgId, template: Template, name: str, owner_user_id: int | None
    ) -> BoundDevice:
        """A new device with a fresh token; ``activatedAt`` is its creation time."""
        async with self._store.transaction() as tx:
            device = await tx.add_device(
                org_id=org_id,
                template=template,
                name=name,
                token=new_token(),
                created_at=self._clock(),
                owner_user_id=owner_user_id,
            )
        self._bus.publish(DeviceSaved(device=device))
        logger.info("device.created device_id=%d org_id=%d", device.id, org_id)
        return BoundDevice(device, template)

    async def rename(self, bound: BoundDevice, name: str) -> BoundDevice:
        """The device under its new name.

        Raises:
            DeviceGone: the device was deleted meanwhile.
        """
        async with self._store.transaction() as tx:
            if not await tx.rename_device(bound.device.id, name):
                raise DeviceGone
        return self._saved(bound, replace(bound.device, name=name))

    async def move(
        self, bound: BoundDevice, *, org_id: OrgId, owner_user_id: int | None
    ) -> BoundDevice:
        """The device in ``org_id`` owned by ``owner_user_id`` (None: no owner).

        Raises:
            DeviceGone: the device was deleted meanwhile.
        """
        device = bound.device
        async with self._store.transaction() as tx:
            if not await tx.move_device(device.id, org_id=org_id, owner_user_id=owner_user_id):
                raise DeviceGone
        logger.info(
            "device.moved device_id=%d org_id=%d owner=%s", device.id, org_id, owner_user_id
        )
        return self._saved(bound, replace(device, org_id=org_id, owner_user_id=owner_user_id))

    async def erase_data(self, bound: BoundDevice) -> None:
        """Clear the device's values, history and properties; the device itself stays."""
        async with self._store.transaction() as tx:
            await tx.clear_device_data(bound.device.id)
        self._bus.publish(DeviceDataErased(device_id=bound.device.id))
        logger.info("device.erased device_id=%d", bound.device.id)

    async def delete(self, bound: BoundDevice) -> None:
        """Delete the device with everything it stored, end its connection, drop its files.

        Raises:
            DeviceGone: the device was deleted meanwhile.
        """
        device_id = bound.device.id
        async with self._store.transaction() as tx:
            if not await tx.delete_device(device_id):
                raise DeviceGone
        self._bus.publish(DeviceRemoved(device_id=device_id))
        await self._uploads.remove_device(device_id)
        logger.info("device.deleted device_id=%d", device_id)

    def _saved(self, bound: BoundDevice, device: Device) -> BoundDevice:
        """Announce a changed device; it keeps its template."""
        self._bus.publish(DeviceSaved(device=device))
        return BoundDevice(device, bound.template)
