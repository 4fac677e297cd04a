"""The broker contract, run against in-process nodes (``LocalBroker`` on a ``LocalNetwork``)
and against ``RedisBroker`` nodes on a real Redis: what one node publishes, the others get."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import pytest

from pinbase.domain.datastreams import Datastream, DataType
from pinbase.domain.devices import Device, HardwareInfo
from pinbase.domain.ids import DatastreamId, DeviceId, OrgId, TemplateId, Token
from pinbase.domain.pins import Pin, PinType
from pinbase.domain.templates import Template
from pinbase.services import wire
from pinbase.services.broker import Broker, LocalBroker, LocalNetwork
from pinbase.services.bus import Bus, PresenceChanged, ValuesChanged, WrittenValue
from pinbase.services.changes import DeviceRemoved, DeviceSaved, TemplateSaved
from pinbase.transports.redis_broker import RedisBroker
from polling import eventually as poll

WAIT_S = 10.0
"""How long a test waits for a message before failing: generous, never a timing assert."""


@wire.message
@dataclass(frozen=True, slots=True)
class ContractPing:
    n: int


@dataclass(frozen=True, slots=True)
class ContractLocal:
    n: int


NodeFactory = Callable[[], Coroutine[Any, Any, Bus]]


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.subprocess)])
async def new_node(request: pytest.FixtureRequest) -> AsyncIterator[NodeFactory]:
    """Makes started nodes of one installation: in-process, or each with its own Redis link."""
    network = LocalNetwork()
    channel = f"pinbase:test:{uuid.uuid4().hex}"
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    buses: list[Bus] = []

    async def make() -> Bus:
        broker: Broker = (
            LocalBroker(network) if request.param == "local" else RedisBroker(url, channel=channel)
        )
        bus = Bus(broker)
        await bus.start()
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.stop()


async def eventually(check: Callable[[], bool]) -> None:
    """Wait until ``check()`` holds (fails after ``WAIT_S``)."""
    await poll(check, within_s=WAIT_S, every_s=0.005)


async def quiet() -> None:
    """Give in-flight messages the time to arrive (for tests that expect none)."""
    await asyncio.sleep(0.2)


def a_template() -> Template:
    stream = Datastream(
        id=DatastreamId(3), pin=Pin(PinType.VIRTUAL, 1), label="temp", type=DataType.INT
    )
    return Template(
        id=TemplateId(2), code="TMPL1", org_id=OrgId(1), name="T", datastreams=(stream,)
    )


async def test_a_message_reaches_every_other_node(new_node: NodeFactory) -> None:
    """A shared message published on one node reaches the remote subscribers of all others."""
    a, b, c = await new_node(), await new_node(), await new_node()
    got_b: list[object] = []
    got_c: list[object] = []
    b.subscribe(ContractPing, got_b.append, remote=True)
    c.subscribe(ContractPing, got_c.append, remote=True)
    a.publish(ContractPing(1))
    await eventually(lambda: got_b == [ContractPing(1)] and got_c == [ContractPing(1)])


async def test_a_node_never_receives_its_own_messages(new_node: NodeFactory) -> None:
    """The publishing node's remote subscriber gets its message once, locally, not again."""
    a, b = await new_node(), await new_node()
    got_a: list[object] = []
    got_b: list[object] = []
    a.subscribe(ContractPing, got_a.append, remote=True)
    b.subscribe(ContractPing, got_b.append, remote=True)
    a.publish(ContractPing(2))
    await eventually(lambda: got_b == [ContractPing(2)])
    await quiet()
    assert got_a == [ContractPing(2)]


async def test_messages_arrive_in_publication_order(new_node: NodeFactory) -> None:
    """Many messages published in one loop tick and over several arrive all, in order."""
    a, b = await new_node(), await new_node()
    got: list[object] = []
    b.subscribe(ContractPing, got.append, remote=True)
    for n in range(300):
        a.publish(ContractPing(n))
        if n % 100 == 99:
            await asyncio.sleep(0)
    await eventually(lambda: len(got) == 300)
    assert got == [ContractPing(n) for n in range(300)]


async def test_local_subscribers_ignore_other_nodes(new_node: NodeFactory) -> None:
    """A subscriber without ``remote`` only gets its own node's messages."""
    a, b = await new_node(), await new_node()
    local: list[object] = []
    remote: list[object] = []
    b.subscribe(ContractPing, local.append)
    b.subscribe(ContractPing, remote.append, remote=True)
    a.publish(ContractPing(3))
    await eventually(lambda: remote == [ContractPing(3)])
    assert local == []


async def test_unshared_topics_never_cross(new_node: NodeFactory) -> None:
    """Topics not registered with ``wire.message`` (reactors' topics) stay on their node."""
    a, b = await new_node(), await new_node()
    got: list[object] = []
    b.subscribe(ContractLocal, got.append, remote=True)
    b.subscribe(PresenceChanged, got.append, remote=True)
    b.subscribe(ContractPing, got.append, remote=True)
    a.publish(ContractLocal(1))
    a.publish(PresenceChanged(device_id=DeviceId(1), online=True, ts=5))
    a.publish(ContractPing(4))  # a marker: once it is there, the others would be too
    await eventually(lambda: ContractPing(4) in got)
    assert got == [ContractPing(4)]


async def test_domain_values_cross_whole(new_node: NodeFactory) -> None:
    """Changes holding nested domain values (a device, a template with datastreams, pins,
    enums) and values of every type arrive equal to what was published."""
    a, b = await new_node(), await new_node()
    got: list[object] = []
    for topic in (DeviceSaved, TemplateSaved, DeviceRemoved, ValuesChanged):
        b.subscribe(topic, got.append, remote=True)
    device = Device(
        id=DeviceId(9),
        org_id=OrgId(1),
        template_id=TemplateId(2),
        name="Kitchen",
        token=Token("tok"),
        hardware_info=HardwareInfo(version="1.0"),
        metafield_values=((1, "x"),),
    )
    pin = Pin(PinType.VIRTUAL, 1)
    sent = [
        DeviceSaved(device=device),
        TemplateSaved(template=a_template()),
        ValuesChanged(
            device_id=DeviceId(9),
            writes=(
                WrittenValue(DatastreamId(3), pin, "temp", 21),
                WrittenValue(DatastreamId(4), pin, "s", "héllo"),
                WrittenValue(DatastreamId(5), pin, "d", 2.5),
                WrittenValue(DatastreamId(6), pin, "b", True),
                WrittenValue(DatastreamId(7), pin, "loc", (2.35, 48.85)),
            ),
            ts=1_700_000_000_000,
            origin="device_http",
        ),
        DeviceRemoved(device_id=DeviceId(9)),
    ]
    for message in sent:
        a.publish(message)
    await eventually(lambda: len(got) == len(sent))
    assert got == sent
    template = got[1]
    assert isinstance(template, TemplateSaved)
    assert template.template.datastream_at(pin).label == "temp"


async def test_a_stopped_node_gets_nothing_more(new_node: NodeFactory) -> None:
    """After ``stop`` a node receives nothing; the others carry on."""
    a, b, c = await new_node(), await new_node(), await new_node()
    got_b: list[object] = []
    got_c: list[object] = []
    b.subscribe(ContractPing, got_b.append, remote=True)
    c.subscribe(ContractPing, got_c.append, remote=True)
    await b.stop()
    a.publish(ContractPing(5))
    await eventually(lambda: got_c == [ContractPing(5)])
    await quiet()
    assert got_b == []
