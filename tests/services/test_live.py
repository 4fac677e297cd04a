"""The live hub (services/live.py) over the real bus and value pipeline, in process."""

from collections.abc import AsyncIterator
from copy import deepcopy
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hand_clock import HandClock

from pinbase.domain.datastreams import Datastream
from pinbase.domain.devices import Device
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.value_types import Value
from pinbase.runtime import running_services
from pinbase.services.container import Services
from pinbase.services.demo import DEMO_SPEC
from pinbase.services.directory import BoundDevice
from pinbase.services.live import (
    LiveHub,
    LiveUpdate,
    Snapshot,
    TooManyDevices,
    Viewer,
    ViewerDisconnected,
)
from pinbase.services.provisioning import parse_spec, provision
from pinbase.settings import Settings


@dataclass
class World:
    """Running services with two organizations of one demo device each."""

    services: Services
    clock: HandClock
    mine: BoundDevice
    theirs: BoundDevice

    def datastream(self, label: str) -> Datastream:
        return next(ds for ds in self.mine.template.datastreams if ds.label == label)

    def viewer(self, *orgs: OrgId) -> Viewer:
        scope = frozenset(orgs or (self.mine.device.org_id,))
        return self.services.live.open(lambda device: device.org_id in scope)

    async def record(self, device: Device, label: str, *values: Value) -> None:
        datastream = self.datastream(label)
        for value in values:
            await self.services.telemetry.record(device, [(datastream, value)], origin="test")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = HandClock()
    async with running_services(Settings(data_dir=tmp_path), clock=clock) as services:
        bound = []
        for name in ("Mine", "Theirs"):
            spec = deepcopy(DEMO_SPEC)
            spec["organization"]["name"] = f"{name} Organization"
            created = await provision(
                services.store, parse_spec(spec), clock=clock, bus=services.bus
            )
            found = await services.directory.by_token(created["devices"][0]["token"])
            assert found is not None
            bound.append(found)
        yield World(services=services, clock=clock, mine=bound[0], theirs=bound[1])


async def update_of(viewer: Viewer) -> LiveUpdate:
    update = await viewer.next_update()
    assert isinstance(update, LiveUpdate)
    return update


async def test_snapshot_holds_values_properties_and_status(world: World) -> None:
    """Subscribing yields the current values with their time, properties and online status."""
    services, device = world.services, world.mine.device
    await world.record(device, "Temperature", 21.5)
    await services.properties.set(device, world.datastream("Temperature"), {"label": "Inside"})
    services.presence.mark_online(device.id)
    viewer = world.viewer()
    await viewer.subscribe([device.id])
    snapshot = await viewer.next_update()
    assert isinstance(snapshot, Snapshot)
    (shown,) = snapshot.devices
    assert (shown.device_id, shown.online, shown.changed_at) == (device.id, True, world.clock.now)
    by_id = {value.datastream_id: value for value in shown.values}
    temperature = by_id[world.datastream("Temperature").id]
    assert (temperature.value, temperature.ts) == (21.5, world.clock.now)
    counter = by_id[world.datastream("Counter").id]  # never written: its default, no time
    assert (counter.value, counter.ts) == (0, None)
    assert shown.properties == {world.datastream("Temperature").id: {"label": "Inside"}}
    assert snapshot.missing == ()


async def test_numbers_are_coalesced_to_the_latest(world: World) -> None:
    """Many writes of one number datastream between two updates arrive as the latest one."""
    viewer = world.viewer()
    await viewer.subscribe([world.mine.device.id])
    await viewer.next_update()
    await world.record(world.mine.device, "Counter", *range(1, 51))
    update = await update_of(viewer)
    assert [(value.value, value.origin) for value in update.values] == [(50, "test")]


async def test_strings_and_timeline_entries_are_never_dropped(world: World) -> None:
    """Every String value (Terminal appends) and every timeline entry arrives, in order."""
    services, device = world.services, world.mine.device
    viewer = world.viewer()
    await viewer.subscribe([device.id])
    await viewer.next_update()
    await world.record(device, "Message", *(f"line {n}" for n in range(30)))
    overheat = world.mine.template.event("overheat")
    assert overheat is not None
    for n in range(3):
        world.clock.now += 1_000  # one event of a code per second
        await services.events.log(device, overheat, f"hot {n}")
    update = await update_of(viewer)
    assert [value.value for value in update.values] == [f"line {n}" for n in range(30)]
    assert [entry.description for entry in update.timeline] == ["hot 0", "hot 1", "hot 2"]
    assert {entry.name for entry in update.timeline} == {"Overheat"}


async def test_hidden_timeline_entries_are_not_sent(world: World) -> None:
    """An occurrence of an event with "Show on timeline" off never reaches a live timeline."""
    services, device = world.services, world.mine.device
    viewer = world.viewer()
    await viewer.subscribe([device.id])
    await viewer.next_update()
    overheat = world.mine.template.event("overheat")
    assert overheat is not None
    hidden = replace(overheat, show_on_timeline=False)
    await services.events.log(device, hidden, "quiet")
    world.clock.now += 1_000  # one event of a code per second
    await services.events.log(device, overheat, "shown")
    update = await update_of(viewer)
    assert [entry.description for entry in update.timeline] == ["shown"]


async def test_property_and_presence_changes_arrive(world: World) -> None:
    """A property set and the device going online then offline reach the viewer, latest
    status only."""
    services, device = world.services, world.mine.device
    viewer = world.viewer()
    await viewer.subscribe([device.id])
    await viewer.next_update()
    await services.properties.set(device, world.datastream("Counter"), {"color": "#ff0000"})
    services.presence.mark_online(device.id)
    services.presence.mark_offline(device.id)
    update = await update_of(viewer)
    assert [(p.name, p.value) for p in update.properties] == [("color", "#ff0000")]
    assert [(s.device_id, s.online) for s in update.statuses] == [(device.id, False)]


async def test_a_viewer_never_receives_a_device_outside_its_scope(world: World) -> None:
    """Another organization's device is answered as missing and nothing of it is delivered."""
    mine, theirs = world.mine.device, world.theirs.device
    viewer = world.viewer()
    await viewer.subscribe([mine.id, theirs.id, DeviceId(999_999)])
    snapshot = await viewer.next_update()
    assert isinstance(snapshot, Snapshot)
    assert [shown.device_id for shown in snapshot.devices] == [mine.id]
    assert snapshot.missing == (theirs.id, 999_999)
    await world.record(theirs, "Counter", 7)
    world.services.presence.mark_online(theirs.id)
    await world.record(mine, "Counter", 8)
    update = await update_of(viewer)
    assert [(value.device_id, value.value) for value in update.values] == [(mine.id, 8)]
    assert update.statuses == ()


async def test_a_viewer_that_falls_behind_is_disconnected(world: World) -> None:
    """Past its queue bound a viewer is closed and forgotten; the writes are all stored."""
    services, device = world.services, world.mine.device
    hub = LiveHub(
        services.bus,
        directory=services.directory,
        telemetry=services.telemetry,
        properties=services.properties,
        presence=services.presence,
        max_pending=8,
    )
    try:
        viewer = hub.open(lambda seen: seen.org_id == device.org_id)
        await viewer.subscribe([device.id])
        await viewer.next_update()
        await world.record(device, "Message", *(f"line {n}" for n in range(9)))
        with pytest.raises(ViewerDisconnected):
            await viewer.next_update()
        assert hub.viewers_of(device.id) == 0
        message = world.datastream("Message")
        assert services.telemetry.effective(device.id, message) == "line 8"
    finally:
        hub.close()


async def test_resubscribing_replaces_the_devices_and_starts_from_a_snapshot(
    world: World,
) -> None:
    """A second subscription drops what the first queued and yields a fresh snapshot."""
    mine = world.mine.device
    viewer = world.viewer(mine.org_id, world.theirs.device.org_id)
    await viewer.subscribe([mine.id])
    await viewer.next_update()
    await world.record(mine, "Counter", 3)
    await viewer.subscribe([world.theirs.device.id])
    snapshot = await viewer.next_update()
    assert isinstance(snapshot, Snapshot)
    assert [shown.device_id for shown in snapshot.devices] == [world.theirs.device.id]
    assert world.services.live.viewers_of(mine.id) == 0


async def test_too_many_devices_are_refused(world: World) -> None:
    """A subscription above the per-viewer bound is refused whole."""
    viewer = world.viewer()
    with pytest.raises(TooManyDevices):
        await viewer.subscribe([DeviceId(n) for n in range(1, 1_002)])


async def test_a_closed_viewer_stops_watching(world: World) -> None:
    """Closing a viewer (its socket ended) forgets its devices and ends its waiting."""
    viewer = world.viewer()
    await viewer.subscribe([world.mine.device.id])
    viewer.close()
    assert world.services.live.viewers_of(world.mine.device.id) == 0
    with pytest.raises(ViewerDisconnected):
        await viewer.next_update()
