"""The migrations build exactly the tables that ``storage.schema`` describes, on every backend."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from pinbase.runtime import open_store
from pinbase.settings import Settings
from pinbase.storage import schema
from pinbase.storage.engines import create_engine, database_url


def differences(connection: Connection) -> list[Any]:
    """What autogenerate would write to bring the database in line with ``schema.metadata``."""
    return list(compare_metadata(MigrationContext.configure(connection), schema.metadata))


async def test_migrated_schema_matches_the_table_definitions(settings: Settings) -> None:
    """A database migrated at start has no difference from ``schema.metadata``."""
    store = await open_store(settings)
    await store.close()
    engine = create_engine(database_url(settings.data_dir, settings.database_url))
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()
