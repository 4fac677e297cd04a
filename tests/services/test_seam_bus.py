"""The bus across nodes: remote subscriptions, shared topics, the lone node's silent broker."""

import asyncio
from dataclasses import dataclass

import pytest

from pinbase.domain.ids import DeviceId
from pinbase.services import wire
from pinbase.services.broker import LocalBroker, LocalNetwork
from pinbase.services.bus import Bus, PresenceChanged
from pinbase.services.changes import DeviceRemoved


@wire.message
@dataclass(frozen=True, slots=True)
class SeamPing:
    n: int


@dataclass(frozen=True, slots=True)
class SeamLocalOnly:
    n: int


class CountingBroker(LocalBroker):
    """A lone broker that counts what the bus hands it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[object] = []

    def send(self, message: object) -> None:
        self.sent.append(message)


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def two_nodes() -> tuple[Bus, Bus]:
    network = LocalNetwork()
    a, b = Bus(LocalBroker(network)), Bus(LocalBroker(network))
    await a.start()
    await b.start()
    return a, b


async def test_remote_subscribers_get_other_nodes_messages() -> None:
    """A shared message published on A reaches B's remote subscribers, not B's local ones."""
    a, b = await two_nodes()
    remote: list[object] = []
    local: list[object] = []
    b.subscribe(SeamPing, remote.append, remote=True)
    b.subscribe(SeamPing, local.append)
    a.publish(SeamPing(1))
    await settle()
    assert remote == [SeamPing(1)]
    assert local == []


async def test_local_messages_reach_every_subscriber_once() -> None:
    """A message published on a node reaches its local and remote subscribers once each, and
    never comes back to it from the network."""
    a, _b = await two_nodes()
    seen: list[object] = []
    a.subscribe(SeamPing, seen.append, remote=True)
    a.subscribe(SeamPing, seen.append)
    a.publish(SeamPing(2))
    await settle()
    assert seen == [SeamPing(2), SeamPing(2)]


async def test_remote_only_subscribers_skip_local_messages() -> None:
    """``local=False`` subscribers get only what other nodes publish."""
    a, b = await two_nodes()
    seen: list[object] = []
    a.subscribe(SeamPing, seen.append, remote=True, local=False)
    a.publish(SeamPing(3))
    b.publish(SeamPing(4))
    await settle()
    assert seen == [SeamPing(4)]


async def test_unshared_topics_stay_on_their_node() -> None:
    """A topic not registered with ``wire.message`` never crosses, even to remote subscribers."""
    a, b = await two_nodes()
    seen: list[object] = []
    b.subscribe(SeamLocalOnly, seen.append, remote=True)
    b.subscribe(PresenceChanged, seen.append, remote=True)
    a.publish(SeamLocalOnly(5))
    a.publish(PresenceChanged(device_id=DeviceId(1), online=True, ts=1))
    await settle()
    assert seen == []


async def test_changes_cross_nodes_with_their_values() -> None:
    """A change of ``services.changes`` arrives on the other node equal to what was published."""
    a, b = await two_nodes()
    seen: list[object] = []
    b.subscribe(DeviceRemoved, seen.append, remote=True)
    a.publish(DeviceRemoved(device_id=DeviceId(7)))
    await settle()
    assert seen == [DeviceRemoved(device_id=DeviceId(7))]


async def test_a_lone_node_hands_nothing_to_its_broker() -> None:
    """Without other nodes the bus never calls ``send``: publishing costs what it did before."""
    broker = CountingBroker()
    bus = Bus(broker)
    await bus.start()
    bus.publish(SeamPing(6))
    assert broker.sent == []


async def test_a_stopped_node_receives_nothing() -> None:
    """After ``stop`` a node gets no more messages from the network."""
    a, b = await two_nodes()
    seen: list[object] = []
    b.subscribe(SeamPing, seen.append, remote=True)
    await b.stop()
    a.publish(SeamPing(8))
    await settle()
    assert seen == []


async def test_unsubscribe_ends_remote_delivery() -> None:
    """The function ``subscribe`` returns ends remote delivery as well."""
    a, b = await two_nodes()
    seen: list[object] = []
    unsubscribe = b.subscribe(SeamPing, seen.append, remote=True)
    unsubscribe()
    unsubscribe()
    a.publish(SeamPing(9))
    await settle()
    assert seen == []


def test_unknown_types_are_refused_on_decode() -> None:
    """A payload naming an unregistered class is refused, never built."""
    with pytest.raises(wire.WireError):
        wire.decode(b'{"@":"os.system","n":1}')
