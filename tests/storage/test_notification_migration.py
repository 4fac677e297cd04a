"""Migration 0011 on every backend: devices that show they connected before (firmware facts or
a value) start as online and long known, so an upgraded server announces no first connection
and no Online notification for them; a device never seen starts unknown; it downgrades cleanly."""

from alembic import command
from sqlalchemy import Connection, text

from pinbase.settings import Settings
from pinbase.storage.engines import create_engine, database_url
from pinbase.storage.migrate import alembic_config


def _migrate(connection: Connection, revision: str, *, down: bool = False) -> None:
    (command.downgrade if down else command.upgrade)(alembic_config(connection), revision)


async def test_devices_seen_before_the_upgrade_are_known_online(settings: Settings) -> None:
    """Of three devices, the one with hardware info and the one with a value are online since
    their creation; the silent one has no status row; down to 0010 and up again works."""
    engine = create_engine(database_url(settings.data_dir, settings.database_url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "0010")
            await connection.execute(
                text("INSERT INTO organizations (id, name, created_at) VALUES (1, 'Old', 0)")
            )
            await connection.execute(
                text(
                    "INSERT INTO templates (id, org_id, code, name, created_at)"
                    " VALUES (1, 1, 'TMPLold', 'Old', 0)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO devices (id, org_id, template_id, name, token, hardware_info,"
                    " created_at) VALUES (:id, 1, 1, :name, :token, :info, :created)"
                ),
                [
                    {"id": 1, "name": "Talker", "token": "t1", "info": "{}", "created": 11},
                    {"id": 2, "name": "Writer", "token": "t2", "info": None, "created": 22},
                    {"id": 3, "name": "Silent", "token": "t3", "info": None, "created": 33},
                ],
            )
            await connection.execute(
                text(
                    "INSERT INTO current_values (device_id, datastream_id, ts, value)"
                    " VALUES (2, 1, 5, '1')"
                )
            )
            await connection.run_sync(_migrate, "0011")
            rows = await connection.execute(
                text("SELECT device_id, online, first_connected_at FROM device_status ORDER BY 1")
            )
            assert [tuple(row) for row in rows] == [(1, True, 11), (2, True, 22)]
            await connection.run_sync(_migrate, "0010", down=True)
            await connection.run_sync(_migrate, "0011")
    finally:
        await engine.dispose()
