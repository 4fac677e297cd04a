"""A device's datastream values, properties and history, read and written for a caller: the use
cases behind PLT-DS-01 to 06, which the console shares (issue #9).

Writes go through the one value pipeline (``Telemetry.record`` and ``import_points``): typed,
clamped, stored in history, announced on the bus with the writer's ``origin``. Value writes and
property changes (not imports) are then logged in the device's actions log (``services.actions``,
PLT-DEV-20). Every write is all-or-nothing and checks, in order: the device (``DeviceNotFound``),
the caller's right to control it (``WriteNotAllowed``), the datastreams (``DatastreamNotFound``),
the values (``ValueMismatch``, ``ValueTooLong``).

``write`` is the one use case behind every person's write: the Platform API's (an OAuth client,
which controls every device of its scope) and the console's controls (a signed-in user, whose role
decides: a User sees and controls only the devices it owns, ``ConsoleCaller``). The caller says
what it may do (``Controller``); the origin tells the writers apart on the bus, and a device
receives both alike.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from pinbase.domain.datastreams import Datastream
from pinbase.domain.devices import Device
from pinbase.domain.errors import PinbaseError, UnknownDatastream
from pinbase.domain.pins import Pin
from pinbase.domain.points import Point
from pinbase.domain.values import parse_json, read_json
from pinbase.services.actions import ActionsLog
from pinbase.services.clock import FAR_FUTURE_MS, Clock
from pinbase.services.directory import Directory
from pinbase.services.properties import Properties, PropertyValue, check_property
from pinbase.services.scope import (
    DeviceNotFound,
    Scoped,
    datastream_at,
    datastream_by_id,
    device_in_scope,
)
from pinbase.services.telemetry import Telemetry
from pinbase.storage.base import Store
from pinbase.storage.codec import history_value


class WriteNotAllowed(PinbaseError):
    """The caller may see the device but not control it; ``args[0]`` is the device id."""


class Controller(Scoped, Protocol):
    """A caller that writes values: what it may see and control, device by device."""

    def can_view_device(self, device: Device) -> bool:
        """Whether the device is the caller's to see (else it is answered as missing)."""
        ...

    def can_control_device(self, device: Device) -> bool:
        """Whether the caller may write the device's values."""
        ...


class BatchTooLarge(PinbaseError):
    """An import holds more points than one request may; ``args[0]`` is the limit."""


class OutsideImportWindow(PinbaseError):
    """An imported point is dated further from now than imports may be."""


class HistoryEntry(NamedTuple):
    """One stored point as the history read answers it: its time and its JSON value.

    A named tuple, not a frozen dataclass: a page holds up to 1,000 of them and a tuple is
    built in a third of the time (bench/history.py, PLT-DS-06 one-hour window)."""

    ts: int
    value: object


@dataclass(frozen=True, slots=True, kw_only=True)
class DatastreamState:
    """A datastream of a device with its value now (Developer Tools → Datastreams): the JSON
    value (the default when none was stored, None when neither), when it was stored (None for a
    default), and the stored widget properties."""

    datastream: Datastream
    value: object
    updated_at: int | None
    properties: dict[str, PropertyValue]


class DatastreamValues:
    """Reads and writes datastream values, properties and history of devices in scope."""

    def __init__(
        self,
        *,
        store: Store,
        directory: Directory,
        telemetry: Telemetry,
        properties: Properties,
        actions: ActionsLog,
        clock: Clock,
        max_import_points: int,
        import_window_ms: int,
    ) -> None:
        self._store = store
        self._directory = directory
        self._telemetry = telemetry
        self._properties = properties
        self._actions = actions
        self._clock = clock
        self._max_import_points = max_import_points
        self._import_window_ms = import_window_ms

    async def read(
        self, caller: Scoped, device_id: int, pins: Sequence[Pin] | None
    ) -> dict[str, object]:
        """Values by lowercase pin (all datastreams when ``pins`` is None); datastreams without
        a value (or default) and pins without a datastream are left out.

        Raises:
            DeviceNotFound.
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        template = bound.template
        datastreams: list[Datastream] = []
        if pins is None:
            datastreams = list(template.datastreams)
        for pin in pins or ():
            try:
                datastreams.append(template.datastream_at(pin))
            except UnknownDatastream:
                continue
        return self._telemetry.values_by_pin(bound.device.id, datastreams)

    async def write(
        self,
        caller: Controller,
        device_id: int,
        values: Mapping[int, object],
        *,
        origin: str,
        user_email: str | None = None,
    ) -> int:
        """Store JSON values by datastream id under one timestamp, push them to the device and
        log them as actions of ``user_email`` (None: an OAuth client); return the timestamp.

        Raises:
            DeviceNotFound, WriteNotAllowed, DatastreamNotFound, ValueMismatch, ValueTooLong:
                nothing stored.
            StorageUnavailable: the value could not be stored.
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        if not caller.can_view_device(bound.device):
            raise DeviceNotFound(device_id)
        if not caller.can_control_device(bound.device):
            raise WriteNotAllowed(device_id)
        datastreams = [datastream_by_id(bound, datastream_id) for datastream_id in values]
        writes = [
            (datastream, parse_json(datastream, raw))
            for datastream, raw in zip(datastreams, values.values(), strict=True)
        ]
        ts = await self._telemetry.record(bound.device, writes, origin=origin)
        await self._actions.values_written(bound.device, writes, ts=ts, user_email=user_email)
        return ts

    async def states(self, caller: Scoped, device_id: int) -> list[DatastreamState]:
        """Every datastream of the device's template, in template order, with its value now.

        Raises:
            DeviceNotFound.
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        device = bound.device.id
        states = []
        for datastream in bound.template.datastreams:
            point = self._telemetry.current(device, datastream)
            value = self._telemetry.effective(device, datastream)
            states.append(
                DatastreamState(
                    datastream=datastream,
                    value=None if value is None else read_json(datastream, value),
                    updated_at=None if point is None else point.ts,
                    properties=self._properties.of_datastream(device, datastream.id),
                )
            )
        return states

    async def import_points(
        self,
        caller: Scoped,
        device_id: int,
        datastream_id: int,
        points: Sequence[tuple[int, object]],
    ) -> None:
        """Store back-dated ``(ts, JSON value)`` points of one datastream.

        Raises:
            DeviceNotFound, DatastreamNotFound, BatchTooLarge, OutsideImportWindow,
            ValueMismatch, ValueTooLong, ImportQuotaExceeded: nothing stored.
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        datastream = datastream_by_id(bound, datastream_id)
        if len(points) > self._max_import_points:
            raise BatchTooLarge(self._max_import_points)
        now = self._clock()
        if any(abs(ts - now) > self._import_window_ms for ts, _ in points):
            raise OutsideImportWindow
        device = bound.device
        typed = [
            Point(device.id, datastream.id, ts, parse_json(datastream, raw)) for ts, raw in points
        ]
        await self._telemetry.import_points(device, typed)

    async def set_property(
        self, caller: Scoped, device_id: int, datastream_id: int, name: str, items: list[str]
    ) -> None:
        """Store a widget property of a device's datastream and log it as an action.

        Raises:
            DeviceNotFound, DatastreamNotFound, ValueMismatch (the value does not fit).
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        datastream = datastream_by_id(bound, datastream_id)
        changes = {name: check_property(name, items)}
        await self._properties.set(bound.device, datastream, changes)
        await self._actions.properties_set(bound.device, datastream, changes)

    async def properties(
        self, caller: Scoped, device_id: int, datastream_id: int
    ) -> dict[str, PropertyValue]:
        """The stored widget properties of a device's datastream, by name.

        Raises:
            DeviceNotFound, DatastreamNotFound.
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        datastream = datastream_by_id(bound, datastream_id)
        return self._properties.of_datastream(bound.device.id, datastream.id)

    async def history(
        self,
        caller: Scoped,
        device_id: int,
        pin: Pin,
        *,
        since: int | None,
        until: int | None,
        offset: int,
        limit: int,
    ) -> tuple[list[HistoryEntry], int]:
        """A page of raw points newest first (``since`` inclusive, ``until`` exclusive), with
        the total.

        Raises:
            DeviceNotFound, DatastreamNotFound.
        """
        bound = await device_in_scope(self._directory, caller, device_id)
        datastream = datastream_at(bound, pin)
        low = 0 if since is None else since
        high = FAR_FUTURE_MS if until is None else until
        device_id = bound.device.id
        async with self._store.transaction() as tx:
            total = await tx.count_history(device_id, datastream.id, since=low, until=high)
            rows = await tx.read_history_page(
                device_id, datastream.id, since=low, until=high, offset=offset, limit=limit
            )
        kind = datastream.type
        entries = [
            HistoryEntry(row.ts, read_json(datastream, history_value(kind, row.num, row.text)))
            for row in rows
        ]
        return entries, total
