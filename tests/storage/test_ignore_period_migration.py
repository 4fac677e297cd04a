"""Migration 0015 on every backend: existing templates get an offline ignore period of 0 (off),
a stored period reads back, and it downgrades cleanly."""

from alembic import command
from sqlalchemy import Connection, text

from pinbase.settings import Settings
from pinbase.storage.engines import create_engine, database_url
from pinbase.storage.migrate import alembic_config


def _migrate(connection: Connection, revision: str, *, down: bool = False) -> None:
    (command.downgrade if down else command.upgrade)(alembic_config(connection), revision)


async def test_existing_templates_start_with_the_period_off(settings: Settings) -> None:
    """A template made before 0015 has period 0; a period written after reads back; down to 0014
    and up again works."""
    engine = create_engine(database_url(settings.data_dir, settings.database_url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "0014")
            await connection.execute(
                text("INSERT INTO organizations (id, name, created_at) VALUES (1, 'Old', 0)")
            )
            await connection.execute(
                text(
                    "INSERT INTO templates (id, org_id, code, name, created_at)"
                    " VALUES (1, 1, 'TMPLold', 'Old', 0)"
                )
            )
            await connection.run_sync(_migrate, "0015")
            period = "SELECT offline_ignore_period FROM templates WHERE id = 1"
            assert await connection.scalar(text(period)) == 0
            await connection.execute(text("UPDATE templates SET offline_ignore_period = 300"))
            assert await connection.scalar(text(period)) == 300
            await connection.run_sync(_migrate, "0014", down=True)
            await connection.run_sync(_migrate, "0015")
            assert await connection.scalar(text(period)) == 0
    finally:
        await engine.dispose()
