"""The actions log of PLT-DEV-20: value writes, property changes and device commands "done by
people".

Blynk fills it from dashboards, apps and voice assistants (data-model.md §1.11). Pinbase's
people-facing writers are the Platform API and the console, so their value writes (PLT-DS-02, 03,
the console's controls) and property changes (PLT-DS-05) are logged; a device's own writes
(device HTTPS API, TCP, MQTT) and bulk imports (PLT-DS-04, back-dated data, not an action) are
not. A Platform API caller is an OAuth client, not a person with an e-mail address, so
``trigger_user_email`` is None for its entries (docs/platform-api.md); a console entry carries
the signed-in user's e-mail. Automation writes are logged too, as client ``AUTOMATION`` with the
automation's name (console.md's Actions Log lists "Automation" among its clients): the device's
log then explains every value a person or a rule of theirs changed. Those entries are committed
with the automation's run log (``automation_entries``).

Entries are written after the value or property is stored, in group commits of their own
(``services.group_commit``): the entries of concurrent requests share one transaction, and each
request waits for the commit holding its entries. A failure there leaves the write in place
without its log entry, never a log entry without its write. One transaction per request held
PLT-DS-02 at ~500 writes/s (bench/platform_api.py).
"""

from collections.abc import Sequence
from typing import Any

from pinbase.domain.datastreams import Datastream
from pinbase.domain.devices import Device
from pinbase.domain.value_types import Value
from pinbase.domain.values import to_json
from pinbase.services.clock import Clock
from pinbase.services.group_commit import GroupCommit
from pinbase.services.presence import Presence
from pinbase.storage.base import Store
from pinbase.storage.codec import dump_json
from pinbase.storage.device_records import (
    CLIENT_API,
    CLIENT_AUTOMATION,
    CLIENT_WEB,
    DeviceAction,
)

MAX_GROUP_ACTIONS = 10_000
"""Upper bound of entries in one transaction, so a backlog is committed in bounded steps."""


class ActionsLog:
    """Appends value writes and property changes to devices' actions logs."""

    def __init__(self, store: Store, presence: Presence, clock: Clock) -> None:
        self._store = store
        self._presence = presence
        self._clock = clock
        self._groups = GroupCommit(self._commit, name="actions-writer", max_items=MAX_GROUP_ACTIONS)

    def start(self) -> None:
        """Start the writer task on the running loop."""
        self._groups.start()

    async def stop(self) -> None:
        """Commit every entry pending, then end the writer task."""
        await self._groups.stop()

    async def values_written(
        self,
        device: Device,
        writes: Sequence[tuple[Datastream, Value]],
        *,
        ts: int,
        user_email: str | None = None,
    ) -> None:
        """Log values the value pipeline stored under ``ts`` (one entry per datastream), written
        by the person ``user_email`` (None: an OAuth client)."""
        client = CLIENT_API if user_email is None else CLIENT_WEB
        await self._append(
            self._value_entries(device, writes, ts=ts, client=client, user_email=user_email)
        )

    def automation_entries(
        self,
        device: Device,
        writes: Sequence[tuple[Datastream, Value]],
        *,
        ts: int,
        automation_name: str,
    ) -> list[DeviceAction]:
        """The entries of values an automation's action stored under ``ts`` (client
        ``AUTOMATION``). The automation runner writes them with its run log, in the transaction
        it commits anyway (``services.reactions.automation_runs``), rather than in a group
        commit of their own that each run would wait for."""
        return self._value_entries(
            device, writes, ts=ts, client=CLIENT_AUTOMATION, trigger_name=automation_name
        )

    def _value_entries(
        self,
        device: Device,
        writes: Sequence[tuple[Datastream, Value]],
        *,
        ts: int,
        client: str,
        user_email: str | None = None,
        trigger_name: str | None = None,
    ) -> list[DeviceAction]:
        """One entry per written datastream, the device's presence read once for all."""
        online = self._presence.is_online(device.id)
        return [
            _action(
                device,
                datastream,
                None,
                dump_json(to_json(value)),
                online=online,
                ts=ts,
                user_email=user_email,
                client=client,
                trigger_name=trigger_name,
            )
            for datastream, value in writes
        ]

    async def properties_set(
        self, device: Device, datastream: Datastream, changes: dict[str, str | list[str]]
    ) -> None:
        """Log properties just stored (one entry per property)."""
        online = self._presence.is_online(device.id)
        ts = self._clock()
        await self._append(
            [
                _action(device, datastream, name, dump_json(value), online=online, ts=ts)
                for name, value in changes.items()
            ]
        )

    async def command_sent(
        self,
        device: Device,
        kind: str,
        *,
        details: Any,
        user_email: str | None = None,
        online: bool,
    ) -> None:
        """Log a command sent to the device (reboot, ping…, ``services.device_commands``):
        ``details`` (JSON values: a ping's round trip, a redirect's target) become the value."""
        client = CLIENT_API if user_email is None else CLIENT_WEB
        await self._append(
            [
                DeviceAction(
                    device_id=device.id,
                    trigger_user_email=user_email,
                    client=client,
                    pin=None,
                    command=kind,
                    property=None,
                    value=dump_json(details),
                    is_online=online,
                    created_at=self._clock(),
                )
            ]
        )

    async def _append(self, actions: list[DeviceAction]) -> None:
        """Return once ``actions`` are committed, in one group with concurrent requests'.

        Raises:
            StorageUnavailable: the group failed to commit (the request answers 503).
        """
        await self._groups.submit(actions)

    async def _commit(self, actions: list[DeviceAction], _extras: list[None]) -> None:
        async with self._store.transaction() as tx:
            await tx.add_device_actions(actions)


def _action(
    device: Device,
    datastream: Datastream,
    name: str | None,
    value: str,
    *,
    online: bool,
    ts: int,
    user_email: str | None = None,
    client: str = CLIENT_API,
    trigger_name: str | None = None,
) -> DeviceAction:
    return DeviceAction(
        device_id=device.id,
        trigger_user_email=user_email,
        client=client,
        trigger_name=trigger_name,
        pin=datastream.pin,
        property=name,
        value=value,
        is_online=online,
        created_at=ts,
    )
