"""Chart buckets folded in SQL from raw points and from minute aggregates, on every backend.

Same rules as ``test_contract.py``: each test gets an empty, migrated database.
"""

from test_contract import COUNTER, MESSAGE, T0, TEMPERATURE, add_devices

from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.points import Point
from pinbase.storage.base import BucketRow, Store

MINUTE = 60_000
M0 = T0 - T0 % (5 * MINUTE)
"""The start of a five-minute bucket in 2025."""


def bucket(datastream_id: DatastreamId, start: int, values: list[float]) -> BucketRow:
    """The expected bucket of ``values``."""
    return BucketRow(
        datastream_id=datastream_id,
        start=start,
        count=len(values),
        low=min(values),
        high=max(values),
        total=sum(values),
    )


async def store_sample(store: Store) -> tuple[DeviceId, DeviceId]:
    """A device with points in two series over 7 minutes, text, and a point far past the rest.

    Returns the device's id and the id of another device of its template, with no points yet.
    """
    device, other = await add_devices(store, 2)
    points = [
        Point(device.id, COUNTER, M0 + 1_000, 10),
        Point(device.id, COUNTER, M0 + 59_000, 30),
        Point(device.id, COUNTER, M0 + MINUTE + 5_000, -2),
        Point(device.id, COUNTER, M0 + 6 * MINUTE, 7),
        Point(device.id, TEMPERATURE, M0 + 2 * MINUTE, 1.5),
        Point(device.id, TEMPERATURE, M0 + 2 * MINUTE + 1, 2.5),
        Point(device.id, MESSAGE, M0 + 1_000, "text has no number"),
        Point(device.id, COUNTER, M0 + 20 * MINUTE, 99),
    ]
    await store.append_points(points, current=[])
    return device.id, other.id


async def test_minute_buckets_fold_count_min_max_and_sum_exactly(store: Store) -> None:
    """Minutes fold into 5-minute buckets per series; text and empty buckets give no row."""
    device_id, _ = await store_sample(store)
    async with store.transaction() as tx:
        rows = await tx.read_minute_buckets(
            device_id,
            [COUNTER, TEMPERATURE, MESSAGE],
            since=M0,
            until=M0 + 15 * MINUTE,
            bucket_ms=5 * MINUTE,
        )
    assert rows == [
        bucket(COUNTER, M0, [10, 30, -2]),
        bucket(COUNTER, M0 + 5 * MINUTE, [7]),
        bucket(TEMPERATURE, M0, [1.5, 2.5]),
    ]


async def test_point_buckets_fold_raw_points_from_since(store: Store) -> None:
    """Raw points fold into buckets counted from ``since``, which need not be a whole minute."""
    device_id, _ = await store_sample(store)
    since = M0 + 500
    async with store.transaction() as tx:
        rows = await tx.read_point_buckets(
            device_id, [COUNTER, MESSAGE], since=since, until=M0 + 2 * MINUTE, bucket_ms=30_000
        )
    assert rows == [
        bucket(COUNTER, since, [10]),
        bucket(COUNTER, since + 30_000, [30]),
        bucket(COUNTER, since + 2 * 30_000, [-2]),
    ]


async def test_buckets_keep_to_the_device_and_the_window(store: Store) -> None:
    """Another device's points and points outside [since, until) are not folded."""
    device_id, other = await store_sample(store)
    await store.append_points([Point(other, COUNTER, M0 + 2_000, 1_000)], current=[])
    async with store.transaction() as tx:
        minutes = await tx.read_minute_buckets(
            device_id, [COUNTER], since=M0 + MINUTE, until=M0 + 6 * MINUTE, bucket_ms=MINUTE
        )
        points = await tx.read_point_buckets(
            device_id, [COUNTER], since=M0 + 2_000, until=M0 + 59_000, bucket_ms=MINUTE
        )
    assert minutes == [bucket(COUNTER, M0 + MINUTE, [-2])]
    assert points == []
