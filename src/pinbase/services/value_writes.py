"""Values written by people: the Platform API (PLT-DS-02, 03) and the console's controls.

One use case for both entry points: the value goes through the one value pipeline
(``Telemetry.record``: typed, stored, announced on the bus, so pushed at once to the device's
live connection and to every console viewer), then into the device's actions log (PLT-DEV-20).
The origin tells the writers apart on the bus; a device receives both alike.

Kept minimal on purpose (issue #9 item 9 moves the Platform API's use cases into ``services/``
as a whole): the Platform API still resolves its own devices and datastreams, with its own 404s.
"""

from collections.abc import Callable, Sequence

from pinbase.domain.datastreams import Datastream
from pinbase.domain.devices import Device
from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.value_types import Value
from pinbase.domain.values import parse_json
from pinbase.services.actions import ActionsLog
from pinbase.services.directory import Directory
from pinbase.services.telemetry import Telemetry

CONSOLE_ORIGIN = "console"
"""The bus origin of console writes (Blynk's actions-log client "Web")."""


class DeviceNotFound(PinbaseError):
    """No such device in the caller's scope: missing and out of scope are answered alike."""


class WriteNotAllowed(PinbaseError):
    """The caller may see the device but its role may not control it."""


class ValueWrites:
    """Stores people's writes and logs them as actions."""

    def __init__(self, directory: Directory, telemetry: Telemetry, actions: ActionsLog) -> None:
        self._directory = directory
        self._telemetry = telemetry
        self._actions = actions

    async def record(
        self,
        device: Device,
        writes: Sequence[tuple[Datastream, Value]],
        *,
        origin: str,
        user_email: str | None = None,
    ) -> int:
        """Store typed values through the value pipeline, then log them as actions of
        ``user_email`` (None for an OAuth client); return their timestamp."""
        ts = await self._telemetry.record(device, writes, origin=origin)
        await self._actions.values_written(device, writes, ts=ts, user_email=user_email)
        return ts

    async def write_json(
        self,
        *,
        device_id: DeviceId,
        datastream_id: int,
        raw: object,
        may_see: Callable[[OrgId], bool],
        may_control: Callable[[OrgId], bool],
        origin: str,
        user_email: str | None,
    ) -> int:
        """Write one JSON value to a device's datastream as a person; return its timestamp.

        Raises:
            DeviceNotFound: no such device, or ``may_see`` refuses its organization.
            WriteNotAllowed: ``may_control`` refuses its organization.
            UnknownDatastream: the device's template has no such datastream.
            ValueMismatch: the value does not fit the datastream (``ValueTooLong`` included).
        """
        bound = await self._directory.find_by_id(device_id)
        if bound is None or not may_see(bound.device.org_id):
            raise DeviceNotFound(f"device {device_id} not found")
        if not may_control(bound.device.org_id):
            raise WriteNotAllowed("your role may not control this device")
        datastream = bound.template.datastream(datastream_id)
        value = parse_json(datastream, raw)
        return await self.record(
            bound.device, [(datastream, value)], origin=origin, user_email=user_email
        )
