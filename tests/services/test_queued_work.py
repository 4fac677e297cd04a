"""QueuedWork: bus messages handled off the publisher's stack, in order, bounded."""

import pytest

from pinbase.services.queued_work import QueuedWork


async def test_items_are_handled_in_arrival_order_and_a_failure_does_not_stop_the_next(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each item runs once, oldest first; one that raises is logged and the rest still run."""
    handled: list[int] = []

    async def handle(item: int) -> None:
        if item == 2:
            raise ValueError("broken")
        handled.append(item)

    work = QueuedWork(handle, name="test", limit=10, describe=lambda item: f"item={item}")
    work.start()
    for item in (1, 2, 3):
        work.put(item)
    await work.stop()
    assert handled == [1, 3]
    assert "test.failed item=2" in caplog.text


async def test_items_past_the_limit_are_dropped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A full queue drops the new item with a warning instead of growing memory."""
    handled: list[int] = []

    async def handle(item: int) -> None:
        handled.append(item)

    work = QueuedWork(handle, name="test", limit=2, describe=lambda item: f"item={item}")
    for item in (1, 2, 3):
        work.put(item)
    work.start()
    await work.drain()
    await work.stop()
    assert handled == [1, 2]
    assert "test.queue_full item=3" in caplog.text
