"""Device commands across nodes (issue #12 on issue #11's seam): a ``DeviceCommanded`` published
on one node reaches the device's session on the node holding it, and only there; the ping
answer published there reaches the asking node. Nodes' buses on one in-process network of
brokers, each message encoded on the way."""

import asyncio
from dataclasses import dataclass, field

from fake_link import FakeLink
from hand_clock import HandClock

from pinbase.domain.ids import DeviceId
from pinbase.services.broker import LocalBroker, LocalNetwork
from pinbase.services.bus import Bus, DeviceCommanded, DevicePingAnswered
from pinbase.services.device_sessions import DeviceSessions
from pinbase.services.presence import Presence

DEVICE = DeviceId(7)


@dataclass
class Node:
    """One node's bus and device sessions, and the ping answers it heard."""

    bus: Bus
    sessions: DeviceSessions
    answers: list[DevicePingAnswered] = field(default_factory=list)


async def settle() -> None:
    """Let the in-process network deliver what is in flight."""
    for _ in range(5):
        await asyncio.sleep(0)


async def two_nodes() -> tuple[Node, Node]:
    network, clock = LocalNetwork(), HandClock()
    nodes = []
    for _ in range(2):
        bus = Bus(LocalBroker(network))
        presence = Presence(bus, clock)
        node = Node(bus=bus, sessions=DeviceSessions(bus, presence))
        bus.subscribe(DevicePingAnswered, node.answers.append, remote=True)
        await bus.start()
        presence.sync()
        nodes.append(node)
    await settle()
    return nodes[0], nodes[1]


async def test_a_command_reaches_the_session_on_the_other_node_only() -> None:
    """An ``ota`` published on A reaches the link attached on B, once, as it was sent."""
    a, b = await two_nodes()
    link = FakeLink()
    b.sessions.attach(DEVICE, link)
    await settle()
    command = DeviceCommanded(DEVICE, "ota", ("http://h/f.bin", "10", "", "", ""))
    a.bus.publish(command)
    await settle()
    assert link.commands == [command]
    a.bus.publish(DeviceCommanded(DeviceId(8), "reboot"))
    await settle()
    assert link.commands == [command]


async def test_a_ping_answer_reaches_the_asking_node() -> None:
    """B's session answers a ping A asked for; A hears the answer with its request id."""
    a, b = await two_nodes()
    b.sessions.attach(DEVICE, FakeLink())
    await settle()
    a.bus.publish(DeviceCommanded(DEVICE, "ping", (), 42))
    await settle()
    b.sessions.ping_answered(DEVICE, 42, ms=3.5)
    await settle()
    assert [(x.device_id, x.request_id, x.ms) for x in a.answers] == [(DEVICE, 42, 3.5)]
