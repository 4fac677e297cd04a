"""The outbox dispatcher on every backend: sends due deliveries at least once, retries per the
kind's schedule of automations.md §5.1, gives up, and tells the owner how each delivery ended."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hand_clock import T0, HandClock

from pinbase.domain.deliveries import Delivery, DeliveryKind, new_delivery
from pinbase.runtime import open_store
from pinbase.services.reactions.outbox import (
    GAVE_UP,
    LEASE_MS,
    Failed,
    Outbox,
    Outcome,
    Retry,
    Sent,
)
from pinbase.storage.sql import SqlStore
from postgres import BACKENDS, empty_database


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStore]:
    """A migrated, empty store on each engine."""
    async with empty_database(request, tmp_path) as settings:
        opened = await open_store(settings)
        try:
            yield opened
        finally:
            await opened.close()


class Receiver:
    """A sender answering scripted outcomes, recording each delivery it was handed."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.received: list[Delivery] = []
        self.final: list[tuple[str, Sent | Failed]] = []

    async def send(self, delivery: Delivery) -> Outcome:
        self.received.append(delivery)
        return self.outcomes.pop(0) if self.outcomes else Sent()

    async def on_final(self, delivery: Delivery, outcome: Sent | Failed) -> None:
        self.final.append((delivery.id, outcome))


def middle() -> float:
    """A random source without jitter."""
    return 0.5


async def add(store: SqlStore, *deliveries: Delivery) -> None:
    """Commit deliveries to the outbox."""
    async with store.transaction() as tx:
        await tx.add_deliveries(deliveries)


def webhook(due_at: int = T0) -> Delivery:
    """A due webhook delivery."""
    return new_delivery(DeliveryKind.WEBHOOK, {"n": 1}, due_at=due_at, source="WEBHOOK")


async def test_a_due_delivery_is_sent_once_and_reported(store: SqlStore) -> None:
    """A due delivery goes to its kind's sender once; one due later waits for its time."""
    clock = HandClock()
    receiver = Receiver(Sent("200"))
    outbox = Outbox(store, clock, random_source=middle)
    outbox.register(DeliveryKind.WEBHOOK, receiver.send, on_final=receiver.on_final)
    now, later = webhook(), webhook(due_at=T0 + 1000)
    await add(store, now, later)
    assert await outbox.run_due() == 1
    assert await outbox.run_due() == 0
    assert [d.id for d in receiver.received] == [now.id]
    assert receiver.final == [(now.id, Sent("200"))]
    clock.now += 1000
    assert await outbox.run_due() == 1
    assert [d.id for d in receiver.received] == [now.id, later.id]


async def test_a_webhook_retries_three_times_then_gives_up(store: SqlStore) -> None:
    """Webhook retries follow 10 s, 60 s, 5 min; after the third retry fails it is FAILED
    with GAVE_UP, reported once."""
    clock = HandClock()
    receiver = Receiver(*[Retry("503")] * 4)
    outbox = Outbox(store, clock, random_source=middle)
    outbox.register(DeliveryKind.WEBHOOK, receiver.send, on_final=receiver.on_final)
    delivery = webhook()
    await add(store, delivery)
    for step in (0, 10_000 - 1, 1, 60_000 - 1, 1, 300_000 - 1, 1):
        clock.now += step
        await outbox.run_due()
    assert [d.attempts for d in receiver.received] == [1, 2, 3, 4]
    assert receiver.final == [(delivery.id, Failed(GAVE_UP, "503"))]
    clock.now += 3_600_000
    assert await outbox.run_due() == 0


async def test_jitter_and_retry_after_move_the_next_attempt(store: SqlStore) -> None:
    """Jitter moves a 10 s delay by up to 20 %; a Retry-After beyond it is honoured up to 5
    minutes."""
    clock = HandClock()
    receiver = Receiver(Retry("503"), Retry("429", after_ms=3_600_000))
    outbox = Outbox(store, clock, random_source=lambda: 0.999_999)
    outbox.register(DeliveryKind.WEBHOOK, receiver.send)
    await add(store, webhook())
    await outbox.run_due()
    clock.now += 11_999
    assert await outbox.run_due() == 0
    clock.now += 1
    assert await outbox.run_due() == 1
    clock.now += 300_000 - 1
    assert await outbox.run_due() == 0
    clock.now += 1
    assert await outbox.run_due() == 1


async def test_a_permanent_failure_is_not_retried(store: SqlStore) -> None:
    """``Failed`` ends the delivery at once with its reason."""
    clock = HandClock()
    receiver = Receiver(Failed("PERMANENT_ERROR", "550 no such user"))
    outbox = Outbox(store, clock, random_source=middle)
    outbox.register(DeliveryKind.EMAIL, receiver.send, on_final=receiver.on_final)
    delivery = new_delivery(DeliveryKind.EMAIL, {}, due_at=T0, source="EVENT")
    await add(store, delivery)
    await outbox.run_due()
    clock.now += 86_400_000
    assert await outbox.run_due() == 0
    assert receiver.final == [(delivery.id, Failed("PERMANENT_ERROR", "550 no such user"))]


async def test_a_raising_sender_counts_as_a_retry(store: SqlStore) -> None:
    """A sender that raises is logged and its delivery retried, not lost."""
    clock = HandClock()
    calls: list[int] = []

    async def broken(delivery: Delivery) -> Outcome:
        calls.append(delivery.attempts)
        if len(calls) == 1:
            raise RuntimeError("bug")
        return Sent()

    outbox = Outbox(store, clock, random_source=middle)
    outbox.register(DeliveryKind.WEBHOOK, broken)
    await add(store, webhook())
    await outbox.run_due()
    clock.now += 10_000
    await outbox.run_due()
    assert calls == [1, 2]


async def test_a_delivery_left_in_flight_goes_out_again_after_its_lease(store: SqlStore) -> None:
    """A row claimed by a dispatcher that died is sent again once its lease ran out."""
    clock = HandClock()
    await add(store, webhook())
    async with store.transaction() as tx:
        await tx.claim_deliveries(DeliveryKind.WEBHOOK, now=T0, lease_until=T0 + LEASE_MS, limit=10)
    receiver = Receiver()
    outbox = Outbox(store, clock, random_source=middle)
    outbox.register(DeliveryKind.WEBHOOK, receiver.send)
    assert await outbox.run_due() == 0
    clock.now += LEASE_MS
    assert await outbox.run_due() == 1
    assert receiver.received[0].attempts == 2


async def test_the_running_task_sends_on_wake_and_stop_finishes(store: SqlStore) -> None:
    """Started, the dispatcher sends a woken delivery; stop returns once it is recorded."""
    clock = HandClock()
    receiver = Receiver()
    outbox = Outbox(store, clock, random_source=middle)
    outbox.register(DeliveryKind.WEBHOOK, receiver.send, on_final=receiver.on_final)
    outbox.start()
    delivery = webhook()
    await add(store, delivery)
    outbox.wake()
    while not receiver.final:
        await outbox.run_due()  # the task or this call sends it; never both
    await outbox.stop()
    assert [d.id for d in receiver.received] == [delivery.id]


def test_a_kind_has_one_sender() -> None:
    """Registering a second sender for a kind is refused."""
    outbox = Outbox(None, HandClock())  # type: ignore[arg-type]
    outbox.register(DeliveryKind.PUSH, Receiver().send)
    with pytest.raises(ValueError, match="already"):
        outbox.register(DeliveryKind.PUSH, Receiver().send)
