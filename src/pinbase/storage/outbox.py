"""The outbox part of the storage contract (automations.md §5.1); ``storage.sql_outbox`` is the SQL.

Producers only add and cancel. Claiming and finishing belong to the dispatcher
(``services.reactions.outbox``): a claim moves due rows to ``IN_FLIGHT`` with a lease and counts
the attempt; a row whose lease ran out is due again, hence at-least-once. Finishing names the
attempt it finishes, so a worker whose lease expired (and whose row was claimed again) changes
nothing.
"""

from collections.abc import Sequence
from typing import Protocol

from pinbase.domain.deliveries import Delivery, DeliveryKind, DeliveryState


class OutboxRepository(Protocol):
    """Outbox rows inside one transaction."""

    async def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Store deliveries as ``PENDING`` until their ``due_at``; a delivery whose
        ``dedupe_key`` is already stored is ignored."""
        ...

    async def cancel_deliveries(self, *, kind: DeliveryKind, source_ref: str) -> int:
        """Cancel the not yet started deliveries (``PENDING`` or ``RETRY``) of ``kind`` from
        ``source_ref``; return how many. One in flight finishes as it will."""
        ...

    async def claim_deliveries(
        self, kind: DeliveryKind, *, now: int, lease_until: int, limit: int
    ) -> list[Delivery]:
        """Take up to ``limit`` deliveries of ``kind`` due at ``now`` (pending, retrying, or in
        flight with an expired lease), oldest due first: each becomes ``IN_FLIGHT`` until
        ``lease_until`` and is returned with ``attempts`` counting this attempt."""
        ...

    async def next_delivery_due(self, kind: DeliveryKind) -> int | None:
        """When the next delivery of ``kind`` becomes claimable (pending, retrying, or in flight
        until its lease ends), or None when none waits: the dispatcher sleeps until then."""
        ...

    async def finish_delivery(
        self,
        delivery_id: str,
        *,
        attempt: int,
        state: DeliveryState,
        at: int,
        error: str | None = None,
    ) -> bool:
        """End attempt ``attempt`` of a delivery: ``RETRY`` (``at`` is when to try again), or
        final ``SENT`` / ``FAILED`` (``at`` is when it ended). False, changing nothing, when the
        row is no longer in flight under that attempt (its lease ran out and it was claimed
        again, or it is gone)."""
        ...

    async def purge_deliveries(self, *, before: int, limit: int) -> int:
        """Delete up to ``limit`` final deliveries that ended before ``before``; return how many."""
        ...
