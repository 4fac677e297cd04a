"""Automations on two nodes of one installation (issue #11), in one process: two
``running_services`` on one PostgreSQL database, linked by a ``LocalNetwork`` broker, with one
hand clock. A schedule saved on either node runs once, on the leader; when the leader stops,
the other node takes its schedules over; a Device State rule saved on one node fires on a write
the other receives."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hand_clock import HandClock
from test_automation_engine import Editor, World, relay, setup, statuses, when, write

from pinbase.domain.ids import OrgId
from pinbase.runtime import running_services
from pinbase.services.broker import LocalBroker, LocalNetwork
from pinbase.services.container import Services
from pinbase.settings import Settings
from postgres import create_database, drop_database

pytestmark = pytest.mark.postgres

DAILY_0800 = {"kind": "SCHEDULE", "time": "08:00", "tz": "UTC", "repeat": {"type": "DAILY"}}


def at(day: int, hour: int, minute: int = 0) -> int:
    """Milliseconds of 2026-01-<day> <hour>:<minute> UTC."""
    return int(datetime(2026, 1, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
async def settings(postgres_url: str, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings naming a new PostgreSQL database."""
    url = await create_database(postgres_url)
    try:
        yield Settings(data_dir=tmp_path, database_url=url)
    finally:
        await drop_database(url)


async def carried() -> None:
    """Let the local network deliver what was published, and the engines read it."""
    for _ in range(5):
        await asyncio.sleep(0)


def node(
    network: LocalNetwork, settings: Settings, clock: HandClock
) -> AbstractAsyncContextManager[Services]:
    """One node's services on the shared database and network."""
    return running_services(settings, clock=clock, broker=LocalBroker(network))


def editor_on(services: Services, world: World) -> Editor:
    """The world's editor, with the scope as the node of ``services`` knows it."""
    org = OrgId(world.editor.org_id)
    return Editor(org_id=org, scope=services.directory.subtree(org))


async def run_due_everywhere(*nodes: Services) -> None:
    """What each node's scheduler would do now."""
    for services in nodes:
        await services.automations._engine.run_due()
        await services.automations._engine.settle()
    await carried()


async def test_a_schedule_saved_on_a_follower_runs_once_on_the_leader_then_moves(
    settings: Settings,
) -> None:
    """Node A leads: a daily schedule created through node B runs once at 08:00 (on A), both
    nodes see its write; once both stopped, a new node C leads and runs the next day's slot,
    once, and not the one A ran."""
    clock = HandClock(now=at(1, 7))
    network = LocalNetwork()
    async with node(network, settings, clock) as a:
        async with node(network, settings, clock) as b:
            world = await setup(a)
            await carried()
            body = when(world, "IS_ANY") | {"condition": DAILY_0800}
            automation = await b.automations.create(editor_on(b, world), body)
            await carried()
            await a.automations._engine.settle()
            clock.now = at(1, 8)
            await run_due_everywhere(b, a, b)
            assert await statuses(a, world, automation.id) == [("OK", None)]
            assert relay(a, world.attic) == 1
            assert relay(b, world.attic) == 1
        # B stopped; A still leads, and runs nothing more today.
        clock.now = at(1, 9)
        await run_due_everywhere(a)
        assert await statuses(a, world, automation.id) == [("OK", None)]
    async with node(network, settings, clock) as c:
        clock.now = at(2, 8)
        await run_due_everywhere(c, c)
        assert await statuses(c, world, automation.id) == [("OK", None), ("OK", None)]


async def test_the_follower_runs_no_slot_until_the_leader_stops(settings: Settings) -> None:
    """With two nodes up, the follower's scheduler leaves due slots alone; once the leader
    stops, the follower's election round makes it leader and it runs the slot due, once."""
    clock = HandClock(now=at(1, 7))
    network = LocalNetwork()
    async with node(network, settings, clock) as b, node(network, settings, clock) as a:
        world = await setup(b)
        await carried()
        body = when(world, "IS_ANY") | {"condition": DAILY_0800}
        automation = await a.automations.create(editor_on(a, world), body)
        await carried()
        await b.automations._engine.settle()
        # b started first and leads; stop its leadership as a crash of its lease would.
        await b.leadership.stop()
        clock.now = at(1, 8)
        await run_due_everywhere(b, a)
        assert await statuses(a, world, automation.id) == []
        await a.leadership.step()
        await run_due_everywhere(a, b, a)
        assert await statuses(b, world, automation.id) == [("OK", None)]


async def test_a_device_state_rule_saved_on_one_node_fires_on_a_write_to_the_other(
    settings: Settings,
) -> None:
    """A rule created through node A fires when node B receives the watched write."""
    clock = HandClock(now=at(1, 7))
    network = LocalNetwork()
    async with node(network, settings, clock) as a, node(network, settings, clock) as b:
        world = await setup(a)
        await carried()
        automation = await a.automations.create(editor_on(a, world), when(world, "GT", "30"))
        await carried()
        await b.automations._engine.settle()
        await write(b, world.cellar, {1: 31.5})
        await carried()
        assert relay(b, world.attic) == 1
        assert relay(a, world.attic) == 1
        assert [s for s, _ in await statuses(a, world, automation.id)] == ["OK"]
        await a.automations.delete(editor_on(a, world), automation.id)
        await carried()
        await b.automations._engine.settle()
        await write(b, world.attic, {2: 0})
        await write(b, world.cellar, {1: 10})
        await write(b, world.cellar, {1: 40})
        assert relay(b, world.attic) == 0
