"""The storage contract of device records (tags, timeline pages, actions log), on every backend.

Same rules as ``test_contract.py``: each test gets an empty, migrated database, and timestamps
sit past 2**31 milliseconds.
"""

from dataclasses import replace
from typing import Any

from sqlalchemy import insert
from test_contract import EVENTS, T0, add_devices

from pinbase.domain.devices import Device
from pinbase.domain.ids import DeviceId
from pinbase.domain.pins import Pin, PinType
from pinbase.storage import schema
from pinbase.storage.base import Store
from pinbase.storage.device_records import DeviceAction
from pinbase.storage.sql import SqlStore


def action(device: Device, n: int, **changes: Any) -> DeviceAction:
    """The ``n``-th value write on v1 of ``device``, ``n`` ms after T0, with ``changes``."""
    written = DeviceAction(
        device_id=device.id,
        trigger_user_email=None,
        pin=Pin(PinType.VIRTUAL, 1),
        property=None,
        value=str(n),
        is_online=False,
        created_at=T0 + n,
    )
    return replace(written, **changes)


async def test_device_tags_are_those_linked_to_the_device(store: SqlStore) -> None:
    """Only the device's own tags, by id, with their organization."""
    first, second = await add_devices(store, 2)
    async with store.transaction() as tx:
        await tx._db.execute(  # no repository method writes tags yet
            insert(schema.tags),
            [
                {"id": n, "org_id": first.org_id, "name": f"Tag {n}", "created_at": T0}
                for n in (1, 2, 3)
            ],
        )
        await tx._db.execute(
            insert(schema.device_tags),
            [
                {"device_id": first.id, "tag_id": 3},
                {"device_id": first.id, "tag_id": 1},
                {"device_id": second.id, "tag_id": 2},
            ],
        )
    async with store.transaction() as tx:
        tags = await tx.list_device_tags(first.id)
        assert [(tag.id, tag.org_id, tag.name) for tag in tags] == [
            (1, first.org_id, "Tag 1"),
            (3, first.org_id, "Tag 3"),
        ]
        assert await tx.list_device_tags(DeviceId(999)) == []


async def test_tag_links_list_each_tag_once_per_device(store: SqlStore) -> None:
    """Tags of the given devices only, each with every device it is on, by tag then device."""
    first, second, third = await add_devices(store, 3)
    async with store.transaction() as tx:
        await tx._db.execute(  # no repository method writes tags yet
            insert(schema.tags),
            [
                {"id": n, "org_id": first.org_id, "name": f"Tag {n}", "created_at": T0}
                for n in (1, 2)
            ],
        )
        await tx._db.execute(
            insert(schema.device_tags),
            [
                {"device_id": second.id, "tag_id": 2},
                {"device_id": first.id, "tag_id": 2},
                {"device_id": first.id, "tag_id": 1},
                {"device_id": third.id, "tag_id": 1},
            ],
        )
    async with store.transaction() as tx:
        links = await tx.list_tag_links([second.id, first.id])
        assert [(link.tag.id, link.tag.name, link.device_id) for link in links] == [
            (1, "Tag 1", first.id),
            (2, "Tag 2", first.id),
            (2, "Tag 2", second.id),
        ]
        assert await tx.list_tag_links([]) == []


async def test_timeline_pages_newest_first_by_type(store: Store) -> None:
    """Pages run newest first (ties: latest row first); a type keeps only its events."""
    (device,) = await add_devices(store, 1)
    overheat, door = EVENTS
    async with store.transaction() as tx:
        logged = [
            await tx.add_device_event(device.id, overheat, description="a", ts=T0),
            await tx.add_device_event(device.id, door, description=None, ts=T0 + 5),
            await tx.add_device_event(device.id, overheat, description="c", ts=T0 + 5),
        ]
    async with store.transaction() as tx:
        everything = await tx.read_timeline_page(device.id, event_type=None, offset=0, limit=10)
        assert everything == logged[::-1]
        assert await tx.count_timeline(device.id, event_type=None) == 3
        warnings = await tx.read_timeline_page(device.id, event_type="WARNING", offset=1, limit=1)
        assert warnings == [logged[0]]
        assert await tx.count_timeline(device.id, event_type="WARNING") == 2
        assert await tx.count_timeline(device.id, event_type="CRITICAL") == 0
        assert await tx.count_timeline(DeviceId(999), event_type=None) == 0


async def test_timeline_and_actions_from_a_time_on(store: Store) -> None:
    """``since`` keeps the events and actions logged at that time or later, counts included."""
    (device,) = await add_devices(store, 1)
    overheat, _ = EVENTS
    old, new = action(device, 1), action(device, 10)
    async with store.transaction() as tx:
        await tx.add_device_event(device.id, overheat, description="old", ts=T0)
        recent = await tx.add_device_event(device.id, overheat, description="new", ts=T0 + 10)
        await tx.add_device_actions([old, new])
    async with store.transaction() as tx:
        page = await tx.read_timeline_page(
            device.id, event_type=None, offset=0, limit=10, since=T0 + 10
        )
        assert page == [recent]
        assert await tx.count_timeline(device.id, event_type=None, since=T0 + 10) == 1
        assert await tx.count_timeline(device.id, event_type=None, since=T0) == 2
        assert await tx.read_device_actions_page(device.id, offset=0, limit=5, since=T0 + 10) == [
            new
        ]
        assert await tx.count_device_actions(device.id, since=T0 + 10) == 1
        assert await tx.count_device_actions(device.id, since=T0 + 11) == 0


async def test_actions_round_trip_newest_first(store: Store) -> None:
    """Entries come back with every field, newest first, one device at a time."""
    first, second = await add_devices(store, 2)
    entries = [
        action(first, 1),
        action(first, 2, pin=Pin(PinType.DIGITAL, 13), is_online=True),
        action(first, 2, property="color", value='"#D3435C"', trigger_user_email="a@b.example"),
        action(second, 3),
    ]
    async with store.transaction() as tx:
        await tx.add_device_actions(entries)
        await tx.add_device_actions([])
    async with store.transaction() as tx:
        assert await tx.read_device_actions_page(first.id, offset=0, limit=10) == [
            entries[2],
            entries[1],
            entries[0],
        ]
        assert await tx.read_device_actions_page(first.id, offset=2, limit=5) == [entries[0]]
        assert await tx.count_device_actions(first.id) == 3
        assert await tx.count_device_actions(second.id) == 1
        assert await tx.count_device_actions(DeviceId(999)) == 0


async def test_device_commands_round_trip_without_a_pin(store: Store) -> None:
    """A command entry (reboot, ping…) has no pin and names its command; it reads back so,
    next to value writes."""
    (device,) = await add_devices(store, 1)
    entries = [
        action(device, 1),
        action(device, 2, pin=None, command="ping", value='{"ms":12.5}', is_online=True),
        action(device, 3, pin=None, command="reboot", value="null", trigger_user_email="a@b.c"),
    ]
    async with store.transaction() as tx:
        await tx.add_device_actions(entries)
    async with store.transaction() as tx:
        assert await tx.read_device_actions_page(device.id, offset=0, limit=10) == [
            entries[2],
            entries[1],
            entries[0],
        ]
