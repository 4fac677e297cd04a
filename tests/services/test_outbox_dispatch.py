"""The outbox dispatcher on every backend: sends due deliveries at least once, retries per the
kind's schedule of automations.md §5.1, gives up, and tells the owner how each delivery ended."""

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from hand_clock import T0, HandClock
from sqlalchemy import text

from pinbase.domain.datastreams import Datastream
from pinbase.domain.deliveries import Delivery, DeliveryKind, new_delivery
from pinbase.domain.devices import Device
from pinbase.domain.value_types import Value
from pinbase.runtime import open_store, running_services
from pinbase.services.bus import ValuesChanged
from pinbase.services.clock import DAY_MS
from pinbase.services.demo import DEMO_SPEC
from pinbase.services.provisioning import parse_spec, provision
from pinbase.services.reactions.outbox import (
    GAVE_UP,
    LEASE_MS,
    MAX_IN_FLIGHT,
    Failed,
    Outbox,
    Outcome,
    Retry,
    Sent,
)
from pinbase.services.retention import Retention
from pinbase.services.telemetry import Telemetry
from pinbase.settings import Settings
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


async def test_a_record_step_commits_with_the_finished_row(store: SqlStore) -> None:
    """An outcome's record step runs in the transaction finishing the row, told that the row
    was still ours; when it fails the row stays in flight and goes out again after its lease."""
    clock = HandClock()
    heard: list[bool] = []

    async def record(_tx: object, finished: bool) -> None:
        heard.append(finished)
        if len(heard) == 1:
            raise RuntimeError("log write failed")

    async def send(_delivery: Delivery) -> Outcome:
        return Sent("200", record=record)

    outbox = Outbox(store, clock, random_source=middle)
    outbox.register(DeliveryKind.WEBHOOK, send)
    await add(store, webhook())
    assert await outbox.run_due() == 1
    assert await outbox.run_due() == 0
    clock.now += LEASE_MS
    assert await outbox.run_due() == 1
    clock.now += LEASE_MS
    assert await outbox.run_due() == 0
    assert heard == [True, True]


async def test_the_task_claims_again_when_a_full_kind_frees_a_worker(store: SqlStore) -> None:
    """One wake is enough for more deliveries than a kind's workers: each freed worker of a
    kind whose claim was full looks for the rest, with no poll in between."""
    clock = HandClock()
    count = 2 * MAX_IN_FLIGHT[DeliveryKind.WEBHOOK] + 1
    all_sent = asyncio.Event()
    receiver = Receiver()

    async def on_final(delivery: Delivery, outcome: Sent | Failed) -> None:
        await receiver.on_final(delivery, outcome)
        if len(receiver.final) == count:
            all_sent.set()

    outbox = Outbox(store, clock, random_source=middle, poll_s=3600)
    outbox.register(DeliveryKind.WEBHOOK, receiver.send, on_final=on_final)
    await add(store, *[webhook() for _ in range(count)])
    outbox.start()
    await asyncio.wait_for(all_sent.wait(), timeout=60)
    await outbox.stop()
    assert len({d.id for d in receiver.received}) == count


def test_a_kind_has_one_sender() -> None:
    """Registering a second sender for a kind is refused."""
    outbox = Outbox(None, HandClock())  # type: ignore[arg-type]
    outbox.register(DeliveryKind.PUSH, Receiver().send)
    with pytest.raises(ValueError, match="already"):
        outbox.register(DeliveryKind.PUSH, Receiver().send)


async def test_no_more_than_four_emails_are_sent_at_once(store: SqlStore) -> None:
    """Ten due e-mails go out at most four at a time (an SMTP relay's patience), all of them."""
    clock = HandClock()
    active, most, sent = 0, 0, 0

    async def slow_smtp(delivery: Delivery) -> Outcome:
        nonlocal active, most, sent
        active += 1
        most = max(most, active)
        for _ in range(5):
            await asyncio.sleep(0)
        active -= 1
        sent += 1
        return Sent()

    outbox = Outbox(store, clock, random_source=middle)
    outbox.register(DeliveryKind.EMAIL, slow_smtp)
    await add(
        store,
        *[new_delivery(DeliveryKind.EMAIL, {}, due_at=T0, source="EVENT") for _ in range(10)],
    )
    assert await outbox.run_due() == 10
    assert (most, sent) == (MAX_IN_FLIGHT[DeliveryKind.EMAIL], 10)


async def test_stop_lets_a_started_send_finish_and_claims_nothing_more(store: SqlStore) -> None:
    """On stop, a send in progress completes and is recorded; a delivery still waiting stays
    for the next start."""
    clock = HandClock()
    entered, release = asyncio.Event(), asyncio.Event()
    receiver = Receiver()

    async def held(delivery: Delivery) -> Outcome:
        entered.set()
        await release.wait()
        return await receiver.send(delivery)

    outbox = Outbox(store, clock, random_source=middle)
    outbox.register(DeliveryKind.WEBHOOK, held, on_final=receiver.on_final)
    first = webhook()
    await add(store, first)
    outbox.start()
    await entered.wait()
    await add(store, webhook())
    stopping = asyncio.create_task(outbox.stop())
    await asyncio.sleep(0)
    release.set()
    await stopping
    assert [d.id for d in receiver.received] == [first.id]
    assert receiver.final == [(first.id, Sent())]
    later = Outbox(store, clock, random_source=middle)
    later.register(DeliveryKind.WEBHOOK, receiver.send)
    assert await later.run_due() == 1


async def test_retention_purges_deliveries_that_ended_long_ago(store: SqlStore) -> None:
    """The retention sweep deletes deliveries that ended before their age, in batches; those
    still waiting stay."""
    clock = HandClock()
    outbox = Outbox(store, clock, random_source=middle)
    outbox.register(DeliveryKind.WEBHOOK, Receiver().send)
    await add(store, *[webhook() for _ in range(3)])
    await outbox.run_due()
    await add(store, webhook(due_at=T0 + DAY_MS))
    clock.now += 7 * DAY_MS
    sweeper = Retention(
        store, clock, points_ms=0, minutes_ms=0, deliveries_ms=7 * DAY_MS, max_rows=2
    )
    assert (await sweeper.sweep()).deliveries == 0
    clock.now += 1
    swept = await sweeper.sweep()
    assert (swept.deliveries, swept.batches) == (3, 2)
    clock.now += DAY_MS
    assert await outbox.run_due() == 1


class WebhookOnV1:
    """Write triggers of one webhook watching the pin ``v1``: a delivery per write of it."""

    def deliveries_for(
        self,
        device: Device,
        writes: Sequence[tuple[Datastream, Value]],
        *,
        ts: int,
        origin: str,
    ) -> list[Delivery]:
        return [
            new_delivery(
                DeliveryKind.WEBHOOK,
                {"value": value},
                dedupe_key=f"webhook:1:{device.id}:{ts}",
                due_at=ts,
                source="WEBHOOK",
                source_ref="1",
                org_id=device.org_id,
            )
            for datastream, value in writes
            if datastream.pin.name == "v1"
        ]


async def test_a_write_commits_its_deliveries_and_the_outbox_sends_them(tmp_path: Path) -> None:
    """Telemetry commits the deliveries its triggers return with the points, wakes the outbox,
    and announces the write with its origin id and hops."""
    clock = HandClock()
    async with running_services(Settings(data_dir=tmp_path), clock=clock) as services:
        created = await provision(
            services.store, parse_spec(DEMO_SPEC), clock=services.clock, bus=services.bus
        )
        bound = await services.directory.by_token(created["devices"][0]["token"])
        assert bound is not None
        streams = {ds.pin.name: ds for ds in bound.template.datastreams}
        # The server's outbox sends WEBHOOK deliveries with the webhook sender; this test
        # stops it and sends with an outbox of its own on the same store.
        await services.outbox.stop()
        outbox = Outbox(services.store, clock)
        telemetry = Telemetry(
            services.writer,
            services.bus,
            clock,
            import_points_per_day=10,
            triggers=WebhookOnV1(),
            wake_outbox=outbox.wake,
        )
        seen: list[ValuesChanged] = []
        services.bus.subscribe(ValuesChanged, seen.append)
        receiver = Receiver()
        await telemetry.record(
            bound.device,
            [(streams["v1"], 5), (streams["v2"], 7)],
            origin="automation",
            origin_id=12,
            hops=2,
        )
        async with services.store.transaction() as tx:
            assert await tx.count_points() == 2
        outbox.register(DeliveryKind.WEBHOOK, receiver.send)
        while not receiver.received:
            await outbox.run_due()
        assert [d.payload for d in receiver.received] == [{"value": 5}]
        assert [(m.origin, m.origin_id, m.hops) for m in seen] == [("automation", 12, 2)]


async def test_the_task_wakes_when_a_later_delivery_falls_due_without_polling(
    store: SqlStore,
) -> None:
    """A delivery committed with a later due time goes out once it is due, though nobody woke
    the task and its poll is an hour away: the claim read the next due time."""
    clock = HandClock()
    sent = asyncio.Event()
    receiver = Receiver()

    async def on_final(delivery: Delivery, outcome: Sent | Failed) -> None:
        sent.set()

    outbox = Outbox(store, clock, random_source=middle, poll_s=3600)
    outbox.register(DeliveryKind.WEBHOOK, receiver.send, on_final=on_final)
    later = webhook(due_at=T0 + 20)
    await add(store, later)
    outbox.start()
    clock.now = T0 + 20
    await asyncio.wait_for(sent.wait(), timeout=60)
    await outbox.stop()
    assert [d.id for d in receiver.received] == [later.id]


class ClaimFailures(logging.Handler):
    """Counts the dispatcher's ``outbox.claim_failed`` lines; ``seen`` is set at the first."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("outbox.claim_failed"):
            self.count += 1
            self.seen.set()


async def test_a_failing_claim_backs_off_instead_of_retrying_on_every_wake(
    store: SqlStore,
) -> None:
    """While claims fail (the table is gone), wakes do not claim again until the back-off
    ends: one log line, not one per wake; stop still ends the task."""
    outbox = Outbox(store, HandClock(), random_source=middle, poll_s=3600, backoff_s=3600)
    outbox.register(DeliveryKind.WEBHOOK, Receiver().send)
    async with store.transaction() as tx:
        await tx._db.execute(text("DROP TABLE outbox"))
    failures = ClaimFailures()
    logger = logging.getLogger("pinbase.services.reactions.outbox")
    logger.addHandler(failures)
    try:
        outbox.start()
        await asyncio.wait_for(failures.seen.wait(), timeout=60)
        for _ in range(20):
            outbox.wake(DeliveryKind.WEBHOOK)
            await asyncio.sleep(0)
        await outbox.stop()
    finally:
        logger.removeHandler(failures)
    assert failures.count == 1


async def test_a_wake_naming_a_later_due_time_sends_the_row_then(store: SqlStore) -> None:
    """A producer's wake for rows due later (an offline notice's delay) claims nothing now and
    sends them once due, with the poll an hour away."""
    clock = HandClock()
    finals: asyncio.Queue[str] = asyncio.Queue()
    receiver = Receiver()

    async def on_final(delivery: Delivery, outcome: Sent | Failed) -> None:
        finals.put_nowait(delivery.id)

    outbox = Outbox(store, clock, random_source=middle, poll_s=3600)
    outbox.register(DeliveryKind.WEBHOOK, receiver.send, on_final=on_final)
    outbox.start()
    first = webhook()
    await add(store, first)
    outbox.wake(DeliveryKind.WEBHOOK)
    assert await asyncio.wait_for(finals.get(), timeout=60) == first.id
    later = webhook(due_at=T0 + 5_000)
    await add(store, later)
    outbox.wake(DeliveryKind.WEBHOOK, due_at=later.due_at)
    clock.now = later.due_at
    assert await asyncio.wait_for(finals.get(), timeout=60) == later.id
    await outbox.stop()
    assert [d.id for d in receiver.received] == [first.id, later.id]
