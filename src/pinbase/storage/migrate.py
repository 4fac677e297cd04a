"""Apply Alembic migrations at start, on SQLite and PostgreSQL alike."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from pinbase.storage.leases import MIGRATION_LOCK_KEY

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration that needs no ini file; ``connection`` is used by env.py."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the database schema up to the newest migration.

    On SQLite, foreign keys are off while migrations run: rebuilding a referenced table (the
    only way SQLite changes a primary key, migration 0004) drops it for a moment, which SQLite
    would refuse or count as a violation forever. The pragma works only outside a transaction,
    so it is set before one begins; afterwards every reference is checked.

    On PostgreSQL, several nodes may start together (issue #11): the migration transaction
    first takes an advisory lock, so they migrate one after the other and the later ones find
    the schema up to date.
    """
    sqlite = engine.dialect.name == "sqlite"
    async with engine.connect() as connection:
        if sqlite:
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()
        try:
            async with connection.begin():
                if not sqlite:
                    await connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
                await connection.run_sync(
                    lambda sync: command.upgrade(alembic_config(sync), "head")
                )
                if sqlite:
                    broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                await connection.commit()
