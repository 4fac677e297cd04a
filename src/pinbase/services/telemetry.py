"""The one value pipeline every entry point uses (data-model.md §2.1).

Parsing, enum mapping, clamping and size checks are domain rules (``domain.values``); callers
resolve datastreams and parse first, then hand typed values here. This service assigns the server
timestamp, makes the points durable through the group-commit writer, raises the in-memory current
values and publishes ``ValuesChanged`` on the bus, in that order, so nothing is announced or
served before it is stored. The outbox deliveries a write causes (``WriteTriggers``: webhook
calls) are committed in the same group transaction as its points.
"""

from collections.abc import Iterable, Sequence

from pinbase.domain.datastreams import Datastream
from pinbase.domain.devices import Device
from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.points import Point
from pinbase.domain.value_types import Value
from pinbase.domain.values import read_json
from pinbase.services.bus import Bus, ValuesChanged, ValuesImported, WrittenValue
from pinbase.services.clock import DAY_MS, Clock
from pinbase.services.history_writer import HistoryWriter
from pinbase.services.rate_limit import RateLimiter
from pinbase.services.reactions.outbox import Wake
from pinbase.services.reactions.triggers import NoTriggers, WriteTriggers


class ImportQuotaExceeded(PinbaseError):
    """The device imported its daily allowance of timestamped points (http-api.md OP-24)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"daily limit of {limit} imported points reached")
        self.limit = limit


class Telemetry:
    """Records values and answers what a device's datastreams hold now."""

    def __init__(
        self,
        writer: HistoryWriter,
        bus: Bus,
        clock: Clock,
        *,
        import_points_per_day: int,
        triggers: WriteTriggers | None = None,
        wake_outbox: Wake | None = None,
        import_quota: RateLimiter[DeviceId] | None = None,
    ) -> None:
        """``import_quota`` counts the imported points per device per UTC day (built by the
        runtime, shared between nodes); by default a limiter of this process."""
        self._writer = writer
        # No rules: no call at all on the device write path (``NoTriggers`` is the same, slower).
        self._triggers = None if triggers is None or isinstance(triggers, NoTriggers) else triggers
        self._wake_outbox = wake_outbox
        self._bus = bus
        self._clock = clock
        self._current: dict[tuple[DeviceId, DatastreamId], Point] = {}
        self._import_limit = import_points_per_day
        self._import_quota = (
            import_quota
            if import_quota is not None
            else RateLimiter(clock, limit=import_points_per_day, window_ms=DAY_MS)
        )

    @property
    def import_quota(self) -> RateLimiter[DeviceId]:
        """The limiter counting the imported points (the runtime flushes a shared one)."""
        return self._import_quota

    def load(self, points: Iterable[Point]) -> None:
        """Seed the current values from storage at start."""
        for point in points:
            self._raise_current(point)

    async def record(
        self,
        device: Device,
        writes: Sequence[tuple[Datastream, Value]],
        *,
        origin: str,
        ts: int | None = None,
        origin_id: int | None = None,
        hops: int = 0,
    ) -> int:
        """Store values of one device under one timestamp; return that timestamp.

        All values of one call share the timestamp (batch update). ``ts`` is for writes that
        share a timestamp across calls, such as a device's ``beginGroup``/``endGroup``
        (device-protocols.md §1.10.5); it defaults to the server's clock. ``origin_id`` and
        ``hops`` name the automation or webhook that wrote and how many rule steps led here
        (``ValuesChanged``). Returns after the points and the deliveries they cause are
        committed.
        """
        if ts is None:
            ts = self._clock()
        points = [Point(device.id, ds.id, ts, value) for ds, value in writes]
        deliveries = (
            ()
            if self._triggers is None
            else self._triggers.deliveries_for(device, writes, ts=ts, origin=origin)
        )
        await self._writer.write(points, deliveries)
        if deliveries and self._wake_outbox is not None:
            self._wake_outbox(*{delivery.kind for delivery in deliveries})
        for point in points:
            self._raise_current(point)
        announced = tuple([WrittenValue(ds.id, ds.pin, ds.label, value) for ds, value in writes])
        self._bus.publish(
            ValuesChanged(
                device_id=device.id,
                writes=announced,
                ts=ts,
                origin=origin,
                origin_id=origin_id,
                hops=hops,
            )
        )
        return ts

    async def import_points(self, device: Device, points: Sequence[Point]) -> None:
        """Store back-dated points with their own timestamps (timestamped uploads).

        The newest point becomes the current value only if it is newer than the current one
        (http-api.md OP-26); nothing is pushed to the device. Every import path shares one daily
        allowance per device, counted by ``import_quota`` (in memory: a restart starts the day's
        count afresh; shared by the nodes of an installation).

        Raises:
            ImportQuotaExceeded: the points would pass the device's daily allowance; nothing
                was stored.
        """
        if points and (
            self._import_limit <= 0 or not self._import_quota.take(device.id, len(points))
        ):
            raise ImportQuotaExceeded(self._import_limit)
        await self._writer.write(points)
        newest: dict[DatastreamId, Point] = {}
        for point in points:
            self._raise_current(point)
            known = newest.get(point.datastream_id)
            if known is None or point.ts >= known.ts:
                newest[point.datastream_id] = point
        if newest:
            self._bus.publish(ValuesImported(device_id=device.id, newest=tuple(newest.values())))

    def current(self, device_id: DeviceId, datastream: Datastream) -> Point | None:
        """The stored current value, or None when the datastream never received one."""
        return self._current.get((device_id, datastream.id))

    def effective(self, device_id: DeviceId, datastream: Datastream) -> Value | None:
        """The current value, else the datastream's default (read-through, data-model §2.5)."""
        point = self._current.get((device_id, datastream.id))
        if point is not None:
            return point.value
        return datastream.default_value

    def values_by_pin(
        self, device_id: DeviceId, datastreams: Iterable[Datastream]
    ) -> dict[str, object]:
        """The JSON form of each datastream's effective value, keyed by lowercase pin name;
        datastreams with neither a value nor a default are left out (DEV-01, DEV-02, PLT-DS-01)."""
        answer: dict[str, object] = {}
        for datastream in datastreams:
            value = self.effective(device_id, datastream)
            if value is not None:
                answer[datastream.pin.name] = read_json(datastream, value)
        return answer

    def forget(self, device_id: DeviceId, datastream_ids: Iterable[DatastreamId]) -> None:
        """Drop the device's current values and import count (its data was erased or it was
        deleted). Called by ``CachedState.apply`` only, after the database changed."""
        for datastream_id in datastream_ids:
            self.forget_value(device_id, datastream_id)
        self._import_quota.forget(device_id)

    def forget_value(self, device_id: DeviceId, datastream_id: DatastreamId) -> None:
        """Drop one current value (erased in the database): reads fall back to the datastream's
        default until a new value arrives. Called by ``CachedState.apply`` only."""
        self._current.pop((device_id, datastream_id), None)

    def reload(self, points: Iterable[Point]) -> None:
        """Replace the current values with what storage holds (the node may have missed other
        nodes' writes and erasures), keeping a cached value newer than the stored one: it was
        written here while the database was read. Called by ``CachedState.reload`` only."""
        former, self._current = self._current, {}
        self.load(points)
        for key, point in former.items():
            known = self._current.get(key)
            if known is not None and point.ts > known.ts:
                self._current[key] = point

    def learn(self, change: ValuesChanged | ValuesImported) -> None:
        """Take the values another node stored (and committed) as current values, unless newer
        ones are known. Called by ``CachedState`` only, for a message from another node."""
        if isinstance(change, ValuesImported):
            for point in change.newest:
                self._raise_current(point)
            return
        for written in change.writes:
            self._raise_current(
                Point(change.device_id, written.datastream_id, change.ts, written.value)
            )

    def _raise_current(self, point: Point) -> None:
        key = (point.device_id, point.datastream_id)
        known = self._current.get(key)
        if known is None or point.ts >= known.ts:
            self._current[key] = point
