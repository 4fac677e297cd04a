"""The tarpit: a held answer waits in its own task, is cut short by its connection's end, and at
most ``capacity`` answers wait at once."""

import asyncio

from pinbase.transports.tarpit import Tarpit, release


async def test_a_full_tarpit_answers_at_once_and_a_release_ends_a_hold() -> None:
    """With room for one, a second hold returns at once (counted as overflow); releasing the
    first one's future ends its 60 s wait."""
    loop = asyncio.get_running_loop()
    tarpit = Tarpit(capacity=1)
    first: asyncio.Future[None] = loop.create_future()
    waiting = loop.create_task(tarpit.hold(first, 60))
    await asyncio.sleep(0)
    assert tarpit.held == 1
    await asyncio.wait_for(tarpit.hold(loop.create_future(), 60), 1)
    assert tarpit.overflowed == 1
    release(first)
    await asyncio.wait_for(waiting, 1)
    assert (tarpit.held, tarpit.held_total, tarpit.held_seconds) == (0, 1, 60)


async def test_a_hold_ends_when_its_delay_is_over() -> None:
    """A 10 ms hold returns by itself and leaves the tarpit empty; a zero delay is not held."""
    loop = asyncio.get_running_loop()
    tarpit = Tarpit()
    await asyncio.wait_for(tarpit.hold(loop.create_future(), 0.01), 1)
    await tarpit.hold(loop.create_future(), 0)
    assert (tarpit.held, tarpit.held_total) == (0, 1)
