"""SQL for ``OutboxRepository``: a mixin of ``SqlTransaction`` over its ``self._db``.

Claiming is one ``UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED) RETURNING``:
on PostgreSQL concurrent dispatchers skip each other's rows instead of waiting; SQLite ignores
the locking clause and needs none, since one write transaction runs at a time
(``storage.sqlite``).
"""

import functools
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.domain.deliveries import FINAL_STATES, Delivery, DeliveryKind, DeliveryState
from pinbase.storage import schema

_OUTBOX = schema.outbox
_WAITING = (DeliveryState.PENDING, DeliveryState.RETRY)
_CLAIMABLE = (DeliveryState.PENDING, DeliveryState.RETRY, DeliveryState.IN_FLIGHT)


def delivery_row(delivery: Delivery) -> dict[str, Any]:
    """The ``outbox`` row of a new delivery."""
    return {
        "id": delivery.id,
        "kind": delivery.kind.value,
        "payload": orjson.dumps(delivery.payload).decode(),
        "dedupe_key": delivery.dedupe_key,
        "state": DeliveryState.PENDING.value,
        "attempts": delivery.attempts,
        "due_at": delivery.due_at,
        "next_attempt_at": delivery.due_at,
        "lease_until": None,
        "last_error": None,
        "source": delivery.source,
        "source_ref": delivery.source_ref,
        "org_id": delivery.org_id,
    }


@functools.cache
def insert_deliveries(dialect: str) -> Any:
    """``INSERT INTO outbox … ON CONFLICT (dedupe_key) DO NOTHING`` on either dialect; built once
    per dialect (a group commit with webhook deliveries built it anew each time)."""
    statement = sqlite.insert(_OUTBOX) if dialect == "sqlite" else postgresql.insert(_OUTBOX)
    return statement.on_conflict_do_nothing(index_elements=["dedupe_key"])


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        kind=DeliveryKind(row.kind),
        payload=orjson.loads(row.payload),
        dedupe_key=row.dedupe_key,
        due_at=row.due_at,
        source=row.source,
        source_ref=row.source_ref,
        org_id=row.org_id,
        attempts=row.attempts,
    )


class SqlOutbox:
    """Outbox queries over ``self._db``, an ``AsyncConnection``."""

    _db: AsyncConnection
    _dialect: str

    async def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Store deliveries as ``PENDING``; a stored ``dedupe_key`` makes its twin ignored."""
        if deliveries:
            await self._db.execute(
                insert_deliveries(self._dialect), [delivery_row(d) for d in deliveries]
            )

    async def cancel_deliveries(self, *, kind: DeliveryKind, source_ref: str) -> int:
        """Cancel the waiting deliveries of ``kind`` from ``source_ref``; return how many."""
        result = await self._db.execute(
            update(_OUTBOX)
            .where(
                _OUTBOX.c.source_ref == source_ref,
                _OUTBOX.c.kind == kind.value,
                _OUTBOX.c.state.in_(_WAITING),
            )
            .values(state=DeliveryState.CANCELLED.value, lease_until=None)
        )
        return int(result.rowcount)

    async def claim_deliveries(
        self, kind: DeliveryKind, *, now: int, lease_until: int, limit: int
    ) -> list[Delivery]:
        """Lease up to ``limit`` due deliveries of ``kind``, oldest due first."""
        due = (
            select(_OUTBOX.c.id)
            .where(
                _OUTBOX.c.kind == kind.value,
                _OUTBOX.c.state.in_(_CLAIMABLE),
                _OUTBOX.c.next_attempt_at <= now,
            )
            .order_by(_OUTBOX.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        result = await self._db.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id.in_(due.scalar_subquery()))
            .values(
                state=DeliveryState.IN_FLIGHT.value,
                attempts=_OUTBOX.c.attempts + 1,
                lease_until=lease_until,
                next_attempt_at=lease_until,
            )
            .returning(*_OUTBOX.c)
        )
        claimed = [_delivery(row) for row in result]
        claimed.sort(key=lambda delivery: delivery.due_at)
        return claimed

    async def next_delivery_due(self, kind: DeliveryKind) -> int | None:
        """The earliest ``next_attempt_at`` of a claimable delivery of ``kind``: a few ranges of
        ``ix_outbox_due`` (the final rows are outside them)."""
        result = await self._db.execute(
            select(func.min(_OUTBOX.c.next_attempt_at)).where(
                _OUTBOX.c.kind == kind.value, _OUTBOX.c.state.in_(_CLAIMABLE)
            )
        )
        due = result.scalar()
        return None if due is None else int(due)

    async def finish_delivery(
        self,
        delivery_id: str,
        *,
        attempt: int,
        state: DeliveryState,
        at: int,
        error: str | None = None,
    ) -> bool:
        """End one attempt as ``RETRY`` (again at ``at``) or final (ended at ``at``)."""
        if state not in FINAL_STATES and state is not DeliveryState.RETRY:
            raise ValueError(f"an attempt cannot end as {state}")
        result = await self._db.execute(
            update(_OUTBOX)
            .where(
                _OUTBOX.c.id == delivery_id,
                _OUTBOX.c.attempts == attempt,
                _OUTBOX.c.state == DeliveryState.IN_FLIGHT.value,
            )
            .values(state=state.value, next_attempt_at=at, lease_until=None, last_error=error)
        )
        return bool(result.rowcount)

    async def purge_deliveries(self, *, before: int, limit: int) -> int:
        """Delete up to ``limit`` final deliveries that ended before ``before``."""
        ended = (
            select(_OUTBOX.c.id)
            .where(
                # Every kind named, so that the scan is a few ranges of ``ix_outbox_due``.
                _OUTBOX.c.kind.in_(list(DeliveryKind)),
                _OUTBOX.c.state.in_(FINAL_STATES),
                _OUTBOX.c.next_attempt_at < before,
            )
            .limit(limit)
        )
        result = await self._db.execute(delete(_OUTBOX).where(_OUTBOX.c.id.in_(ended)))
        return int(result.rowcount)
