"""Presence and device sessions across nodes (issue #11): several nodes' ``Presence`` and
``DeviceSessions`` on one in-process network of brokers, each message encoded on the way."""

import ast
import asyncio
from dataclasses import dataclass
from pathlib import Path

from fake_link import FakeLink
from hand_clock import HandClock

import pinbase
from pinbase.domain.ids import DeviceId
from pinbase.services.broker import LocalBroker, LocalNetwork
from pinbase.services.bus import Bus, PresenceChanged, ValuesChanged
from pinbase.services.device_sessions import DeviceSessions
from pinbase.services.presence import Presence

DEVICE = DeviceId(7)


@dataclass
class Node:
    """One node's bus, presence and device sessions, and the presence changes it derived."""

    bus: Bus
    presence: Presence
    sessions: DeviceSessions
    changes: list[PresenceChanged]

    @property
    def node_id(self) -> str:
        return self.presence.node_id


async def settle() -> None:
    """Let the in-process network deliver what is in flight."""
    for _ in range(5):
        await asyncio.sleep(0)


async def start_node(network: LocalNetwork, clock: HandClock) -> Node:
    bus = Bus(LocalBroker(network))
    presence = Presence(bus, clock)
    changes: list[PresenceChanged] = []
    bus.subscribe(PresenceChanged, changes.append)
    node = Node(bus=bus, presence=presence, sessions=DeviceSessions(bus, presence), changes=changes)
    await bus.start()
    presence.sync()
    await settle()
    return node


async def nodes(count: int, clock: HandClock) -> list[Node]:
    network = LocalNetwork()
    return [await start_node(network, clock) for _ in range(count)]


def seen(node: Node) -> list[tuple[bool, int, bool]]:
    return [(change.online, change.ts, change.local) for change in node.changes]


async def test_a_login_on_one_node_is_online_on_every_node() -> None:
    """A device logged in on A is online on B too, changed at the same time; only A's change
    is local (the one lifecycle notifications act on)."""
    clock = HandClock()
    a, b = await nodes(2, clock)
    a.sessions.attach(DEVICE, FakeLink())
    await settle()
    assert a.presence.is_online(DEVICE)
    assert b.presence.is_online(DEVICE)
    assert a.presence.changed_at(DEVICE) == b.presence.changed_at(DEVICE) == clock.now
    assert b.presence.node_of(DEVICE) == a.node_id
    assert seen(a) == [(True, clock.now, True)]
    assert seen(b) == [(True, clock.now, False)]


async def test_the_end_of_the_connection_is_offline_on_every_node() -> None:
    """A connection ending on A makes the device offline on A and B at A's time."""
    clock = HandClock()
    a, b = await nodes(2, clock)
    link = FakeLink()
    a.sessions.attach(DEVICE, link)
    clock.now += 5_000
    a.sessions.detach(DEVICE, link)
    await settle()
    assert not a.presence.is_online(DEVICE)
    assert not b.presence.is_online(DEVICE)
    assert b.presence.changed_at(DEVICE) == clock.now
    assert seen(b)[-1] == (False, clock.now, False)
    assert seen(a)[-1] == (False, clock.now, True)


async def test_a_second_login_on_another_node_closes_the_first() -> None:
    """The device's login on B closes its connection on A; it stays online, no node sees it
    go offline, and A's connection ending afterwards changes nothing."""
    clock = HandClock()
    a, b = await nodes(2, clock)
    first, second = FakeLink(), FakeLink()
    a.sessions.attach(DEVICE, first)
    await settle()
    clock.now += 1
    b.sessions.attach(DEVICE, second)
    await settle()
    assert first.replaced == 1
    assert second.replaced == 0
    assert a.sessions.session(DEVICE) is None
    assert b.sessions.session(DEVICE) is second
    a.sessions.detach(DEVICE, first)
    await settle()
    for node in (a, b):
        assert node.presence.is_online(DEVICE)
        assert node.presence.node_of(DEVICE) == b.node_id
        assert [online for online, _, _ in seen(node)] == [True]


async def test_a_second_login_on_the_same_node_closes_the_first() -> None:
    """One node alone keeps today's rule through the same path: the newer login wins."""
    clock = HandClock()
    (a,) = await nodes(1, clock)
    first, second = FakeLink(), FakeLink()
    a.sessions.attach(DEVICE, first)
    a.sessions.attach(DEVICE, second)
    a.sessions.detach(DEVICE, first)
    assert (first.replaced, second.replaced) == (1, 0)
    assert a.presence.is_online(DEVICE)
    assert seen(a) == [(True, clock.now, True)]


async def test_a_stale_login_loses_to_the_newer_one_on_every_node() -> None:
    """Two logins crossing in flight: every node keeps the newer one (by its time), and the
    older one's connection closes, even on the node that just attached it."""
    clock = HandClock()
    a, b = await nodes(2, clock)
    older, newer = FakeLink(), FakeLink()
    clock.now += 10
    b.sessions.attach(DEVICE, newer)
    clock.now -= 5  # A's clock is behind B's
    a.sessions.attach(DEVICE, older)
    await settle()
    assert (older.replaced, newer.replaced) == (1, 0)
    assert a.presence.node_of(DEVICE) == b.presence.node_of(DEVICE) == b.node_id


async def test_values_reach_the_device_on_the_node_it_is_connected_to_only() -> None:
    """A value written on B reaches the device's session on A, once."""
    clock = HandClock()
    a, b = await nodes(2, clock)
    link = FakeLink()
    a.sessions.attach(DEVICE, link)
    await settle()
    change = ValuesChanged(device_id=DEVICE, writes=(), ts=clock.now, origin="platform_api")
    b.bus.publish(change)
    await settle()
    assert link.pushed == [change]


async def test_a_dead_nodes_devices_go_offline_everywhere_once() -> None:
    """When B reaps dead node A, A's devices are offline on B and C, as B's change only."""
    clock = HandClock()
    a, b, c = await nodes(3, clock)
    a.sessions.attach(DEVICE, FakeLink())
    a.sessions.attach(DeviceId(8), FakeLink())
    await settle()
    await a.bus.stop()  # kill -9: A says nothing more
    clock.now += 10_000
    b.presence.reap(a.node_id)
    await settle()
    for node in (b, c):
        assert not node.presence.is_online(DEVICE)
        assert not node.presence.is_online(DeviceId(8))
    assert seen(b)[-2:] == [(False, clock.now, True)] * 2
    assert seen(c)[-2:] == [(False, clock.now, False)] * 2


async def test_a_node_that_starts_later_learns_who_is_online() -> None:
    """A node joining after devices logged in elsewhere knows them online, with their time."""
    clock = HandClock()
    network = LocalNetwork()
    a = await start_node(network, clock)
    a.sessions.attach(DEVICE, FakeLink())
    login_at = clock.now
    clock.now += 60_000
    late = await start_node(network, clock)
    assert late.presence.is_online(DEVICE)
    assert late.presence.changed_at(DEVICE) == login_at
    assert seen(late) == [(True, login_at, False)]


async def test_a_resync_drops_sessions_a_node_no_longer_holds() -> None:
    """A node telling what it holds (after a broker outage) ends the sessions it no longer
    has on the others, whose release they missed."""
    clock = HandClock()
    network = LocalNetwork()
    a = await start_node(network, clock)
    b = await start_node(network, clock)
    link = FakeLink()
    a.sessions.attach(DEVICE, link)
    await settle()
    await b.bus.stop()  # B is cut off and misses the release
    a.sessions.detach(DEVICE, link)
    await b.bus.start()
    a.presence.sync()
    await settle()
    assert not b.presence.is_online(DEVICE)


async def test_a_release_crossing_a_login_elsewhere_ends_online() -> None:
    """A's connection ends while the device logs in on B, before A learns of it: A announced
    the device offline, so B, which holds it, announces it online again as its own change;
    every node ends with it online on B."""
    clock = HandClock()
    a, b, c = await nodes(3, clock)
    first, second = FakeLink(), FakeLink()
    a.sessions.attach(DEVICE, first)
    await settle()
    clock.now += 1_000
    b.sessions.attach(DEVICE, second)
    a.sessions.detach(DEVICE, first)  # A has not received B's claim yet
    await settle()
    assert seen(a)[-1] == (True, clock.now, False)
    assert seen(a)[-2] == (False, clock.now, True)
    assert seen(b)[-1] == (True, clock.now, True)
    for node in (a, b, c):
        assert node.presence.node_of(DEVICE) == b.node_id
    assert second.replaced == 0


def test_only_device_sessions_claim_and_release() -> None:
    """Presence changes through its bus messages only: no module but ``DeviceSessions`` claims
    or releases a session, and none marks presence directly (tests and tools may)."""
    source = Path(pinbase.__file__).parent
    offenders = []
    for path in source.rglob("*.py"):
        if path.name in {"device_sessions.py", "presence.py"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"claim", "release", "mark_online", "mark_offline"}
                and isinstance(node.func.value, ast.Name | ast.Attribute)
                and "presence" in ast.unparse(node.func.value)
            ):
                offenders.append(f"{path.relative_to(source)}:{node.lineno}")
    assert offenders == []


async def test_a_node_reaped_while_alive_tells_the_others_it_holds_its_devices() -> None:
    """A node whose heartbeat lapsed but which hears it was reaped keeps its devices and
    announces them again: they read online everywhere."""
    clock = HandClock()
    a, b = await nodes(2, clock)
    a.sessions.attach(DEVICE, FakeLink())
    await settle()
    b.presence.reap(a.node_id)
    await settle()
    for node in (a, b):
        assert node.presence.is_online(DEVICE)
        assert node.presence.node_of(DEVICE) == a.node_id
    assert [online for online, _, _ in seen(b)] == [True, False, True]
    # B's offline was B's change, the installation's; the online again is A's own, so the
    # stored status turns online again and an Online notification is due once.
    assert [(online, local) for online, _, local in seen(b)] == [
        (True, False),
        (False, True),
        (True, False),
    ]
    assert seen(a)[-1] == (True, clock.now, True)


async def test_a_node_cut_off_longer_than_the_ttl_reports_its_devices_online_again() -> None:
    """A loses the broker, B reaps it meanwhile (A's devices offline, as B's change); when A
    rejoins having been reaped, its devices are online everywhere, as A's own change."""
    clock = HandClock()
    a, b = await nodes(2, clock)
    a.sessions.attach(DEVICE, FakeLink())
    await settle()
    await a.bus.stop()  # cut off from Redis
    clock.now += 15_000
    b.presence.reap(a.node_id)
    await settle()
    assert not b.presence.is_online(DEVICE)
    await a.bus.start()
    clock.now += 1_000
    a.presence.rejoin(reaped=True)
    await settle()
    assert b.presence.is_online(DEVICE)
    assert seen(a)[-1] == (True, clock.now, True)
    assert [local for online, _, local in seen(b) if online] == [False, False]


async def test_a_node_back_from_a_short_cut_announces_nothing_as_its_own() -> None:
    """Not reaped (back within the TTL): A tells the others what it holds, and no presence
    change of its own is made, so no notification is planned."""
    clock = HandClock()
    a, b = await nodes(2, clock)
    a.sessions.attach(DEVICE, FakeLink())
    await settle()
    before = list(a.changes)
    a.presence.rejoin(reaped=False)
    await settle()
    assert a.changes == before
    assert b.presence.is_online(DEVICE)
