"""Blynk.Air's part of the storage contract: firmware files, shipments and each device's status
in a shipment (device-lifecycle.md §1.6, §1.7). No SQL here; ``storage.sql_firmware``
implements it."""

from typing import Protocol

from pinbase.domain.firmware_tags import FirmwareTag
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.shipments import DeviceShipment, Firmware, Shipment, ShipmentState


class FirmwareRepository(Protocol):
    """Firmware and shipment reads and writes inside one transaction."""

    async def add_firmware(
        self,
        org_id: OrgId,
        *,
        filename: str,
        size: int,
        md5: str,
        sha256: str,
        tag: FirmwareTag | None,
        uploaded_at: int,
    ) -> Firmware:
        """Store a firmware file's row (its bytes are the caller's) and return it."""
        ...

    async def get_firmware(self, firmware_id: int) -> Firmware | None:
        """The firmware with that id, or None."""
        ...

    async def list_firmware(self, org_id: OrgId) -> list[Firmware]:
        """The organization's firmware files, newest first."""
        ...

    async def hold_firmware(self, firmware_id: int) -> bool:
        """Keep a firmware file's row from being deleted until this transaction ends; whether
        it still exists."""
        ...

    async def shipments_of_firmware(self, firmware_id: int) -> list[str]:
        """The names of the shipments that ship this firmware file, oldest first."""
        ...

    async def delete_firmware(self, firmware_id: int) -> bool:
        """Delete a firmware file's row that no shipment refers to; whether there was one."""
        ...

    async def add_shipment(self, shipment: Shipment) -> Shipment:
        """Store a new shipment (its ``id`` is ignored) and return it with its id."""
        ...

    async def get_shipment(self, shipment_id: int) -> Shipment | None:
        """The shipment with that id, or None."""
        ...

    async def shipment_named(self, org_id: OrgId, name: str) -> Shipment | None:
        """The organization's shipment of that exact name, or None."""
        ...

    async def list_shipments(
        self, org_id: OrgId, *, state: ShipmentState | None = None
    ) -> list[Shipment]:
        """The organization's shipments (of one state when given), newest first."""
        ...

    async def live_shipments(self) -> list[Shipment]:
        """Every live shipment of the installation, oldest first."""
        ...

    async def set_shipment_state(
        self, shipment_id: int, state: ShipmentState, *, started_at: int | None = None
    ) -> None:
        """Change a shipment's state (and its start time, when given)."""
        ...

    async def delete_shipment(self, shipment_id: int) -> bool:
        """Delete a shipment with its devices' statuses; False when it did not exist."""
        ...

    async def get_device_shipment(
        self, shipment_id: int, device_id: DeviceId
    ) -> DeviceShipment | None:
        """A device's row in a shipment, or None."""
        ...

    async def device_shipment_by_token(self, token: str) -> DeviceShipment | None:
        """The row whose download token is ``token``, or None."""
        ...

    async def save_device_shipment(self, row: DeviceShipment) -> None:
        """Insert or replace a device's row in a shipment."""
        ...

    async def list_device_shipments(self, shipment_id: int) -> list[DeviceShipment]:
        """Every device row of a shipment, by device id."""
        ...

    async def tagged_device_ids(self, tag_id: int) -> list[DeviceId]:
        """The devices carrying a tag."""
        ...
