"""Device use cases addressed by datastream *name*, for the MQTT device API (device-protocols.md
§2.4, §2.8).

MQTT devices name datastreams (``ds/Temperature``) where binary devices number pins. This service
translates names through the device's template and hands everything else to ``DeviceGateway``
and ``Telemetry``, so both links share one value pipeline: a value that does not fit its
datastream is dropped (data-model.md §2.1: "native/MQTT: drop the value"). The answers say what
was dropped, because an MQTT device hears about it on ``downlink/diag``.
"""

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from pinbase.domain.datastreams import Datastream
from pinbase.domain.errors import ValueMismatch
from pinbase.domain.points import Point
from pinbase.domain.value_types import Value
from pinbase.domain.values import parse_json
from pinbase.services.bus import Bus
from pinbase.services.changes import CurrentValueErased
from pinbase.services.clock import Clock
from pinbase.services.device_gateway import DeviceGateway
from pinbase.services.directory import BoundDevice
from pinbase.services.history_writer import StorageUnavailable
from pinbase.services.properties import Properties
from pinbase.services.telemetry import ImportQuotaExceeded, Telemetry
from pinbase.storage.base import Store

logger = logging.getLogger(__name__)

NamedValue = tuple[str, tuple[str, ...]]
"""A datastream name and its value as the text items a device receives."""


def datastream_named(bound: BoundDevice, name: str) -> Datastream | None:
    """The template's datastream called ``name``: exact and case-sensitive (§2.4)."""
    for datastream in bound.template.datastreams:
        if datastream.label == name:
            return datastream
    return None


class NamedGateway:
    """What an MQTT device may ask, by datastream name; the rest is ``DeviceGateway``'s."""

    def __init__(
        self,
        gateway: DeviceGateway,
        *,
        telemetry: Telemetry,
        properties: Properties,
        store: Store,
        bus: Bus,
        clock: Clock,
        window_ms: int,
    ) -> None:
        """Bind the services.

        Args:
            window_ms: how far in the past and in the future a timestamped point may lie
                (device-protocols.md §2.4: one month each way).
        """
        self.gateway = gateway
        self._telemetry = telemetry
        self._properties = properties
        self._store = store
        self._bus = bus
        self._clock = clock
        self._window_ms = window_ms

    async def record_batch(
        self, bound: BoundDevice, items: Sequence[tuple[str, object]], *, origin: str
    ) -> list[str]:
        """``batch_ds``: JSON values by name, stored under one timestamp as one message
        (data-model.md §2.11); returns the names dropped (unknown, or a value of another type)."""
        writes: list[tuple[Datastream, Value]] = []
        dropped: list[str] = []
        for name, data in items:
            datastream = datastream_named(bound, name)
            try:
                if datastream is None:
                    raise ValueMismatch(name)
                writes.append((datastream, parse_json(datastream, data)))
            except ValueMismatch:
                dropped.append(name)
        if writes:
            try:
                await self._telemetry.record(bound.device, writes, origin=origin)
            except StorageUnavailable:
                logger.warning("mqtt.batch_lost device_id=%d", bound.device.id)
                return [name for name, _ in items]
        return dropped

    async def import_points(
        self, bound: BoundDevice, name: str, points: Sequence[tuple[int, object]]
    ) -> str | None:
        """``ds/<name>/timestamped_batch``: store back-dated points; why they were refused (all
        of them: the batch is taken whole or not at all), or None."""
        datastream = datastream_named(bound, name)
        if datastream is None:
            return f"no datastream named {name!r}"
        now = self._clock()
        stored = []
        for ts, data in points:
            if abs(ts - now) > self._window_ms:
                return f"timestamp {ts} is more than a month away"
            try:
                value = parse_json(datastream, data)
            except ValueMismatch as error:
                return f"value at {ts}: {error}"
            stored.append(Point(bound.device.id, datastream.id, ts, value))
        try:
            await self._telemetry.import_points(bound.device, stored)
        except ImportQuotaExceeded as error:
            return str(error)
        except StorageUnavailable:
            logger.warning("mqtt.import_lost device_id=%d", bound.device.id)
            return "the database refused the points"
        return None

    async def erase_value(self, bound: BoundDevice, name: str) -> bool:
        """``ds/<name>/erase``: clear the stored current value (history stays), so reads answer
        the default again; False when no datastream has that name. The bus carries values
        only, so nobody is told (docs/mqtt.md)."""
        datastream = datastream_named(bound, name)
        if datastream is None:
            return False
        async with self._store.transaction() as tx:
            await tx.clear_current_value(bound.device.id, datastream.id)
        self._bus.publish(
            CurrentValueErased(device_id=bound.device.id, datastream_id=datastream.id)
        )
        return True

    async def erase_property(self, bound: BoundDevice, name: str, prop: str) -> bool:
        """``ds/<name>/prop/<property>/erase``: remove the stored property override; False
        when no datastream has that name (a property never set is erased already)."""
        datastream = datastream_named(bound, name)
        if datastream is None:
            return False
        await self._properties.erase(bound.device, datastream, prop)
        return True

    def sync(self, bound: BoundDevice, names: Sequence[str] | None) -> list[NamedValue]:
        """``get/ds`` (``names``) or ``get/ds/all`` (None): each effective value by name, under
        the §2.12 scope of ``DeviceGateway.sync_values``; unknown names answer nothing."""
        if names is None:
            pins = None
        else:
            found = (datastream_named(bound, name) for name in names)
            pins = [datastream.pin for datastream in found if datastream is not None]
        template = bound.template
        return [
            (template.datastream_at(pin).label, texts)
            for pin, texts in self.gateway.sync_values(bound, pins)
        ]

    def time_json(self) -> dict[str, object]:
        """The ``downlink/utc/all/json`` answer. Devices have no time zone in Pinbase yet, so
        it is UTC, the last step of the §2.5 resolution order."""
        now = self._clock()
        moment = datetime.fromtimestamp(now // 1000, tz=UTC)
        return {
            "tz_name": "UTC",
            "tz_rule": "UTC0",
            "tz_offset": 0,
            "dst_offset": 0,
            "time": now,
            "iso8601": moment.isoformat(),
        }
