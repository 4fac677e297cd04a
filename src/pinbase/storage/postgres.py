"""PostgreSQL specifics: a group commit is one statement on the bare asyncpg connection.

A group of points (``append_points``) is ``point_writes.POSTGRES_APPEND``: history rows, minute
aggregates and current values in one statement, run outside any ``BEGIN``, so PostgreSQL commits
it on its own when it ends (durably: ``synchronous_commit`` is on by default). That is one round
trip per group where SQLAlchemy's transaction took five (``BEGIN``, the executemany insert, the
fold, the current-value executemany, ``COMMIT``), and the statement skips SQLAlchemy's
compilation and per-row parameter processing. asyncpg prepares it once per connection and
keeps it in its statement cache.

Measured with bench/device_http.py (wrk, 64 connections, 1,000 devices, PostgreSQL 15 with
fsync on, on a shared 2-core machine): see docs/decisions.md, "PostgreSQL write path (issue
#11)".

A group with outbox deliveries (rare beside points) takes the ordinary transaction, where the
same statement runs through SQLAlchemy beside the outbox insert, so both commit together.
"""

from collections.abc import Sequence
from typing import Any

from asyncpg.exceptions import InternalClientError

from pinbase.domain.deliveries import Delivery
from pinbase.domain.points import Point
from pinbase.storage.availability import REFUSED_BEFORE_SENDING
from pinbase.storage.point_writes import POSTGRES_APPEND, postgres_append_arguments
from pinbase.storage.sql import SqlStore

MAX_STALE_CONNECTIONS = 20
"""How many closed connections a group skips before it fails: more than the pool holds (5, plus
10 overflow), so after a restart of the server one group clears them all."""


class PostgresStore(SqlStore):
    """``SqlStore`` whose group commits are one statement on the driver connection."""

    async def append_points(
        self,
        points: Sequence[Point],
        *,
        current: Sequence[Point],
        deliveries: Sequence[Delivery] = (),
    ) -> None:
        """Append history points, raise current values and add deliveries, in one committed
        transaction."""
        if deliveries:
            await super().append_points(points, current=current, deliveries=deliveries)
            return
        if not points and not current:
            return
        arguments = postgres_append_arguments(points, current)
        for _ in range(MAX_STALE_CONNECTIONS):
            async with self._engine.connect() as connection:
                # SQLAlchemy has begun no transaction on it: nothing ran through it, and giving
                # it back to the pool rolls back nothing (no round trip).
                fairy = await connection.get_raw_connection()
                driver: Any = fairy.driver_connection
                if driver.is_closed():
                    # The server closed it while it idled in the pool (a restart): nothing was
                    # sent, so the group can go on another connection.
                    await connection.invalidate()
                    continue
                try:
                    await driver.execute(POSTGRES_APPEND, *arguments)
                except InternalClientError as error:
                    await connection.invalidate()
                    if str(error).startswith(REFUSED_BEFORE_SENDING):
                        # The server's goodbye (a terminated backend) arrived while the
                        # connection idled, but its socket's end had not: the driver refused
                        # the statement before sending a byte, so the group goes on another
                        # connection.
                        continue
                    raise
                except BaseException:
                    if driver.is_closed():
                        # Lost while the statement ran: it may or may not have committed, so
                        # the group fails (its callers are not acknowledged) and the connection
                        # leaves the pool.
                        await connection.invalidate()
                    raise
                return
        raise ConnectionError("every pooled PostgreSQL connection was closed by the server")
