"""The storage contract of the MQTT erase topics (device-protocols.md §2.4): one current value,
one property, on every backend; everything else of the device stays."""

from test_contract import T0, add_devices
from test_contract_device_admin import rows

from pinbase.domain.ids import DatastreamId
from pinbase.domain.points import Point
from pinbase.storage.sql import SqlStore

FIRST, SECOND = DatastreamId(1), DatastreamId(2)


async def test_clear_current_value_erases_one_value_and_keeps_the_history(
    store: SqlStore,
) -> None:
    """Only the device's value of that datastream goes; its history and the other values stay."""
    device, other = await add_devices(store, 2)
    points = [
        Point(device.id, FIRST, T0, 5),
        Point(device.id, SECOND, T0, 6),
        Point(other.id, FIRST, T0, 7),
    ]
    await store.append_points(points, current=points)
    async with store.transaction() as tx:
        await tx.clear_current_value(device.id, FIRST)
        left = await tx.load_current_values()
    assert {(p.device_id, p.datastream_id) for p in left} == {
        (device.id, SECOND),
        (other.id, FIRST),
    }
    assert (await rows(store, device.id))["history"] == 2


async def test_delete_property_removes_one_property(store: SqlStore) -> None:
    """True for a stored property, False once it is gone; the others stay."""
    (device,) = await add_devices(store, 1)
    async with store.transaction() as tx:
        for datastream, name in ((FIRST, "color"), (FIRST, "label"), (SECOND, "color")):
            await tx.set_property(device.id, datastream, name=name, value='"x"', ts=T0)
        assert await tx.delete_property(device.id, FIRST, "color")
        assert not await tx.delete_property(device.id, FIRST, "color")
        assert await tx.load_properties(device.id, FIRST) == {"label": '"x"'}
        assert await tx.load_properties(device.id, SECOND) == {"color": '"x"'}
