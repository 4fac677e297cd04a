"""Device State rules across two nodes (issue #11): an HTTP device behind a balancer writes
through either node, and a rule fired on one node is disarmed on the other too, so it fires once
per edge for the installation, not once per node. Two nodes' services in one process on one
PostgreSQL database, linked by an in-process broker that encodes every message as Redis would."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from hand_clock import HandClock
from nodes import two_nodes
from test_automation_engine import setup, statuses, when, write

from pinbase.domain.ids import DeviceId
from pinbase.services.broker import LocalBroker, LocalNetwork
from pinbase.services.container import Services
from polling import eventually as poll

pytestmark = pytest.mark.postgres

WAIT_S = 10.0


async def eventually(check: Callable[[], bool]) -> None:
    """Wait until ``check()`` holds (fails after ``WAIT_S``)."""
    await poll(check, within_s=WAIT_S)


@pytest.fixture
async def nodes(tmp_path: Path, postgres_url: str) -> AsyncIterator[tuple[Services, Services]]:
    """Nodes A and B on a fresh database, one hand clock, linked in process."""
    network = LocalNetwork()
    async with two_nodes(
        tmp_path,
        postgres_url,
        clock=HandClock(),
        broker=lambda: LocalBroker(network),
    ) as pair:
        yield pair


async def test_a_rule_fired_through_one_node_does_not_fire_again_through_the_other(
    nodes: tuple[Services, Services],
) -> None:
    """GT 40: 41 through A fires; 45 through B does not (B learnt A disarmed it); 38 through B
    re-arms, and 42 through A fires again (A learnt B re-armed it): two runs, as on one node."""
    a, b = nodes
    world = await setup(a)
    await eventually(lambda: b.directory.by_id(DeviceId(world.cellar)) is not None)
    automation = await a.automations.create(world.editor, when(world, "GT", "40"))
    engine_a, engine_b = a.automations._engine, b.automations._engine
    await eventually(lambda: automation.id in engine_b._states)

    def armed(engine: object) -> bool:
        return bool(engine._states[automation.id].armed)  # type: ignore[attr-defined]

    await write(a, world.cellar, {1: 41.0})
    await eventually(lambda: not armed(engine_b))
    await write(b, world.cellar, {1: 45.0})
    await write(b, world.cellar, {1: 38.0})
    await eventually(lambda: armed(engine_a))
    await write(a, world.cellar, {1: 42.0})
    for engine in (engine_a, engine_b):
        await engine.settle()
    assert [status for status, _ in await statuses(a, world, automation.id)] == ["OK", "OK"]
