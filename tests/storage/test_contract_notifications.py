"""Notification settings, the notification log and the planner's limit state (migration 0011) on
every backend.

Same rules as ``test_contract.py``: each test gets an empty, migrated database.
"""

from dataclasses import replace
from typing import Any

from test_contract import T0, add_devices

from pinbase.domain.ids import DeviceId, EventId, OrgId
from pinbase.domain.notifications import (
    ALL_MEMBERS,
    DEVICE_OWNER,
    METAFIELD,
    USER,
    EventNotifications,
    LimitState,
    Recipient,
)
from pinbase.domain.templates import TemplateEvent
from pinbase.storage.notifications import NotificationRecord
from pinbase.storage.sql import SqlStore

NOTIFYING = TemplateEvent(
    id=EventId(9),
    code="leak",
    name="Leak",
    type="CRITICAL",
    notifications=EventNotifications(
        enabled=True,
        email=(Recipient(kind=DEVICE_OWNER), Recipient(kind=METAFIELD, metafield_id=2)),
        push=(Recipient(kind=USER, user_id=12), Recipient(kind=ALL_MEMBERS)),
        deliver_as_alert=True,
        limit_period_s=3600,
        every_n=5,
        allow_user_management=True,
    ),
    show_on_timeline=False,
    send_to_notifications_tab=False,
)


def record(org_id: OrgId, device_id: DeviceId | None, **fields: Any) -> NotificationRecord:
    """A QUEUED e-mail row unless ``fields`` say otherwise."""
    base = NotificationRecord(
        created_at=T0,
        org_id=org_id,
        device_id=device_id,
        source="EVENT",
        channel="EMAIL",
        status="QUEUED",
    )
    return replace(base, **fields)


async def test_event_notification_settings_round_trip(store: SqlStore) -> None:
    """Every notification setting of an event and its timeline switches read back as saved."""
    (device,) = await add_devices(store, 1)
    async with store.transaction() as tx:
        template = await tx.load_template(device.template_id)
        assert template is not None
        assert all(e.notifications == EventNotifications() for e in template.events)
        await tx.save_template(
            type(template)(
                id=template.id,
                code=template.code,
                org_id=template.org_id,
                name=template.name,
                datastreams=template.datastreams,
                events=(*template.events, NOTIFYING),
                metafields=template.metafields,
            )
        )
    async with store.transaction() as tx:
        reloaded = await tx.load_template(device.template_id)
    assert reloaded is not None
    assert reloaded.event("leak") == NOTIFYING


async def test_log_rows_list_newest_first_by_org_device_user_and_channel(store: SqlStore) -> None:
    """The log lists one organization's rows, newest first, filtered and paged."""
    first, second = await add_devices(store, 2)
    org = first.org_id
    async with store.transaction() as tx:
        await tx.add_notification_records(
            [
                record(org, first.id, recipient="a***@x.io"),
                record(org, second.id, channel="PUSH", recipient="user:4", user_id=4),
                record(org, None, channel="-", status="SUPPRESSED", reason="RATE_1S"),
                record(OrgId(org + 1000), first.id),
            ]
        )
    async with store.transaction() as tx:
        everything = await tx.list_notification_records(org, limit=10)
        assert [r.channel for r in everything] == ["-", "PUSH", "EMAIL"]
        assert everything[0].reason == "RATE_1S"
        by_device = await tx.list_notification_records(org, device_id=first.id, limit=10)
        assert [r.recipient for r in by_device] == ["a***@x.io"]
        by_user = await tx.list_notification_records(org, user_id=4, channel="PUSH", limit=10)
        assert [r.device_id for r in by_user] == [second.id]
        older = await tx.list_notification_records(org, before_id=everything[1].id, limit=10)
        assert older == [everything[2]]


async def test_a_final_outcome_updates_the_row_that_queued_it(store: SqlStore) -> None:
    """``finish_notification`` marks the row with that outbox id only."""
    (device,) = await add_devices(store, 1)
    async with store.transaction() as tx:
        await tx.add_notification_records(
            [
                record(device.org_id, device.id, outbox_id="a" * 32),
                record(device.org_id, device.id, outbox_id="b" * 32),
            ]
        )
        await tx.finish_notification(
            "a" * 32, status="FAILED", reason="GAVE_UP", attempts=7, error="451 try later"
        )
    async with store.transaction() as tx:
        rows = {r.outbox_id: r for r in await tx.list_notification_records(device.org_id, limit=5)}
    assert (rows["a" * 32].status, rows["a" * 32].reason, rows["a" * 32].attempts) == (
        "FAILED",
        "GAVE_UP",
        7,
    )
    assert rows["a" * 32].last_error == "451 try later"
    assert rows["b" * 32].status == "QUEUED"


async def test_limit_state_is_kept_per_device_and_event_and_reset_by_other_limits(
    store: SqlStore,
) -> None:
    """Saved state reads back under the same limits key and starts afresh under another."""
    first, second = await add_devices(store, 2)
    async with store.transaction() as tx:
        assert await tx.load_limit_state(first.id, 1, limits_key="5:0") == LimitState()
        await tx.save_limit_state(first.id, 1, limits_key="5:0", state=LimitState(count=3))
        await tx.save_limit_state(
            first.id, 1, limits_key="5:0", state=LimitState(count=4, period_started_at=T0)
        )
    async with store.transaction() as tx:
        assert await tx.load_limit_state(first.id, 1, limits_key="5:0") == LimitState(
            count=4, period_started_at=T0
        )
        assert await tx.load_limit_state(first.id, 1, limits_key="1:60") == LimitState()
        assert await tx.load_limit_state(second.id, 1, limits_key="5:0") == LimitState()
        assert await tx.load_limit_state(first.id, 2, limits_key="5:0") == LimitState()


async def test_last_message_times_and_quota_uses_are_kept_and_purged(store: SqlStore) -> None:
    """Last-message times overwrite per (device, channel); quota uses count since a time; the
    purge drops old log rows and quota uses."""
    (device,) = await add_devices(store, 1)
    org = device.org_id
    async with store.transaction() as tx:
        assert await tx.last_message_at(device.id, "EMAIL") is None
        await tx.set_last_message_at(device.id, "EMAIL", ts=T0)
        await tx.set_last_message_at(device.id, "EMAIL", ts=T0 + 9)
        await tx.set_last_message_at(device.id, "PUSH", ts=T0 + 1)
        for ts in (T0, T0 + 10, T0 + 20):
            await tx.add_quota_use(org, ts=ts)
        await tx.add_notification_records(
            [record(org, device.id, created_at=T0), record(org, device.id, created_at=T0 + 50)]
        )
    async with store.transaction() as tx:
        assert await tx.last_message_at(device.id, "EMAIL") == T0 + 9
        assert await tx.last_message_at(device.id, "PUSH") == T0 + 1
        assert await tx.count_quota_uses(org, since=T0 + 10) == 2
        assert await tx.count_quota_uses(OrgId(org + 1), since=T0) == 0
        assert await tx.purge_notifications(log_before=T0 + 1, quota_before=T0 + 15) == 1
    async with store.transaction() as tx:
        assert await tx.count_quota_uses(org, since=0) == 1
        assert len(await tx.list_notification_records(org, limit=5)) == 1


async def test_presence_is_remembered_with_the_first_connection(store: SqlStore) -> None:
    """The first record finds nothing before; later ones find the last status and keep the
    first connection time."""
    (device,) = await add_devices(store, 1)
    async with store.transaction() as tx:
        first = await tx.record_presence(device.id, online=True, ts=T0)
        assert (first.was_online, first.first_connected_at) == (None, T0)
        second = await tx.record_presence(device.id, online=False, ts=T0 + 5)
        assert (second.was_online, second.first_connected_at) == (True, T0)
    async with store.transaction() as tx:
        third = await tx.record_presence(device.id, online=True, ts=T0 + 9)
    assert (third.was_online, third.first_connected_at) == (False, T0)


async def test_first_connections_are_read_for_many_devices(store: SqlStore) -> None:
    """Devices that connected answer their first connection time; others are absent."""
    connected, reconnected, never = await add_devices(store, 3)
    async with store.transaction() as tx:
        await tx.record_presence(connected.id, online=True, ts=T0)
        await tx.record_presence(reconnected.id, online=True, ts=T0 + 1)
        await tx.record_presence(reconnected.id, online=False, ts=T0 + 2)
        await tx.record_presence(reconnected.id, online=True, ts=T0 + 3)
    async with store.transaction() as tx:
        found = await tx.read_first_connections([connected.id, reconnected.id, never.id])
        assert found == {connected.id: T0, reconnected.id: T0 + 1}
        assert await tx.read_first_connections([]) == {}


async def test_cancelling_marks_only_queued_rows_of_the_reference(store: SqlStore) -> None:
    """Queued rows of the reference become CANCELLED; finished and other rows stay."""
    (device,) = await add_devices(store, 1)
    org = device.org_id
    async with store.transaction() as tx:
        await tx.add_notification_records(
            [
                record(org, device.id, source_ref="status:1"),
                record(org, device.id, source_ref="status:1", status="SENT"),
                record(org, device.id, source_ref="status:2"),
            ]
        )
        assert await tx.cancel_notification_records("status:1") == 1
    async with store.transaction() as tx:
        rows = await tx.list_notification_records(org, limit=5)
    assert [(r.source_ref, r.status) for r in rows] == [
        ("status:2", "QUEUED"),
        ("status:1", "SENT"),
        ("status:1", "CANCELLED"),
    ]
