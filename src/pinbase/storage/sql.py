"""The SQLAlchemy implementation of the storage contract, for SQLite and PostgreSQL alike.

Dialect differences are limited to the upsert construct, so the writes that upsert (points and
current values, properties, metafield values) live here beside ``_upsert``; every other query is
portable Core SQL in a mixin module, one concept each: ``sql_catalog``, ``sql_organizations``,
``sql_oauth``, ``sql_device_logs``, ``sql_device_admin``, ``sql_device_records``, ``sql_history``,
``sql_retention``, ``sql_users``, ``sql_console_sessions``, ``sql_outbox``,
``sql_notifications``, ``sql_webhooks`` and ``sql_legacy_imports``.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pinbase.domain.deliveries import Delivery
from pinbase.domain.errors import TextHoldsNul
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.points import Point
from pinbase.storage import schema
from pinbase.storage.codec import dump_value, history_columns
from pinbase.storage.leases import AdvisoryLease, SoleLease
from pinbase.storage.point_writes import (
    POSTGRES_APPEND,
    SQLITE_FOLD,
    SQLITE_INSERT_HISTORY,
    postgres_append_arguments,
    sqlite_fold_bounds,
)
from pinbase.storage.sql_automations import SqlAutomations
from pinbase.storage.sql_catalog import SqlCatalogQueries
from pinbase.storage.sql_console_sessions import SqlConsoleSessions
from pinbase.storage.sql_device_admin import SqlDeviceAdmin
from pinbase.storage.sql_device_logs import SqlDeviceLogs
from pinbase.storage.sql_device_records import SqlDeviceRecords
from pinbase.storage.sql_firmware import SqlFirmware
from pinbase.storage.sql_history import SqlHistoryQueries
from pinbase.storage.sql_legacy_imports import SqlLegacyImports
from pinbase.storage.sql_notifications import SqlNotificationQueries
from pinbase.storage.sql_oauth import SqlOAuthQueries
from pinbase.storage.sql_organizations import SqlOrganizationQueries
from pinbase.storage.sql_outbox import SqlOutbox
from pinbase.storage.sql_push_subscriptions import SqlPushSubscriptions
from pinbase.storage.sql_retention import SqlRetentionQueries
from pinbase.storage.sql_segments import SqlSegments
from pinbase.storage.sql_templates import SqlTemplateQueries
from pinbase.storage.sql_users import SqlUserQueries
from pinbase.storage.sql_webhooks import SqlWebhooks


def _upsert(dialect: str, table: Table, keys: list[str], *, newer_only: bool = False) -> Any:
    """``INSERT … ON CONFLICT (keys) DO UPDATE`` of every other column, on either dialect.

    With ``newer_only`` a conflicting row is replaced only by a row with a ``ts`` at least as new.
    """
    statement: sqlite.Insert | postgresql.Insert = (
        sqlite.insert(table) if dialect == "sqlite" else postgresql.insert(table)
    )
    updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_=updates,
        where=(statement.excluded.ts >= table.c.ts) if newer_only else None,
    )


class SqlStore:
    """A ``Store`` over an async SQLAlchemy engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator["SqlTransaction"]:
        """Open a transaction that commits on a clean exit and rolls back on an exception.

        Raises:
            TextHoldsNul: a query bound text holding NUL for a text column; SQLAlchemy wraps
                what a column type raises in a ``StatementError``, unwrapped here.
        """
        async with self._engine.begin() as connection:
            try:
                yield SqlTransaction(connection)
            except StatementError as error:
                if isinstance(error.orig, TextHoldsNul):
                    raise error.orig from None
                raise

    def short_transaction(self) -> AbstractAsyncContextManager["SqlTransaction"]:
        """A transaction of a few indexed statements (``Store.short_transaction``); a plain
        one here, cheaper on SQLite (``SqliteStore``)."""
        return self.transaction()

    async def append_points(
        self,
        points: Sequence[Point],
        *,
        current: Sequence[Point],
        deliveries: Sequence[Delivery] = (),
    ) -> None:
        """Append history points, raise current values and add deliveries, in one committed
        transaction."""
        async with self.transaction() as tx:
            await tx.append_points(points, current=current)
            await tx.add_deliveries(deliveries)

    async def checkpoint(self) -> None:
        """Nothing to do: PostgreSQL checkpoints on its own."""

    def leader_lease(self) -> AdvisoryLease | SoleLease:
        """The installation's leader lease (``storage.leases``): an advisory lock on PostgreSQL;
        SQLite's one process always holds it."""
        if self.dialect == "sqlite":
            return SoleLease()
        return AdvisoryLease(self._engine)

    async def close(self) -> None:
        """Dispose of the connection pool."""
        await self._engine.dispose()


class SqlTransaction(
    SqlAutomations,
    SqlCatalogQueries,
    SqlOrganizationQueries,
    SqlOAuthQueries,
    SqlUserQueries,
    SqlDeviceAdmin,
    SqlDeviceRecords,
    SqlDeviceLogs,
    SqlHistoryQueries,
    SqlRetentionQueries,
    SqlConsoleSessions,
    SqlTemplateQueries,
    SqlPushSubscriptions,
    SqlSegments,
    SqlWebhooks,
    SqlOutbox,
    SqlNotificationQueries,
    SqlFirmware,
    SqlLegacyImports,
):
    """A ``Transaction`` bound to one connection inside ``SqlStore.transaction``."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection
        self._dialect = connection.dialect.name

    async def append_points(self, points: Sequence[Point], *, current: Sequence[Point]) -> None:
        """Append history points and raise current values to ``current`` where newer."""
        if self._dialect != "sqlite":
            # One statement for everything (storage.point_writes); the hot path, a group
            # commit, runs it on the bare driver connection instead (storage.postgres).
            if points or current:
                await self._db.exec_driver_sql(
                    POSTGRES_APPEND, postgres_append_arguments(points, current)
                )
            return
        if points:
            # Raw rows, then their minute aggregates (storage.point_writes).
            columns = [
                (p.device_id, p.datastream_id, p.ts, *history_columns(p.value)) for p in points
            ]
            raw = await self._db.exec_driver_sql(
                SQLITE_INSERT_HISTORY, (orjson.dumps(columns).decode(),)
            )
            bounds = sqlite_fold_bounds(raw.lastrowid, raw.rowcount)
            await self._db.exec_driver_sql(SQLITE_FOLD, bounds)
        if current:
            await self._db.execute(
                _upsert(
                    self._dialect,
                    schema.current_values,
                    ["device_id", "datastream_id"],
                    newer_only=True,
                ),
                [
                    {
                        "device_id": p.device_id,
                        "datastream_id": p.datastream_id,
                        "ts": p.ts,
                        "value": dump_value(p.value),
                    }
                    for p in current
                ],
            )

    async def set_property(
        self, device_id: DeviceId, datastream_id: DatastreamId, *, name: str, value: str, ts: int
    ) -> None:
        """Store (or overwrite) one property of a device's datastream; ``value`` is JSON text."""
        await self._db.execute(
            _upsert(self._dialect, schema.properties, ["device_id", "datastream_id", "name"]),
            {
                "device_id": device_id,
                "datastream_id": datastream_id,
                "name": name,
                "value": value,
                "updated_at": ts,
            },
        )

    async def set_metafield_value(self, device_id: DeviceId, metafield_id: int, value: str) -> None:
        """Store a device's value for one metafield."""
        await self._db.execute(
            _upsert(self._dialect, schema.metafield_values, ["device_id", "metafield_id"]),
            {"device_id": device_id, "metafield_id": metafield_id, "value": value},
        )

    async def _insert_returning_id(self, table: Any, values: dict[str, Any]) -> int:
        result = await self._db.execute(table.insert().values(**values).returning(table.c.id))
        return int(result.scalar_one())
