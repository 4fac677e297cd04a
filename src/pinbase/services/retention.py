"""History retention: raw points and per-minute aggregates older than their age are deleted.

Theory of operation. A sweep walks each aged table (``storage.retention.Aged``) series by series
and deletes the rows older than the cutoff, in batches: one transaction deletes at most
``max_rows`` rows and visits at most ``max_series`` series, then the sweep yields to the loop
before the next one. On SQLite a transaction takes its turn with the group commits
(``storage.sqlite``), so a device's write waits for at most one batch; on PostgreSQL batches
keep each transaction's locks and undo short. A series whose batch ran out of room is visited
again by the next batch.

Only history is aged. Current values (the latest value of each pin) live in their own table,
which retention never touches, so a device that stopped reporting a year ago still answers its
last value. The cutoff of aggregates is rounded down to a whole minute, so a minute row goes
only when every point it sums is past the age; the settings keep aggregates at least as long as
raw points (``Settings``), so an aggregated report never misses minutes whose raw points remain.

The same sweep purges outbox deliveries that ended (sent, failed or cancelled) longer ago than
their age (issue #10; a week by default), in batches of ``max_rows`` as well.
"""

import asyncio
import logging
from dataclasses import dataclass

from pinbase.services.clock import Clock
from pinbase.services.reports import MINUTE_MS
from pinbase.storage.base import Store
from pinbase.storage.retention import Aged, SeriesKey

logger = logging.getLogger(__name__)

MAX_RETENTION_ROWS = 2_000
"""Rows one batch deletes at most, so a device write waits at most one such batch. Measured on
SQLite (synchronous=FULL, commit included, 2 million points, the loaded 2-core development
machine): a batch of 2,000 raw points took 24-83 ms, one of 10,000 took 70-320 ms; 500 took
16-30 ms, the commit's fixed cost dominating."""

MAX_RETENTION_SERIES = 500
"""Series one batch visits at most: a sweep over series with nothing to delete still yields
every 500 index seeks."""

SWEEP_INTERVAL_S = 3600.0
"""A sweep an hour: retention ages are days, so an hour late costs at most 1/24 of a day of
disk."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Swept:
    """What one sweep deleted, and in how many batches (transactions)."""

    points: int = 0
    minutes: int = 0
    deliveries: int = 0
    batches: int = 0


class Retention:
    """Deletes history rows older than their retention age; an age of 0 keeps them forever."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        points_ms: int,
        minutes_ms: int,
        deliveries_ms: int = 0,
        max_rows: int = MAX_RETENTION_ROWS,
        max_series: int = MAX_RETENTION_SERIES,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ages = {Aged.POINTS: points_ms, Aged.MINUTES: minutes_ms}
        self._deliveries_ms = deliveries_ms
        self._max_rows = max_rows
        self._max_series = max_series

    async def sweep(self) -> Swept:
        """Delete every row past its age, as of the clock's now, in bounded batches."""
        now = self._clock()
        deleted = {Aged.POINTS: 0, Aged.MINUTES: 0}
        batches = 0
        for table, age_ms in self._ages.items():
            if not age_ms:
                continue
            before = now - age_ms
            if table is Aged.MINUTES:
                before -= before % MINUTE_MS  # a minute goes once all of it is past the age
            cursor: SeriesKey | None = None
            done = False
            while not done:
                rows, cursor, done = await self._batch(table, before=before, after=cursor)
                deleted[table] += rows
                batches += 1
                await asyncio.sleep(0)  # let waiting group commits take their turn
        deliveries = 0
        while self._deliveries_ms:
            async with self._store.transaction() as tx:
                rows = await tx.purge_deliveries(
                    before=now - self._deliveries_ms, limit=self._max_rows
                )
            deliveries += rows
            batches += 1
            await asyncio.sleep(0)
            if rows < self._max_rows:
                break
        return Swept(
            points=deleted[Aged.POINTS],
            minutes=deleted[Aged.MINUTES],
            deliveries=deliveries,
            batches=batches,
        )

    async def _batch(
        self, table: Aged, *, before: int, after: SeriesKey | None
    ) -> tuple[int, SeriesKey | None, bool]:
        """One transaction: delete up to ``max_rows`` old rows of the series after ``after``.

        Returns the rows deleted, the last series finished (the next batch starts after it) and
        whether the table has no series left.
        """
        room = self._max_rows
        async with self._store.transaction() as tx:
            for _ in range(self._max_series):
                series = await tx.next_series(table, after=after)
                if series is None:
                    return self._max_rows - room, after, True
                rows = await tx.delete_older(table, series, before=before, limit=room)
                room -= rows
                if not room:  # the series may hold more: the next batch visits it again
                    return self._max_rows, after, False
                after = series
        return self._max_rows - room, after, False

    async def sweep_forever(self) -> None:
        """Sweep now, then every ``SWEEP_INTERVAL_S``, until cancelled."""
        while True:
            try:
                swept = await self.sweep()
            except Exception:
                logger.exception("retention.sweep_failed")
            else:
                if swept.points or swept.minutes or swept.deliveries:
                    logger.info(
                        "retention.deleted points=%d minutes=%d deliveries=%d batches=%d",
                        swept.points,
                        swept.minutes,
                        swept.deliveries,
                        swept.batches,
                    )
            await asyncio.sleep(SWEEP_INTERVAL_S)
