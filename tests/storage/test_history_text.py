"""History text holding NUL or backslashes, on every backend and append path, and migration 0005.

PostgreSQL ``text`` cannot hold NUL, the separator of multi-value strings; history stores text
escaped (``storage.codec.escape_text``) on both dialects and reads it back as written.
"""

import pytest
from alembic import command
from sqlalchemy import Connection, text
from test_contract import (
    MESSAGE,
    T0,
    Append,
    add_devices,
    append_in_transaction,
    append_with_store,
)

from pinbase.domain.ids import DeviceId
from pinbase.domain.points import Point
from pinbase.runtime import open_store
from pinbase.settings import Settings
from pinbase.storage.base import HistoryRow, Store
from pinbase.storage.engines import create_engine, database_url
from pinbase.storage.migrate import alembic_config

TEXTS = ["", "a\\0", "\\", "\\\\0\0", "\0", "[1.5,2.5]", "plain", "a\0b"]
"""NUL, the escape's own spelling as plain text, a lone backslash, and text that needs none."""


@pytest.fixture(params=[append_with_store, append_in_transaction], ids=["store", "transaction"])
def append(request: pytest.FixtureRequest) -> Append:
    """Each of the two ways to append points."""
    chosen: Append = request.param
    return chosen


async def stored_texts(settings: Settings, query: str) -> list[str]:
    """One text column as the database holds it."""
    engine = create_engine(database_url(settings.data_dir, settings.database_url))
    try:
        async with engine.connect() as connection:
            return [row[0] for row in await connection.execute(text(query))]
    finally:
        await engine.dispose()


async def test_text_with_nul_and_backslashes_reads_back_as_written(
    settings: Settings, store: Store, append: Append
) -> None:
    """Raw reads and pages return each string exactly; the columns hold no NUL."""
    (device,) = await add_devices(store, 1)
    points = [Point(device.id, MESSAGE, T0 + n, value) for n, value in enumerate(TEXTS)]
    await append(store, points, points[-1:])
    async with store.transaction() as tx:
        rows = await tx.read_history(device.id, [MESSAGE], since=T0, until=T0 + 99, limit=99)
        page = await tx.read_history_page(
            device.id, MESSAGE, since=T0, until=T0 + 99, offset=0, limit=99
        )
    expected = [
        HistoryRow(datastream_id=MESSAGE, ts=T0 + n, num=None, text=value)
        for n, value in enumerate(TEXTS)
    ]
    assert rows == expected
    assert page == expected[::-1]
    raw = await stored_texts(settings, "SELECT text FROM history ORDER BY ts")
    assert raw == ["", "a\\\\0", "\\\\", "\\\\\\\\0\\0", "\\0", "[1.5,2.5]", "plain", "a\\0b"]
    # One minute: it keeps the last point's text, escaped like the raw row.
    assert await stored_texts(settings, "SELECT last_text FROM history_minutes") == ["a\\0b"]


async def test_points_with_nul_share_a_group_with_other_devices(store: Store) -> None:
    """One group holding NUL text and other devices' numbers commits whole."""
    first, second = await add_devices(store, 2)
    points = [Point(first.id, MESSAGE, T0, "x\0y"), Point(second.id, MESSAGE, T0, "z")]
    await store.append_points(points, current=points)
    async with store.transaction() as tx:
        assert await tx.count_points() == 2
        assert set(await tx.load_current_values()) == set(points)


def _migrate(connection: Connection, revision: str, *, down: bool = False) -> None:
    (command.downgrade if down else command.upgrade)(alembic_config(connection), revision)


async def test_migration_escapes_history_text_stored_before_it(settings: Settings) -> None:
    """0005 escapes old rows with a backslash (or NUL, on SQLite) and leaves the rest; the store
    then reads every one back as it was, and a downgrade restores the old bytes."""
    sqlite = settings.database_url is None
    old = ["back\\slash", "a\\0", "[1.5,2.5]", "plain"] + (["a\0b"] if sqlite else [])
    engine = create_engine(database_url(settings.data_dir, settings.database_url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "0004")
            await connection.execute(
                text(
                    "INSERT INTO history (device_id, datastream_id, ts, text)"
                    " VALUES (1, 3, :ts, :t)"
                ),
                [{"ts": T0 + n, "t": value} for n, value in enumerate(old)],
            )
            await connection.execute(
                text(
                    "INSERT INTO history_minutes (device_id, datastream_id, minute, count,"
                    " num_count, last_ts, last_text) VALUES (1, 3, :minute, 1, 0, :minute, :t)"
                ),
                [{"minute": T0 + n, "t": value} for n, value in enumerate(old)],
            )
            await connection.run_sync(_migrate, "0005")
            history = (await connection.execute(text("SELECT text FROM history ORDER BY ts"))).all()
            minutes = (
                await connection.execute(
                    text("SELECT last_text FROM history_minutes ORDER BY minute")
                )
            ).all()
        escaped = ["back\\\\slash", "a\\\\0", "[1.5,2.5]", "plain"] + (["a\\0b"] if sqlite else [])
        assert [row[0] for row in history] == escaped
        assert [row[0] for row in minutes] == escaped
        store = await open_store(settings)
        try:
            async with store.transaction() as tx:
                rows = await tx.read_history(
                    DeviceId(1), [MESSAGE], since=T0, until=T0 + 99, limit=99
                )
            await store.append_points([Point(DeviceId(1), MESSAGE, T0 + 99, "n\0")], current=[])
        finally:
            await store.close()
        assert [row.text for row in rows] == old
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "0004", down=True)
            history = (await connection.execute(text("SELECT text FROM history ORDER BY ts"))).all()
        # PostgreSQL cannot take NUL back: that row stays escaped.
        assert [row[0] for row in history] == [*old, "n\0" if sqlite else "n\\0"]
    finally:
        await engine.dispose()
