"""The outbox table (migration 0010) on every backend: added with points or alone, duplicates
ignored, claimed with a lease, finished by the attempt that holds it, cancelled and purged.

Same rules as ``test_contract.py``: each test gets an empty, migrated database.
"""

import pytest
from sqlalchemy import select

from pinbase.domain.deliveries import Delivery, DeliveryKind, DeliveryState, new_delivery
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.points import Point
from pinbase.storage import schema
from pinbase.storage.sql import SqlStore

T0 = 1_760_000_000_000
LEASE = 60_000


def webhook(key: str, *, due_at: int = T0, ref: str | None = "7") -> Delivery:
    """A webhook delivery with dedupe key ``key``."""
    return new_delivery(
        DeliveryKind.WEBHOOK,
        {"url": "https://example.com/hook", "body": "v=1", "n": [1, 2.5, None]},
        dedupe_key=key,
        due_at=due_at,
        source="WEBHOOK",
        source_ref=ref,
        org_id=1,
    )


async def states(store: SqlStore) -> dict[str, tuple[str, int]]:
    """Each stored row's dedupe key with its state and attempts."""
    async with store.transaction() as tx:
        rows = await tx._db.execute(
            select(schema.outbox.c.dedupe_key, schema.outbox.c.state, schema.outbox.c.attempts)
        )
        return {row.dedupe_key: (row.state, row.attempts) for row in rows}


async def claim(store: SqlStore, kind: DeliveryKind, now: int, limit: int = 10) -> list[Delivery]:
    """Claim due deliveries of ``kind`` at ``now``."""
    async with store.transaction() as tx:
        return await tx.claim_deliveries(kind, now=now, lease_until=now + LEASE, limit=limit)


async def test_deliveries_commit_with_points_and_a_duplicate_key_is_ignored(
    store: SqlStore,
) -> None:
    """``append_points`` stores deliveries in its transaction; a second one with a stored key
    is ignored, in one group or across groups."""
    point = Point(DeviceId(1), DatastreamId(1), T0, 1.5)
    first = webhook("w:1")
    await store.append_points([point], current=[point], deliveries=[first, webhook("w:1")])
    await store.append_points([point], current=[point], deliveries=[webhook("w:1")])
    async with store.transaction() as tx:
        await tx.add_deliveries([webhook("w:1"), webhook("w:2")])
    assert await states(store) == {"w:1": ("PENDING", 0), "w:2": ("PENDING", 0)}
    claimed = {d.dedupe_key: d for d in await claim(store, DeliveryKind.WEBHOOK, T0)}
    assert claimed["w:1"] == Delivery(
        id=first.id,
        kind=DeliveryKind.WEBHOOK,
        payload=first.payload,
        dedupe_key="w:1",
        due_at=T0,
        source="WEBHOOK",
        source_ref="7",
        org_id=1,
        attempts=1,
    )


async def test_a_claim_takes_due_rows_of_its_kind_oldest_first_with_a_lease(
    store: SqlStore,
) -> None:
    """Only due rows of the kind are claimed, up to the limit, oldest first; a claimed row is
    not claimed again until its lease runs out, then with its attempt counted again."""
    email = new_delivery(DeliveryKind.EMAIL, {}, due_at=T0, source="EVENT")
    async with store.transaction() as tx:
        await tx.add_deliveries(
            [
                webhook("late", due_at=T0 + 5),
                webhook("b", due_at=T0 - 1),
                webhook("a", due_at=T0 - 2),
                email,
            ]
        )
    assert [d.dedupe_key for d in await claim(store, DeliveryKind.WEBHOOK, T0, limit=1)] == ["a"]
    assert [d.dedupe_key for d in await claim(store, DeliveryKind.WEBHOOK, T0)] == ["b"]
    assert await claim(store, DeliveryKind.WEBHOOK, T0 + 4) == []
    again = await claim(store, DeliveryKind.WEBHOOK, T0 + LEASE)
    assert [(d.dedupe_key, d.attempts) for d in again] == [("a", 2), ("b", 2), ("late", 1)]
    assert (await states(store))[email.dedupe_key] == ("PENDING", 0)


async def test_only_the_attempt_holding_the_lease_finishes_a_row(store: SqlStore) -> None:
    """Finishing names the attempt: after a reclaim the first attempt changes nothing; a retry
    is claimable again at its time, and a final row never again."""
    async with store.transaction() as tx:
        await tx.add_deliveries([webhook("w")])
    [first] = await claim(store, DeliveryKind.WEBHOOK, T0)
    [second] = await claim(store, DeliveryKind.WEBHOOK, T0 + LEASE)
    async with store.transaction() as tx:
        assert not await tx.finish_delivery(
            first.id, attempt=first.attempts, state=DeliveryState.SENT, at=T0 + LEASE
        )
        assert await tx.finish_delivery(
            second.id,
            attempt=second.attempts,
            state=DeliveryState.RETRY,
            at=T0 + LEASE + 10_000,
            error="503",
        )
    assert await claim(store, DeliveryKind.WEBHOOK, T0 + LEASE + 9_999) == []
    [third] = await claim(store, DeliveryKind.WEBHOOK, T0 + LEASE + 10_000)
    assert third.attempts == 3
    async with store.transaction() as tx:
        assert await tx.finish_delivery(
            third.id, attempt=3, state=DeliveryState.FAILED, at=T0 + LEASE + 10_001, error="x"
        )
    assert await claim(store, DeliveryKind.WEBHOOK, T0 + 10 * LEASE) == []
    assert await states(store) == {"w": ("FAILED", 3)}


async def test_cancelling_takes_only_waiting_rows_of_the_kind_and_source(store: SqlStore) -> None:
    """Cancel affects pending and retrying rows of one kind and source ref, not one in flight,
    another source or another kind."""
    wait = new_delivery(
        DeliveryKind.AUTOMATION_CONTINUATION, {}, due_at=T0 + 1, source="AUTOMATION", source_ref="7"
    )
    async with store.transaction() as tx:
        await tx.add_deliveries(
            [webhook("flying"), webhook("waiting", due_at=T0 + 1), webhook("other", ref="8"), wait]
        )
    await claim(store, DeliveryKind.WEBHOOK, T0)  # takes "flying" and "other"
    async with store.transaction() as tx:
        assert await tx.cancel_deliveries(kind=DeliveryKind.WEBHOOK, source_ref="7") == 1
    assert await states(store) == {
        "flying": ("IN_FLIGHT", 1),
        "waiting": ("CANCELLED", 0),
        "other": ("IN_FLIGHT", 1),
        wait.dedupe_key: ("PENDING", 0),
    }
    assert await claim(store, DeliveryKind.WEBHOOK, T0 + 1) == []


async def test_purge_deletes_only_final_rows_that_ended_before_the_cutoff(store: SqlStore) -> None:
    """Rows that ended before the cutoff go, up to the limit; newer and unfinished rows stay."""
    async with store.transaction() as tx:
        await tx.add_deliveries([webhook(f"w{n}", due_at=T0 - 10 + n) for n in range(4)])
    claimed = await claim(store, DeliveryKind.WEBHOOK, T0, limit=3)
    async with store.transaction() as tx:
        for n, delivery in enumerate(claimed):
            await tx.finish_delivery(
                delivery.id, attempt=1, state=DeliveryState.SENT, at=T0 + n * 100
            )
    async with store.transaction() as tx:
        assert await tx.purge_deliveries(before=T0 + 150, limit=1) == 1
        assert await tx.purge_deliveries(before=T0 + 150, limit=10) == 1
    assert await states(store) == {"w2": ("SENT", 1), "w3": ("PENDING", 0)}


@pytest.mark.parametrize(
    "settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_concurrent_claims_skip_each_others_rows(store: SqlStore) -> None:
    """On PostgreSQL a second dispatcher's claim skips rows another one is claiming (FOR
    UPDATE SKIP LOCKED) instead of waiting for it or taking them too."""
    async with store.transaction() as tx:
        await tx.add_deliveries([webhook("a", due_at=T0 - 2), webhook("b", due_at=T0 - 1)])
    async with store.transaction() as first:
        mine = await first.claim_deliveries(
            DeliveryKind.WEBHOOK, now=T0, lease_until=T0 + LEASE, limit=1
        )
        async with store.transaction() as second:
            theirs = await second.claim_deliveries(
                DeliveryKind.WEBHOOK, now=T0, lease_until=T0 + LEASE, limit=2
            )
    assert [d.dedupe_key for d in mine] == ["a"]
    assert [d.dedupe_key for d in theirs] == ["b"]


async def test_the_next_due_time_is_the_soonest_claimable_row_of_the_kind(store: SqlStore) -> None:
    """``next_delivery_due`` answers the soonest waiting or leased row of one kind, never a
    final one or another kind's, and None when none waits."""
    async with store.transaction() as tx:
        assert await tx.next_delivery_due(DeliveryKind.WEBHOOK) is None
        await tx.add_deliveries(
            [
                webhook("now"),
                webhook("later", due_at=T0 + 5_000),
                new_delivery(DeliveryKind.PUSH, {}, due_at=T0 - 1, source="EVENT"),
            ]
        )
    [claimed] = await claim(store, DeliveryKind.WEBHOOK, T0)
    async with store.transaction() as tx:
        assert await tx.next_delivery_due(DeliveryKind.WEBHOOK) == T0 + 5_000
        await tx.finish_delivery(claimed.id, attempt=1, state=DeliveryState.SENT, at=T0)
    [later] = await claim(store, DeliveryKind.WEBHOOK, T0 + 5_000)
    async with store.transaction() as tx:
        assert await tx.next_delivery_due(DeliveryKind.WEBHOOK) == T0 + 5_000 + LEASE
        await tx.finish_delivery(later.id, attempt=1, state=DeliveryState.FAILED, at=T0)
        assert await tx.next_delivery_due(DeliveryKind.WEBHOOK) is None
        assert await tx.next_delivery_due(DeliveryKind.PUSH) == T0 - 1


async def test_a_short_transaction_commits_on_exit_and_rolls_back_on_error(
    store: SqlStore,
) -> None:
    """``short_transaction`` (SQLite: run on the loop thread) commits what it did on a clean
    exit, returns claimed rows as a plain one does, and keeps nothing after an exception."""
    async with store.short_transaction() as tx:
        await tx.add_deliveries([webhook("kept")])

    async def add_then_fail() -> None:
        async with store.short_transaction() as tx:
            await tx.add_deliveries([webhook("dropped")])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await add_then_fail()
    async with store.short_transaction() as tx:
        [claimed] = await tx.claim_deliveries(
            DeliveryKind.WEBHOOK, now=T0, lease_until=T0 + LEASE, limit=10
        )
        assert await tx.next_delivery_due(DeliveryKind.WEBHOOK) == T0 + LEASE
    assert claimed.dedupe_key == "kept"
    assert await states(store) == {"kept": ("IN_FLIGHT", 1)}
