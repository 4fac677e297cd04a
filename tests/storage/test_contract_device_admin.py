"""The storage contract of device management (rename, move, erase, delete), on every backend.

Same rules as ``test_contract.py``: each test gets an empty, migrated database. PostgreSQL and
SQLite (``foreign_keys=ON``) both enforce the foreign keys a delete must respect.
"""

from sqlalchemy import func, insert, select
from test_contract import EVENTS, T0, add_device, add_devices

from pinbase.domain.device_notifications import DeviceEventSettings
from pinbase.domain.devices import Device
from pinbase.domain.ids import DatastreamId, DeviceId, OrgId
from pinbase.domain.notifications import LimitState
from pinbase.domain.points import Point
from pinbase.storage import schema
from pinbase.storage.automations import ActionLogEntry
from pinbase.storage.notifications import NotificationRecord
from pinbase.storage.sql import SqlStore

TABLES = [table for table in schema.metadata.sorted_tables if "device_id" in table.c]
"""Every table holding rows of a device besides ``devices``."""
DATA = {"current_values", "history", "history_minutes", "properties"}


async def fill(store: SqlStore, device: Device) -> None:
    """A row of the device in every table that references devices."""
    point = Point(device.id, DatastreamId(1), T0, 5)
    await store.append_points([point], current=[point])
    async with store.transaction() as tx:
        await tx.set_property(device.id, DatastreamId(1), name="color", value='"red"', ts=T0)
        await tx.set_metafield_value(device.id, 1, "SN")
        await tx.add_device_event(device.id, EVENTS[0], description=None, ts=T0)
        await tx.add_device_file(
            device.id, original_name="a", stored_name=f"s{device.id}", created_at=T0
        )
        tag = await tx._db.scalar(
            insert(schema.tags)
            .values(org_id=device.org_id, name=f"t{device.id}", created_at=T0)
            .returning(schema.tags.c.id)
        )
        await tx._db.execute(insert(schema.device_tags).values(device_id=device.id, tag_id=tag))
        await tx._db.execute(
            insert(schema.device_actions).values(
                device_id=device.id, pin_type="VIRTUAL", pin=1, value="5", is_online=False,
                created_at=T0,
            )
        )  # fmt: skip
        automation = await tx.add_automation(
            org_id=device.org_id, owner_id=None, name="A", is_active=True, spec={}, created_at=T0
        )
        await tx.set_automation_opt_out(automation, device.id, opted_out=True)
        await tx.add_action_log(
            [
                ActionLogEntry(
                    run_id=automation, seq=0, type="CONTROL_DEVICE", device_id=device.id,
                    datastream_id=1, value="1", status="OK", reason=None, ts=T0,
                )
            ]
        )  # fmt: skip
        # The notification tables of issue #10 (migration 0011).
        await tx.record_presence(device.id, online=True, ts=T0)
        await tx.set_last_message_at(device.id, "EMAIL", ts=T0)
        await tx.save_limit_state(device.id, 1, limits_key="k", state=LimitState(count=1))
        # End-user notification management (migration 0016).
        await tx.save_device_event_settings(device.id, 1, DeviceEventSettings(), ts=T0)
        await tx.add_notification_records(
            [
                NotificationRecord(
                    created_at=T0, org_id=device.org_id, device_id=device.id, source="EVENT",
                    channel="EMAIL", status="QUEUED",
                )
            ]
        )  # fmt: skip
        # Segments (migration 0019) and Blynk.Air shipments (migration 0018).
        segment = await tx._db.scalar(
            insert(schema.segments)
            .values(org_id=device.org_id, name=f"s{device.id}", created_at=T0)
            .returning(schema.segments.c.id)
        )
        await tx._db.execute(
            insert(schema.segment_devices).values(segment_id=segment, device_id=device.id)
        )
        firmware = await tx._db.scalar(
            insert(schema.firmware_files)
            .values(
                org_id=device.org_id, filename="f.bin", size=1, md5="0" * 32, sha256="0" * 44,
                uploaded_at=T0,
            )
            .returning(schema.firmware_files.c.id)
        )  # fmt: skip
        shipment = await tx._db.scalar(
            insert(schema.shipments)
            .values(
                org_id=device.org_id, name=f"s{device.id}", template_id=device.template_id,
                firmware_id=firmware, state="LIVE", target="TEMPLATE", device_ids="[]",
                condition="ANY", preferred_time="ANY", attempts_limit=3, attempts_reset_s=86400,
                created_at=T0,
            )
            .returning(schema.shipments.c.id)
        )  # fmt: skip
        await tx._db.execute(
            insert(schema.shipment_devices).values(
                shipment_id=shipment, device_id=device.id, status="STARTED", attempts=0,
                updated_at=T0,
            )
        )  # fmt: skip


async def rows(store: SqlStore, device_id: DeviceId) -> dict[str, int]:
    """Rows per table for ``device_id``, ``devices`` included."""
    async with store.transaction() as tx:
        counts = {
            table.name: await tx._db.scalar(
                select(func.count()).select_from(table).where(table.c.device_id == device_id)
            )
            for table in TABLES
        }
        counts["devices"] = await tx._db.scalar(
            select(func.count()).where(schema.devices.c.id == device_id)
        )
    return {name: int(count or 0) for name, count in counts.items()}


async def test_delete_removes_the_device_and_every_row_of_it(store: SqlStore) -> None:
    """True, and nothing of the device is left; the other device keeps all of its rows."""
    doomed, kept = await add_devices(store, 2)
    for device in (doomed, kept):
        await fill(store, device)
    before = await rows(store, kept.id)
    # history_minutes is filled by the group commit where the backend maintains it
    empty = [name for name, count in before.items() if not count and name != "history_minutes"]
    assert empty == []
    async with store.transaction() as tx:
        assert await tx.delete_device(doomed.id)
    assert set((await rows(store, doomed.id)).values()) == {0}
    assert await rows(store, kept.id) == before
    async with store.transaction() as tx:
        assert not await tx.delete_device(doomed.id)


async def test_clear_keeps_the_device_metadata_and_events(store: SqlStore) -> None:
    """Values, history, minute aggregates and properties go; everything else stays."""
    (device,) = await add_devices(store, 1)
    await fill(store, device)
    async with store.transaction() as tx:
        await tx.clear_device_data(device.id)
    left = await rows(store, device.id)
    assert {name for name, count in left.items() if count == 0} == DATA


async def test_rename_and_move_change_one_device(store: SqlStore) -> None:
    """The device row changes; a missing device answers False."""
    device, other = await add_devices(store, 2)
    async with store.transaction() as tx:
        org = await tx.add_organization(
            name="Elsewhere", parent_id=None, description=None, created_at=T0
        )
        assert await tx.rename_device(device.id, "Renamed")
        assert await tx.move_device(device.id, org_id=org.id, owner_user_id=None)
        assert not await tx.rename_device(DeviceId(999_999), "x")
        assert not await tx.move_device(DeviceId(999_999), org_id=OrgId(org.id), owner_user_id=None)
        moved = await tx.find_device_by_id(device.id)
        untouched = await tx.find_device_by_id(other.id)
    assert moved is not None
    assert untouched is not None
    assert (moved.name, moved.org_id, moved.owner_user_id) == ("Renamed", org.id, None)
    assert (untouched.name, untouched.org_id) == (other.name, other.org_id)


async def test_a_deleted_devices_id_is_not_reused(store: SqlStore) -> None:
    """The next device gets a higher id than the deleted newest one (migration 0004)."""
    (newest,) = await add_devices(store, 1)
    async with store.transaction() as tx:
        assert await tx.delete_device(newest.id)
        template = await tx.load_template(newest.template_id)
    assert template is not None
    created = await add_device(store, template, "next-token")
    assert created.id > newest.id
