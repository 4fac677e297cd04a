"""Two nodes' services in one process on one PostgreSQL database, linked by a broker: what one
node stores or changes, the other's caches learn (issue #11), and a node that missed changes
catches up when its broker reconnects."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pinbase.domain.datastreams import Datastream
from pinbase.domain.devices import Device
from pinbase.domain.ids import DeviceId
from pinbase.domain.points import Point
from pinbase.runtime import running_services
from pinbase.services.broker import Broker, LocalBroker, LocalNetwork
from pinbase.services.container import Services
from pinbase.services.demo import DEMO_SPEC
from pinbase.services.live import LiveUpdate, Snapshot
from pinbase.services.oauth import Caller
from pinbase.services.provisioning import parse_spec, provision
from pinbase.settings import Settings
from pinbase.transports.redis_broker import RedisBroker
from polling import eventually as poll
from postgres import create_database, drop_database

pytestmark = pytest.mark.postgres

WAIT_S = 10.0


@dataclass
class Nodes:
    """Node A and node B of one installation, and a device of the demo template."""

    a: Services
    b: Services
    device: Device
    caller: Caller

    def datastream(self, index: int) -> Datastream:
        bound = self.a.directory.by_id(self.device.id)
        assert bound is not None
        return bound.template.datastreams[index]


async def eventually(check: Callable[[], bool]) -> None:
    """Wait until ``check()`` holds (fails after ``WAIT_S``)."""
    await poll(check, within_s=WAIT_S)


async def started_nodes(
    tmp_path: Path, postgres_url: str, broker_a: Broker, broker_b: Broker
) -> AsyncIterator[Nodes]:
    """Both nodes' services on a fresh database, with a provisioned demo device."""
    database = await create_database(postgres_url)
    try:
        async with AsyncExitStack() as stack:
            a = await stack.enter_async_context(
                running_services(
                    Settings(data_dir=tmp_path / "a", database_url=database), broker=broker_a
                )
            )
            created: dict[str, Any] = await provision(
                a.store, parse_spec(DEMO_SPEC), clock=a.clock, bus=a.bus
            )
            b = await stack.enter_async_context(
                running_services(
                    Settings(data_dir=tmp_path / "b", database_url=database), broker=broker_b
                )
            )
            bound = await a.directory.by_token(created["devices"][0]["token"])
            assert bound is not None
            org = bound.device.org_id
            caller = Caller(client_id="t", org_id=org, scope=a.directory.subtree(org))
            yield Nodes(a=a, b=b, device=bound.device, caller=caller)
    finally:
        await drop_database(database)


@pytest.fixture
async def nodes(tmp_path: Path, postgres_url: str) -> AsyncIterator[Nodes]:
    """Two nodes linked in process (``LocalNetwork``)."""
    network = LocalNetwork()
    async for pair in started_nodes(
        tmp_path, postgres_url, LocalBroker(network), LocalBroker(network)
    ):
        yield pair


async def test_values_stored_on_one_node_are_current_on_the_other(nodes: Nodes) -> None:
    """A value recorded through A is B's current value; a newer one recorded on B wins on A."""
    counter = nodes.datastream(0)
    await nodes.a.telemetry.record(nodes.device, [(counter, 5)], origin="test", ts=1_000)
    await eventually(lambda: nodes.b.telemetry.effective(nodes.device.id, counter) == 5)
    await nodes.b.telemetry.record(nodes.device, [(counter, 6)], origin="test", ts=2_000)
    await eventually(lambda: nodes.a.telemetry.effective(nodes.device.id, counter) == 6)


async def test_an_older_remote_value_does_not_replace_a_newer_one(nodes: Nodes) -> None:
    """Current values keep the newest timestamp whichever node wrote last."""
    counter = nodes.datastream(0)
    await nodes.b.telemetry.record(nodes.device, [(counter, 9)], origin="test", ts=5_000)
    await nodes.a.telemetry.record(nodes.device, [(counter, 8)], origin="test", ts=4_000)
    await nodes.b.telemetry.record(nodes.device, [(counter, 10)], origin="test", ts=6_000)
    await eventually(lambda: nodes.a.telemetry.effective(nodes.device.id, counter) == 10)
    assert nodes.b.telemetry.effective(nodes.device.id, counter) == 10


async def test_imported_points_raise_the_other_nodes_current_values(nodes: Nodes) -> None:
    """Back-dated points imported on A make the newest one current on B too."""
    counter = nodes.datastream(0)
    points = [Point(nodes.device.id, counter.id, ts, ts // 1000) for ts in (1_000, 3_000, 2_000)]
    await nodes.a.telemetry.import_points(nodes.device, points)
    await eventually(lambda: nodes.b.telemetry.effective(nodes.device.id, counter) == 3)


async def test_properties_set_and_erased_on_one_node_reach_the_other(nodes: Nodes) -> None:
    """A property set on A reads on B; erased on A, it is gone on B."""
    counter = nodes.datastream(0)
    await nodes.a.properties.set(nodes.device, counter, {"color": "#ff0000"})
    await eventually(
        lambda: (
            nodes.b.properties.of_datastream(nodes.device.id, counter.id) == {"color": "#ff0000"}
        )
    )
    assert await nodes.a.properties.erase(nodes.device, counter, "color")
    await eventually(lambda: nodes.b.properties.of_device(nodes.device.id) == {})


async def test_a_device_deleted_on_one_node_is_unknown_on_the_other(nodes: Nodes) -> None:
    """Deleting a device on A drops its token from B's directory."""
    token = nodes.device.token
    assert await nodes.b.directory.by_token(token) is not None
    await nodes.a.device_admin.delete(nodes.caller, nodes.device.id)
    await eventually(lambda: nodes.b.directory.by_id(DeviceId(nodes.device.id)) is None)
    assert await nodes.b.directory.by_token(token) is None


@pytest.mark.subprocess
async def test_a_reconnecting_node_reloads_what_it_missed(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    """B (on Redis) misses a deletion and a value made on A (not linked); its broker's
    reconnection hook reloads its caches from the database."""
    channel = f"pinbase:test:{uuid.uuid4().hex}"
    broker_b = RedisBroker(redis_url, channel=channel)
    async for nodes in started_nodes(tmp_path, postgres_url, LocalBroker(), broker_b):
        counter = nodes.datastream(0)
        await nodes.b.telemetry.record(nodes.device, [(counter, 1)], origin="test", ts=1_000)
        await nodes.a.telemetry.record(nodes.device, [(counter, 2)], origin="test", ts=2_000)
        await nodes.a.device_admin.delete(nodes.caller, nodes.device.id)
        assert nodes.b.directory.by_id(nodes.device.id) is not None  # missed
        assert broker_b.on_reconnect is not None
        await broker_b.on_reconnect()
        assert nodes.b.directory.by_id(nodes.device.id) is None
        assert await nodes.b.directory.by_token(nodes.device.token) is None


async def test_a_console_viewer_on_one_node_sees_values_written_on_the_other(
    nodes: Nodes,
) -> None:
    """A live console page served by B gets the values and properties written through A."""
    counter = nodes.datastream(0)
    org = nodes.device.org_id
    viewer = nodes.b.live.open(lambda device: device.org_id == org)
    await viewer.subscribe([nodes.device.id])
    assert isinstance(await viewer.next_update(), Snapshot)
    await nodes.a.telemetry.record(nodes.device, [(counter, 42)], origin="test")
    update = await asyncio.wait_for(viewer.next_update(), WAIT_S)
    assert isinstance(update, LiveUpdate)
    assert [(value.value, value.origin) for value in update.values] == [(42, "test")]
    await nodes.a.properties.set(nodes.device, counter, {"label": "Count"})
    update = await asyncio.wait_for(viewer.next_update(), WAIT_S)
    assert isinstance(update, LiveUpdate)
    assert [(p.name, p.value) for p in update.properties] == [("label", "Count")]
