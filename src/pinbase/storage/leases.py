"""The leader lease: which node of an installation runs the once-per-installation work.

On PostgreSQL the lease is a session-level advisory lock (``pg_try_advisory_lock``) held on a
connection of its own, outside the pool's traffic. PostgreSQL releases the lock when that
session ends: at once when the node stops or is killed (the kernel closes its socket), and when
a vanished machine's connection times out; the session asks the server for short TCP keepalives
(``KEEPALIVE_*``) so that this takes seconds, not the two hours of the kernel's default. The
node itself learns that it lost the lease when its connection stops answering
(``AdvisoryLease.holds``), before the server gives the lock to another node.

On SQLite the database belongs to one process, which is always the leader (``SoleLease``).
"""

import asyncio
import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

LEADER_LOCK_KEY = 0x70_69_6E_62_61_73_65
"""The advisory lock's key: "pinbase" in ASCII. Advisory locks are per database, so two
installations on one PostgreSQL server (two databases) each have their own leader."""

MIGRATION_LOCK_KEY = LEADER_LOCK_KEY + 1
"""The transaction lock migrations take (``storage.migrate``): nodes starting together migrate
one after the other, the later ones finding nothing to do."""

KEEPALIVE_IDLE_S = 5
KEEPALIVE_INTERVAL_S = 2
KEEPALIVE_COUNT = 3
"""The server drops the session of a leader that vanished (power loss, network cut) after about
idle + interval x count = 11 s of silence; the leader itself gives the lease up after
``QUERY_TIMEOUT_S`` without an answer, earlier, so two leaders never overlap in that case."""

QUERY_TIMEOUT_S = 5.0
"""How long the lease's queries may take before the connection counts as lost."""


class AdvisoryLease:
    """The leader lease of a PostgreSQL installation (see the module)."""

    def __init__(self, engine: AsyncEngine, *, key: int = LEADER_LOCK_KEY) -> None:
        self._engine = engine
        self._key = key
        self._connection: AsyncConnection | None = None
        self._held = False

    async def acquire(self) -> bool:
        """Try once to take the lease, without waiting; whether this node holds it now.

        Raises:
            Exception: the database cannot be reached (the caller tries again later).
        """
        try:
            async with asyncio.timeout(QUERY_TIMEOUT_S):
                if self._connection is None:
                    self._connection = await self._engine.connect()
                    for name, value in (
                        ("tcp_keepalives_idle", KEEPALIVE_IDLE_S),
                        ("tcp_keepalives_interval", KEEPALIVE_INTERVAL_S),
                        ("tcp_keepalives_count", KEEPALIVE_COUNT),
                    ):
                        await self._connection.execute(text(f"SET {name} = {value}"))
                held = await self._connection.scalar(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
                )
                # The lock belongs to the session; ending the transaction keeps it.
                await self._connection.commit()
        except BaseException:
            await self._drop()
            raise
        self._held = bool(held)
        return self._held

    async def holds(self) -> bool:
        """Whether the lease is still this node's: its session answers (a lost connection has
        lost the lock with it)."""
        if self._connection is None or not self._held:
            return False
        try:
            async with asyncio.timeout(QUERY_TIMEOUT_S):
                await self._connection.scalar(text("SELECT 1"))
                await self._connection.commit()
        except Exception:
            logger.warning("leader.connection_lost", exc_info=True)
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        """Give the lease up (a clean stop): another node may take it at once."""
        if self._connection is not None and self._held:
            try:
                async with asyncio.timeout(QUERY_TIMEOUT_S):
                    await self._connection.scalar(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                    )
                    await self._connection.commit()
            except Exception:
                logger.warning("leader.release_failed", exc_info=True)
        await self._drop()

    async def _drop(self) -> None:
        """Close the lease's connection, whatever state it is in; its session (and lock) end."""
        connection, self._connection = self._connection, None
        self._held = False
        if connection is None:
            return
        with contextlib.suppress(Exception):
            await connection.invalidate()
        with contextlib.suppress(Exception):
            await connection.close()


class SoleLease:
    """The lease of a database only one process uses (SQLite): always held."""

    async def acquire(self) -> bool:
        """Always taken."""
        return True

    async def holds(self) -> bool:
        """Always held."""
        return True

    async def release(self) -> None:
        """Nothing to give up."""
