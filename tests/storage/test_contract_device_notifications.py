"""Migration 0016 on every backend: devices' per-event notification overrides (automations.md
§1.5), the "Show on timeline" copied onto each occurrence (§1.10) and the actions log's client.

Same rules as ``test_contract.py``: each test gets an empty, migrated database.
"""

from alembic import command
from sqlalchemy import Connection, text
from test_contract import T0, add_devices

from pinbase.domain.device_notifications import ChannelChoice, DeviceEventSettings
from pinbase.domain.ids import EventId
from pinbase.domain.notifications import ALL_MEMBERS, USER, Recipient
from pinbase.domain.pins import Pin, PinType
from pinbase.domain.templates import TemplateEvent
from pinbase.settings import Settings
from pinbase.storage.device_records import CLIENT_AUTOMATION, DeviceAction
from pinbase.storage.engines import create_engine, database_url
from pinbase.storage.migrate import alembic_config
from pinbase.storage.sql import SqlStore

MUTED = DeviceEventSettings(
    email=ChannelChoice(enabled=True, recipients=(Recipient(kind=USER, user_id=4),)),
    push=ChannelChoice(recipients=(Recipient(kind=ALL_MEMBERS),)),
    muted_until=T0 + 3_600_000,
)


async def test_overrides_round_trip_replace_and_go_with_the_device(store: SqlStore) -> None:
    """An override reads back as saved, a second save replaces it, the device's list holds it,
    another device has none, and deleting the device deletes it."""
    first, second = await add_devices(store, 2)
    async with store.transaction() as tx:
        assert await tx.load_device_event_settings(first.id, 9) is None
        await tx.save_device_event_settings(first.id, 9, MUTED, ts=T0)
        await tx.save_device_event_settings(first.id, 10, DeviceEventSettings(), ts=T0)
    async with store.transaction() as tx:
        assert await tx.load_device_event_settings(first.id, 9) == MUTED
        unmuted = DeviceEventSettings(email=MUTED.email)
        await tx.save_device_event_settings(first.id, 9, unmuted, ts=T0 + 1)
    async with store.transaction() as tx:
        assert await tx.list_device_event_settings(first.id) == {
            9: unmuted,
            10: DeviceEventSettings(),
        }
        assert await tx.list_device_event_settings(second.id) == {}
        assert await tx.delete_device(first.id)
    async with store.transaction() as tx:
        assert await tx.list_device_event_settings(first.id) == {}


async def test_occurrences_keep_their_timeline_flag(store: SqlStore) -> None:
    """An occurrence stores the flag of its event when logged; ``visible_only`` pages and counts
    read it, not the event's current setting."""
    (device,) = await add_devices(store, 1)
    shown = TemplateEvent(id=EventId(1), code="a", name="A", type="INFORMATION")
    hidden = TemplateEvent(
        id=EventId(2), code="b", name="B", type="INFORMATION", show_on_timeline=False
    )
    async with store.transaction() as tx:
        kept = await tx.add_device_event(device.id, shown, description=None, ts=T0)
        off = await tx.add_device_event(device.id, hidden, description=None, ts=T0 + 1)
    assert (kept.visible_on_timeline, off.visible_on_timeline) == (True, False)
    async with store.transaction() as tx:
        assert await tx.count_timeline(device.id, event_type=None) == 2
        assert await tx.count_timeline(device.id, event_type=None, visible_only=True) == 1
        page = await tx.read_timeline_page(
            device.id, event_type=None, offset=0, limit=10, visible_only=True
        )
        assert [entry.id for entry in page] == [kept.id]
        everything = await tx.read_timeline_page(device.id, event_type=None, offset=0, limit=10)
        assert [entry.visible_on_timeline for entry in everything] == [False, True]


async def test_actions_keep_their_client_and_trigger_name(store: SqlStore) -> None:
    """An automation's entry reads back with its client and name."""
    (device,) = await add_devices(store, 1)
    action = DeviceAction(
        device_id=device.id,
        trigger_user_email=None,
        pin=Pin(PinType.VIRTUAL, 2),
        property=None,
        value="1",
        is_online=True,
        created_at=T0,
        client=CLIENT_AUTOMATION,
        trigger_name="Close the valve",
    )
    async with store.transaction() as tx:
        await tx.add_device_actions([action])
    async with store.transaction() as tx:
        assert await tx.read_device_actions_page(device.id, offset=0, limit=5) == [action]


def _migrate(connection: Connection, revision: str, *, down: bool = False) -> None:
    (command.downgrade if down else command.upgrade)(alembic_config(connection), revision)


async def test_migration_copies_the_current_setting_and_names_clients(settings: Settings) -> None:
    """Rows made before 0016: an occurrence of an event shown off reads hidden, the others
    shown; an action with an e-mail reads ``WEB``, without ``HTTPS_API``; down and up again
    works."""
    engine = create_engine(database_url(settings.data_dir, settings.database_url))
    statements = [
        "INSERT INTO organizations (id, name, created_at) VALUES (1, 'Old', 0)",
        "INSERT INTO templates (id, org_id, code, name, created_at)"
        " VALUES (1, 1, 'TMPLold', 'Old', 0)",
        "INSERT INTO template_events (template_id, id, code, name, type, show_on_timeline)"
        " VALUES (1, 1, 'seen', 'Seen', 'INFORMATION', true),"
        " (1, 2, 'quiet', 'Quiet', 'INFORMATION', false)",
        "INSERT INTO devices (id, org_id, template_id, name, token, created_at)"
        " VALUES (1, 1, 1, 'Old device', 'tok', 0)",
        "INSERT INTO device_events (id, device_id, event_id, code, type, ts)"
        " VALUES (1, 1, 1, 'seen', 'INFORMATION', 0), (2, 1, 2, 'quiet', 'INFORMATION', 0),"
        " (3, 1, -4, 'sys_daily_limit', 'INFORMATION', 0)",
        "INSERT INTO device_actions"
        " (id, device_id, trigger_user_email, pin_type, pin, value, is_online, created_at)"
        " VALUES (1, 1, 'ann@example.org', 'VIRTUAL', 1, '1', false, 0),"
        " (2, 1, NULL, 'VIRTUAL', 1, '2', false, 0)",
    ]
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "0015")
            for statement in statements:
                await connection.execute(text(statement))
            await connection.run_sync(_migrate, "0016")
            flags = "SELECT id, visible_on_timeline FROM device_events ORDER BY id"
            assert [tuple(row) for row in await connection.execute(text(flags))] == [
                (1, True),
                (2, False),
                (3, True),
            ]
            clients = "SELECT id, client, trigger_name FROM device_actions ORDER BY id"
            assert [tuple(row) for row in await connection.execute(text(clients))] == [
                (1, "WEB", None),
                (2, "HTTPS_API", None),
            ]
            await connection.run_sync(_migrate, "0015", down=True)
            await connection.run_sync(_migrate, "0016")
            count = "SELECT count(*) FROM device_event_notifications"
            assert await connection.scalar(text(count)) == 0
    finally:
        await engine.dispose()
