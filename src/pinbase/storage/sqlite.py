"""SQLite specifics: group commits run synchronously on the event loop thread.

Measured with wrk (64 connections, batch/update of 3 pins, one device, synchronous=FULL):

=====================================================  ===========  ==================
group commit path                                      requests/s   commit per group
=====================================================  ===========  ==================
aiosqlite (five loop <-> thread trips per group)            4,500          4.8 ms
own writer thread, one trip per group                        7,200          2.9 ms
on the loop thread, synchronous driver                      11,900          1.0 ms
=====================================================  ===========  ==================

A thread loses because every SQLite step and fsync releases the GIL, and taking it back means
waiting for the busy loop thread and granian's threads. Run on the loop thread, the transaction
costs what it costs on an idle process (0.6 ms for 90 rows, fsync included) and blocks the loop
only that long. WAL checkpoints, which can take longer, run on a separate thread
(``checkpoint``), never inside a group commit.

``short_transaction`` runs a ``SqlTransaction`` on a synchronous connection of its own, on the
loop thread, for the few indexed statements the outbox and the automation run log commit many
times a second (issue #10: through aiosqlite each statement costs several loop <-> thread trips,
and a webhook delivery's claim and finish cost more CPU than its HTTP call). ``_LoopConnection``
gives the transaction the part of ``AsyncConnection`` it uses, with results buffered as
aiosqlite's are. That connection commits with ``synchronous=NORMAL`` at most: an fsync per
commit on the loop thread stalled it (an in-process load of 2,000 writes/s fell 12 % behind
under FULL). In WAL mode such a commit survives a killed process; after a power
loss only the last ones before the next FULL commit (a group commit, milliseconds later, whose
fsync of the WAL covers them) can be missing, which the outbox's at-least-once rule absorbs
(docs/decisions.md, "Rules' CPU cost (session 3)"). ``_turn`` keeps it from ever waiting for the
write lock, as it does for the group-commit connection.

One rule keeps this safe: a group commit must never wait for SQLite's write lock while another
transaction holds it, because that transaction needs the blocked loop to finish (the loop would
stall for the whole busy timeout, then the group would fail). ``_turn``, an ``asyncio.Lock``,
lets one transaction at a time reach the database: ``transaction()`` and ``append_points`` both
take it, so a group commit waits for an open transaction with the loop free. Never await a
history write inside ``transaction()``.
"""

import asyncio
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, cast

import orjson
from sqlalchemy import Connection, CursorResult, Engine, Result, ScalarResult
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pinbase.domain.deliveries import Delivery
from pinbase.domain.errors import TextHoldsNul
from pinbase.domain.points import Point
from pinbase.storage.codec import dump_value, history_columns
from pinbase.storage.engines import sqlite_pragmas
from pinbase.storage.point_writes import SQLITE_FOLD, SQLITE_INSERT_HISTORY, sqlite_fold_bounds
from pinbase.storage.sql import SqlStore, SqlTransaction
from pinbase.storage.sql_outbox import delivery_row, insert_deliveries

# Each group travels as one JSON array bound to one parameter: one statement step per table
# instead of one per row, each of which would release and retake the GIL.
_UPSERT_CURRENT = (
    "INSERT INTO current_values (device_id, datastream_id, ts, value) "
    "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?) WHERE true "
    "ON CONFLICT (device_id, datastream_id) DO UPDATE SET ts = excluded.ts, value = excluded.value "
    "WHERE excluded.ts >= current_values.ts"
)


class SqliteStore(SqlStore):
    """``SqlStore`` with a synchronous group-commit connection and background checkpoints."""

    def __init__(self, engine: AsyncEngine, *, synchronous: str) -> None:
        super().__init__(engine)
        sync_url = engine.url.set(drivername="sqlite+pysqlite")
        self._writer: Engine = create_sync_engine(sync_url, pool_size=1, max_overflow=0)
        sqlite_pragmas(self._writer, synchronous, autocheckpoint=False)
        self._short: Engine = create_sync_engine(sync_url, pool_size=1, max_overflow=0)
        sqlite_pragmas(self._short, _at_most_normal(synchronous), autocheckpoint=False)
        self._checkpointer: Engine = create_sync_engine(sync_url, pool_size=1, max_overflow=0)
        sqlite_pragmas(self._checkpointer, synchronous)
        self._checkpoint_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint")
        self._turn = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        """A transaction on the async engine, taken in turn with group commits."""
        async with self._turn, super().transaction() as tx:
            yield tx

    @asynccontextmanager
    async def short_transaction(self) -> AsyncIterator[SqlTransaction]:
        """A transaction on a synchronous connection, run on the loop thread (see the module
        docstring): for a few indexed statements, never a scan or a bulk read."""
        async with self._turn:
            with self._short.begin() as connection:
                try:
                    yield SqlTransaction(cast("AsyncConnection", _LoopConnection(connection)))
                except StatementError as error:
                    if isinstance(error.orig, TextHoldsNul):
                        raise error.orig from None
                    raise

    async def append_points(
        self,
        points: Sequence[Point],
        *,
        current: Sequence[Point],
        deliveries: Sequence[Delivery] = (),
    ) -> None:
        """Append history points, raise current values and add deliveries, in one committed
        transaction."""
        history_rows = orjson.dumps(
            [(p.device_id, p.datastream_id, p.ts, *history_columns(p.value)) for p in points]
        ).decode()
        current_rows = orjson.dumps(
            [(p.device_id, p.datastream_id, p.ts, dump_value(p.value)) for p in current]
        ).decode()
        outbox_rows = [delivery_row(delivery) for delivery in deliveries]
        async with self._turn:
            self._commit_group(history_rows, current_rows, outbox_rows)

    def _commit_group(
        self, history_rows: str, current_rows: str, outbox_rows: list[dict[str, object]]
    ) -> None:
        with self._writer.begin() as connection:
            raw = connection.exec_driver_sql(SQLITE_INSERT_HISTORY, (history_rows,))
            bounds = sqlite_fold_bounds(raw.lastrowid, raw.rowcount)
            connection.exec_driver_sql(SQLITE_FOLD, bounds)
            connection.exec_driver_sql(_UPSERT_CURRENT, (current_rows,))
            if outbox_rows:  # deliveries are rare beside points: no statement when none
                connection.execute(insert_deliveries("sqlite"), outbox_rows)

    async def checkpoint(self) -> None:
        """Copy the WAL back into the database file without blocking writers or the loop."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._checkpoint_thread, self._checkpoint)

    def _checkpoint(self) -> None:
        with self._checkpointer.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    async def close(self) -> None:
        """Stop the checkpoint thread and close every engine."""
        self._checkpoint_thread.shutdown(wait=True)
        self._writer.dispose()
        self._short.dispose()
        self._checkpointer.dispose()
        await super().close()


def _at_most_normal(synchronous: str) -> str:
    """``synchronous`` lowered to NORMAL (OFF stays OFF)."""
    return "OFF" if synchronous.upper() == "OFF" else "NORMAL"


class _LoopConnection:
    """What ``SqlTransaction`` uses of an ``AsyncConnection`` (``execute``, ``scalar``,
    ``scalars``, ``exec_driver_sql``, ``dialect``) over a synchronous connection: each call
    runs at once on the loop thread. Rows are fetched before returning, as aiosqlite's cursor
    does, so that no statement stays open past the next one or the commit."""

    def __init__(self, connection: Connection) -> None:
        self._sync = connection
        self.dialect = connection.dialect

    async def execute(self, statement: Any, parameters: Any = None, **kwargs: Any) -> Any:
        return _buffered(self._sync.execute(statement, parameters, **kwargs))

    async def scalar(self, statement: Any, parameters: Any = None, **kwargs: Any) -> Any:
        return self._sync.scalar(statement, parameters, **kwargs)

    async def scalars(
        self, statement: Any, parameters: Any = None, **kwargs: Any
    ) -> ScalarResult[Any]:
        return _buffered(self._sync.execute(statement, parameters, **kwargs)).scalars()

    async def exec_driver_sql(self, statement: str, parameters: Any = None, **kwargs: Any) -> Any:
        return _buffered(self._sync.exec_driver_sql(statement, parameters, **kwargs))


def _buffered(result: CursorResult[Any]) -> Result[Any]:
    """``result`` with its rows fetched (a statement without rows keeps its ``rowcount``)."""
    if not result.returns_rows:
        return result
    return result.freeze()()
