"""``SqlFirmware``: the ``FirmwareRepository`` half of ``SqlTransaction``. A mixin: it uses the
transaction's connection."""

import json
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.domain.firmware_tags import FirmwareTag
from pinbase.domain.ids import DeviceId, OrgId, TemplateId
from pinbase.domain.shipments import (
    Condition,
    DeviceShipment,
    DeviceStatus,
    Firmware,
    PreferredTime,
    Shipment,
    ShipmentState,
    TargetKind,
)
from pinbase.storage import schema

_FILES = schema.firmware_files
_SHIPMENTS = schema.shipments
_ROWS = schema.shipment_devices


class SqlFirmware:
    """Firmware and shipment queries over ``self._db``."""

    _db: AsyncConnection

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
        """Store a firmware file's row and return it."""
        tag_text = None if tag is None else json.dumps([list(pair) for pair in tag.pairs])
        inserted = await self._db.scalar(
            _FILES.insert()
            .values(
                org_id=org_id,
                filename=filename,
                size=size,
                md5=md5,
                sha256=sha256,
                tag=tag_text,
                uploaded_at=uploaded_at,
            )
            .returning(_FILES.c.id)
        )
        return Firmware(
            id=int(inserted),
            org_id=org_id,
            filename=filename,
            size=size,
            md5=md5,
            sha256=sha256,
            tag=tag,
            uploaded_at=uploaded_at,
        )

    async def get_firmware(self, firmware_id: int) -> Firmware | None:
        """The firmware with that id, or None."""
        row = (await self._db.execute(select(_FILES).where(_FILES.c.id == firmware_id))).first()
        return None if row is None else _firmware(row)

    async def list_firmware(self, org_id: OrgId) -> list[Firmware]:
        """The organization's firmware files, newest first."""
        query = select(_FILES).where(_FILES.c.org_id == org_id).order_by(_FILES.c.id.desc())
        return [_firmware(row) for row in await self._db.execute(query)]

    async def hold_firmware(self, firmware_id: int) -> bool:
        """Keep a firmware file's row from being deleted until this transaction ends; whether
        it still exists. On PostgreSQL a ``FOR KEY SHARE`` lock: a deletion under way
        (``shipments_of_firmware``'s lock) is waited for, and then the row is found gone."""
        query = select(_FILES.c.id).where(_FILES.c.id == firmware_id)
        found = await self._db.execute(query.with_for_update(read=True, key_share=True))
        return found.first() is not None

    async def shipments_of_firmware(self, firmware_id: int) -> list[str]:
        """The names of the shipments that ship this firmware file, oldest first. On PostgreSQL
        the file's row is locked first: a shipment created meanwhile (``hold_firmware``) waits for
        this transaction, then finds the file gone."""
        await self._db.execute(
            select(_FILES.c.id).where(_FILES.c.id == firmware_id).with_for_update()
        )
        query = (
            select(_SHIPMENTS.c.name)
            .where(_SHIPMENTS.c.firmware_id == firmware_id)
            .order_by(_SHIPMENTS.c.id)
        )
        return [str(name) for name in (await self._db.scalars(query))]

    async def delete_firmware(self, firmware_id: int) -> bool:
        """Delete a firmware file's row that no shipment refers to; whether there was one."""
        result = await self._db.execute(delete(_FILES).where(_FILES.c.id == firmware_id))
        return bool(result.rowcount)

    async def add_shipment(self, shipment: Shipment) -> Shipment:
        """Store a new shipment and return it with its id."""
        inserted = await self._db.scalar(
            _SHIPMENTS.insert().values(**_shipment_values(shipment)).returning(_SHIPMENTS.c.id)
        )
        return Shipment(**{**_fields(shipment), "id": int(inserted)})

    async def get_shipment(self, shipment_id: int) -> Shipment | None:
        """The shipment with that id, or None."""
        query = select(_SHIPMENTS).where(_SHIPMENTS.c.id == shipment_id)
        row = (await self._db.execute(query)).first()
        return None if row is None else _shipment(row)

    async def shipment_named(self, org_id: OrgId, name: str) -> Shipment | None:
        """The organization's shipment of that exact name, or None."""
        query = select(_SHIPMENTS).where(_SHIPMENTS.c.org_id == org_id, _SHIPMENTS.c.name == name)
        row = (await self._db.execute(query)).first()
        return None if row is None else _shipment(row)

    async def list_shipments(
        self, org_id: OrgId, *, state: ShipmentState | None = None
    ) -> list[Shipment]:
        """The organization's shipments (of one state when given), newest first."""
        query = select(_SHIPMENTS).where(_SHIPMENTS.c.org_id == org_id)
        if state is not None:
            query = query.where(_SHIPMENTS.c.state == state.value)
        rows = await self._db.execute(query.order_by(_SHIPMENTS.c.id.desc()))
        return [_shipment(row) for row in rows]

    async def live_shipments(self) -> list[Shipment]:
        """Every live shipment of the installation, oldest first."""
        query = select(_SHIPMENTS).where(_SHIPMENTS.c.state == ShipmentState.LIVE.value)
        return [_shipment(row) for row in await self._db.execute(query.order_by(_SHIPMENTS.c.id))]

    async def set_shipment_state(
        self, shipment_id: int, state: ShipmentState, *, started_at: int | None = None
    ) -> None:
        """Change a shipment's state (and its start time, when given)."""
        values: dict[str, Any] = {"state": state.value}
        if started_at is not None:
            values["started_at"] = started_at
        await self._db.execute(
            update(_SHIPMENTS).where(_SHIPMENTS.c.id == shipment_id).values(**values)
        )

    async def delete_shipment(self, shipment_id: int) -> bool:
        """Delete a shipment with its devices' statuses."""
        await self._db.execute(delete(_ROWS).where(_ROWS.c.shipment_id == shipment_id))
        result = await self._db.execute(delete(_SHIPMENTS).where(_SHIPMENTS.c.id == shipment_id))
        return bool(result.rowcount)

    async def get_device_shipment(
        self, shipment_id: int, device_id: DeviceId
    ) -> DeviceShipment | None:
        """A device's row in a shipment, or None."""
        query = select(_ROWS).where(
            _ROWS.c.shipment_id == shipment_id, _ROWS.c.device_id == device_id
        )
        row = (await self._db.execute(query)).first()
        return None if row is None else _device_row(row)

    async def device_shipment_by_token(self, token: str) -> DeviceShipment | None:
        """The row whose download token is ``token``, or None."""
        row = (await self._db.execute(select(_ROWS).where(_ROWS.c.download_token == token))).first()
        return None if row is None else _device_row(row)

    async def save_device_shipment(self, row: DeviceShipment) -> None:
        """Insert or replace a device's row in a shipment."""
        values = {
            "status": row.status.value,
            "reason": row.reason,
            "download_token": row.download_token,
            "attempts": row.attempts,
            "attempts_since": row.attempts_since,
            "sent_at": row.sent_at,
            "updated_at": row.updated_at,
            "from_version": row.from_version,
            "from_build": row.from_build,
        }
        result = await self._db.execute(
            update(_ROWS)
            .where(_ROWS.c.shipment_id == row.shipment_id, _ROWS.c.device_id == row.device_id)
            .values(**values)
        )
        if not result.rowcount:
            await self._db.execute(
                _ROWS.insert().values(
                    shipment_id=row.shipment_id, device_id=row.device_id, **values
                )
            )

    async def list_device_shipments(self, shipment_id: int) -> list[DeviceShipment]:
        """Every device row of a shipment, by device id."""
        query = select(_ROWS).where(_ROWS.c.shipment_id == shipment_id).order_by(_ROWS.c.device_id)
        return [_device_row(row) for row in await self._db.execute(query)]

    async def tagged_device_ids(self, tag_id: int) -> list[DeviceId]:
        """The devices carrying a tag."""
        links = schema.device_tags
        query = (
            select(links.c.device_id).where(links.c.tag_id == tag_id).order_by(links.c.device_id)
        )
        return [DeviceId(int(device_id)) for device_id in await self._db.scalars(query)]


async def delete_org_firmware(db: AsyncConnection, org_id: OrgId) -> None:
    """Delete an organization's shipments, their device rows and its firmware rows."""
    org_shipments = select(_SHIPMENTS.c.id).where(_SHIPMENTS.c.org_id == org_id)
    await db.execute(delete(_ROWS).where(_ROWS.c.shipment_id.in_(org_shipments)))
    await db.execute(delete(_SHIPMENTS).where(_SHIPMENTS.c.org_id == org_id))
    await db.execute(delete(_FILES).where(_FILES.c.org_id == org_id))


def _firmware(row: Row[Any]) -> Firmware:
    tag = None
    if row.tag is not None:
        tag = FirmwareTag(pairs=tuple((str(key), str(value)) for key, value in json.loads(row.tag)))
    return Firmware(
        id=int(row.id),
        org_id=OrgId(row.org_id),
        filename=row.filename,
        size=int(row.size),
        md5=row.md5,
        sha256=row.sha256,
        tag=tag,
        uploaded_at=int(row.uploaded_at),
    )


def _fields(shipment: Shipment) -> dict[str, Any]:
    return {name: getattr(shipment, name) for name in Shipment.__dataclass_fields__}


def _shipment_values(shipment: Shipment) -> dict[str, Any]:
    return {
        "org_id": shipment.org_id,
        "name": shipment.name,
        "template_id": shipment.template_id,
        "firmware_id": shipment.firmware_id,
        "state": shipment.state.value,
        "target": shipment.target.value,
        "device_ids": json.dumps(list(shipment.device_ids)),
        "tag_id": shipment.tag_id,
        "condition": shipment.condition.value,
        "preferred_time": shipment.preferred_time.value,
        "attempts_limit": shipment.attempts_limit,
        "attempts_reset_s": shipment.attempts_reset_s,
        "created_at": shipment.created_at,
        "started_at": shipment.started_at,
    }


def _shipment(row: Row[Any]) -> Shipment:
    return Shipment(
        id=int(row.id),
        org_id=OrgId(row.org_id),
        name=row.name,
        template_id=TemplateId(row.template_id),
        firmware_id=int(row.firmware_id),
        state=ShipmentState(row.state),
        target=TargetKind(row.target),
        device_ids=tuple(DeviceId(int(item)) for item in json.loads(row.device_ids)),
        tag_id=row.tag_id,
        condition=Condition(row.condition),
        preferred_time=PreferredTime(row.preferred_time),
        attempts_limit=int(row.attempts_limit),
        attempts_reset_s=int(row.attempts_reset_s),
        created_at=int(row.created_at),
        started_at=None if row.started_at is None else int(row.started_at),
    )


def _device_row(row: Row[Any]) -> DeviceShipment:
    return DeviceShipment(
        shipment_id=int(row.shipment_id),
        device_id=DeviceId(row.device_id),
        status=DeviceStatus(row.status),
        reason=row.reason,
        download_token=row.download_token,
        attempts=int(row.attempts),
        attempts_since=None if row.attempts_since is None else int(row.attempts_since),
        sent_at=None if row.sent_at is None else int(row.sent_at),
        updated_at=int(row.updated_at),
        from_version=row.from_version,
        from_build=row.from_build,
    )
