"""Deleting a webhook while another transaction writes its log (a delivery ending on another
node, issue #11), on PostgreSQL where both run at once: the delete never fails on the log row
(a foreign key violation), and no log row outlives its webhook.

Same rules as ``test_contract.py``: each test gets an empty, migrated database.
"""

import asyncio

import pytest
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import create_async_engine
from test_contract import T0
from test_contract_console_sessions import add_org
from test_contract_webhooks import add_hook, log_entry

from pinbase.settings import Settings
from pinbase.storage.sql import SqlStore

pytestmark = pytest.mark.parametrize(
    "settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


async def until_blocked(settings: Settings) -> None:
    """Return once a transaction of the database waits for a lock."""
    assert settings.database_url is not None
    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    query = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
    try:
        async with engine.connect() as connection:
            async with asyncio.timeout(30):
                while not await connection.scalar(query):
                    await connection.rollback()
                    await asyncio.sleep(0.01)
    finally:
        await engine.dispose()


async def log_rows(store: SqlStore, webhook_id: int) -> int:
    """How many log rows the webhook has."""
    async with store.transaction() as tx:
        rows = await tx.read_webhook_log(webhook_id, since=0, until=T0 * 2, offset=0, limit=100)
    return len(rows)


async def test_a_log_row_written_first_is_deleted_with_the_webhook(
    store: SqlStore, settings: Settings
) -> None:
    """A log row whose transaction is open when the delete starts: the delete waits for it,
    then deletes it with the webhook."""
    hook = await add_hook(store, await add_org(store, "Acme"))
    async with store.transaction() as writer:
        await writer.save_webhook_log(log_entry(hook, "d1", at=T0))

        async def delete() -> bool:
            async with store.transaction() as tx:
                return await tx.delete_webhook(hook.id)

        deleting = asyncio.create_task(delete())
        await until_blocked(settings)  # the delete waits for the writer's lock
    assert await deleting
    assert await log_rows(store, hook.id) == 0


async def test_a_log_row_written_during_the_delete_is_dropped(
    store: SqlStore, settings: Settings
) -> None:
    """A log row written while the delete's transaction is open waits for it, then finds no
    webhook and writes nothing."""
    hook = await add_hook(store, await add_org(store, "Acme"))

    async def write() -> None:
        async with store.transaction() as tx:
            await tx.save_webhook_log(log_entry(hook, "d2", at=T0))

    async with store.transaction() as deleter:
        assert await deleter.delete_webhook(hook.id)
        writing = asyncio.create_task(write())
        await until_blocked(settings)  # the writer waits for the delete's lock
    await writing
    assert await log_rows(store, hook.id) == 0
