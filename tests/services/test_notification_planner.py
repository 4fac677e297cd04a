"""The notification planner (automations.md §2.4) over the real services on SQLite: event
occurrences and ad-hoc messages become outbox deliveries with §2.2/§2.3 payloads, every limit
suppresses with its reason in the notification log, and intake drops are logged."""

import base64
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hand_clock import T0, HandClock

from pinbase.domain.deliveries import Delivery, DeliveryKind
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.runtime import running_services
from pinbase.services.bus import DeviceFirstConnected, PresenceChanged
from pinbase.services.container import Services
from pinbase.services.events import EventRejected
from pinbase.services.provisioning import parse_spec, provision
from pinbase.services.reactions.messages import OutgoingMessage
from pinbase.services.reactions.notifications import Notifications
from pinbase.services.reactions.outbox import Failed, Outbox, Outcome, Sent
from pinbase.settings import Settings
from pinbase.storage.notifications import NotificationRecord
from pinbase.testing import free_port

EVERYONE = {
    "enabled": True,
    "email": [{"kind": "DEVICE_OWNER"}, {"kind": "METAFIELD", "metaFieldId": 1}],
    "push": [{"kind": "DEVICE_OWNER"}, {"kind": "ALL_MEMBERS"}],
    "deliverAsAlert": True,
}
SPEC: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [
        {"email": "owner@acme.io", "name": "Olivia", "roleId": 1, "password": "pw"},
        {"email": "staff@acme.io", "name": "Sam", "roleId": 2, "password": "pw"},
    ],
    "templates": [
        {
            "name": "Freezer",
            "metafields": [
                {"name": "Service mail", "type": "Email", "defaultValue": "ops@acme.io"},
                {"name": "Bad mail", "type": "Email", "defaultValue": "not an address"},
            ],
            "events": [
                {
                    "eventCode": "too_warm",
                    "name": "Too warm",
                    "type": "CRITICAL",
                    "description": "Above -10",
                    "notifications": EVERYONE,
                },
                {
                    "eventCode": "every_third",
                    "notifications": {
                        "enabled": True,
                        "email": [{"kind": "DEVICE_OWNER"}],
                        "everyN": 3,
                    },
                },
                {
                    "eventCode": "hourly",
                    "notifications": {
                        "enabled": True,
                        "email": [{"kind": "DEVICE_OWNER"}],
                        "limitPeriodSec": 3600,
                    },
                },
                {
                    "eventCode": "bad_address",
                    "notifications": {
                        "enabled": True,
                        "email": [{"kind": "METAFIELD", "metaFieldId": 2}],
                    },
                },
                {"eventCode": "quiet"},
                {
                    "eventCode": "sys_offline",
                    "name": "Offline",
                    "notifications": {"enabled": True, "email": [{"kind": "DEVICE_OWNER"}]},
                },
                {
                    "eventCode": "sys_online",
                    "name": "Online",
                    "notifications": {"enabled": True, "push": [{"kind": "DEVICE_OWNER"}]},
                },
            ],
        }
    ],
    "devices": [
        {"name": "Freezer 1", "template": "Freezer", "owner": "owner@acme.io"},
        {"name": "Ownerless", "template": "Freezer"},
    ],
}


@dataclass
class Recorder:
    """The EMAIL and PUSH senders: keeps what it is handed and how each ended."""

    received: list[Delivery] = field(default_factory=list)

    async def send(self, delivery: Delivery) -> Outcome:
        self.received.append(delivery)
        return Failed("PERMANENT_ERROR", "550 no") if "fail" in str(delivery.payload) else Sent()

    def of(self, kind: DeliveryKind) -> list[dict[str, Any]]:
        return [d.payload for d in self.received if d.kind is kind]


@dataclass
class World:
    """Running services with a hand clock, the provisioned ids and the recording senders."""

    services: Services
    clock: HandClock
    created: dict[str, Any]
    recorder: Recorder
    outbox: Outbox

    @property
    def org_id(self) -> OrgId:
        return OrgId(self.created["organization"]["id"])

    def device_id(self, number: int = 0) -> DeviceId:
        return DeviceId(self.created["devices"][number]["id"])

    def user_id(self, email: str) -> int:
        return next(int(u["id"]) for u in self.created["users"] if u["email"] == email)

    async def log(self, code: str, description: str | None = None, *, device: int = 0) -> None:
        """Log an event occurrence, then let the outbox send what is due."""
        bound = self.services.directory.by_id(self.device_id(device))
        assert bound is not None
        event = bound.template.event(code)
        assert event is not None
        await self.services.events.log(bound.device, event, description)
        await self.outbox.run_due()

    async def log_rows(self, **filters: Any) -> list[NotificationRecord]:
        async with self.services.store.transaction() as tx:
            return await tx.list_notification_records(self.org_id, limit=500, **filters)


def browser_keys() -> tuple[str, str]:
    """A browser's subscription keys: a P-256 public point and a 16-byte auth secret."""
    point = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = point.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    encode = base64.urlsafe_b64encode
    return encode(raw).decode().rstrip("="), encode(os.urandom(16)).decode().rstrip("=")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """Acme with a freezer template, an owned and an owner-less device, two users who each
    enabled push in a browser; SMTP configured (so e-mail is a channel). The senders are the
    recorder's, on an outbox of the test's own, driven by ``run_due``."""
    clock = HandClock()
    settings = Settings(
        data_dir=tmp_path,
        database_url=None,
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_security="none",
        smtp_from_address="pinbase@acme.io",
    )
    async with running_services(settings, clock=clock) as services:
        created = await provision(
            services.store, parse_spec(SPEC), clock=services.clock, bus=services.bus
        )
        for user in created["users"]:
            p256dh, auth = browser_keys()
            await services.push_subscriptions.subscribe(
                int(user["id"]),
                endpoint=f"https://push.example/{user['id']}",
                p256dh=p256dh,
                auth=auth,
                user_agent=None,
            )
        # The server's own outbox (with the real senders) stands still; this one sends to the
        # recorder, and only when a test calls ``run_due``.
        await services.outbox.stop()
        outbox = Outbox(services.store, clock)
        recorder = Recorder()
        for kind in (DeliveryKind.EMAIL, DeliveryKind.PUSH):
            outbox.register(kind, recorder.send, on_final=services.notifications.on_final)
        yield World(services, clock, created, recorder, outbox)


async def test_an_occurrence_mails_and_pushes_each_recipient_once(world: World) -> None:
    """Owner and Email metafield get one e-mail each; owner and members one push each, with
    the §2.2 and §2.3 content; the log says QUEUED, then SENT."""
    await world.log("too_warm", "Minus 4")
    emails = world.recorder.of(DeliveryKind.EMAIL)
    assert sorted(e["to"] for e in emails) == ["ops@acme.io", "owner@acme.io"]
    mail = emails[0]
    assert mail["subject"] == "Critical: Freezer 1: Too warm"
    assert "Minus 4" in mail["text"]
    assert "Acme" in mail["text"]
    assert mail["fromName"] == "Acme"
    assert mail["headers"]["X-Pinbase-Occurrence"].isdigit()
    pushes = world.recorder.of(DeliveryKind.PUSH)
    owner, staff = world.user_id("owner@acme.io"), world.user_id("staff@acme.io")
    assert sorted(p["userId"] for p in pushes) == sorted([owner, staff])
    push = pushes[0]
    assert (push["v"], push["kind"], push["title"], push["body"]) == (
        1,
        "event",
        "Freezer 1",
        "Too warm: Minus 4",
    )
    assert (push["severity"], push["alert"], push["ts"]) == ("CRITICAL", True, T0)
    assert push["tag"].startswith(f"d{world.device_id()}-e")
    assert f"/dashboard/devices/{world.device_id()}?tab=timeline&entry=" in push["url"]
    rows = await world.log_rows(device_id=world.device_id())
    assert {(r.channel, r.status) for r in rows} == {("EMAIL", "SENT"), ("PUSH", "SENT")}
    assert {r.recipient for r in rows if r.channel == "EMAIL"} == {"o***@acme.io"}


async def test_the_five_second_rule_suppresses_per_device_and_channel(world: World) -> None:
    """A second occurrence within 5 s is logged MIN_INTERVAL; at 5 s it goes out again."""
    await world.log("too_warm")
    world.clock.now += 1_000
    await world.log("too_warm")
    world.clock.now += 4_000
    await world.log("too_warm")
    assert len(world.recorder.of(DeliveryKind.EMAIL)) == 4
    suppressed = [r for r in await world.log_rows() if r.status == "SUPPRESSED"]
    assert {(r.channel, r.reason) for r in suppressed} == {
        ("EMAIL", "MIN_INTERVAL"),
        ("PUSH", "MIN_INTERVAL"),
    }


async def test_every_nth_occurrence_notifies(world: World) -> None:
    """everyN 3: occurrences 3 and 6 notify; the others are logged COUNTER."""
    for _ in range(6):
        await world.log("every_third")
        world.clock.now += 5_000
    assert len(world.recorder.of(DeliveryKind.EMAIL)) == 2
    reasons = [r.reason for r in await world.log_rows() if r.channel == "-"]
    assert reasons == ["COUNTER"] * 4


async def test_the_limit_period_suppresses_until_it_passes(world: World) -> None:
    """1 h period: 0:00 and 1:00:01 notify, 0:30 is logged LIMIT_PERIOD."""
    for offset in (0, 30 * 60_000, 30 * 60_000 + 1_000):
        world.clock.now += offset
        await world.log("hourly")
    assert len(world.recorder.of(DeliveryKind.EMAIL)) == 2
    assert [r.reason for r in await world.log_rows() if r.channel == "-"] == ["LIMIT_PERIOD"]


async def test_unreachable_recipients_are_logged_with_why(world: World) -> None:
    """An owner-less device: NO_RECIPIENT; a malformed address: INVALID_ADDRESS."""
    await world.log("bad_address")
    await world.log("every_third", device=1)
    world.clock.now += 1_000
    await world.log("every_third", device=1)
    world.clock.now += 1_000
    await world.log("every_third", device=1)
    assert world.recorder.received == []
    rows = await world.log_rows(channel="EMAIL")
    assert [(r.reason, r.recipient) for r in rows] == [
        ("NO_RECIPIENT", None),
        ("INVALID_ADDRESS", "***"),
    ]


async def test_events_without_notifications_leave_no_row(world: World) -> None:
    """An event with notifications off is stored, and nothing is planned or logged."""
    await world.log("quiet")
    assert world.recorder.received == []
    assert await world.log_rows() == []


async def test_intake_drops_are_logged_and_the_daily_marker_written_once(world: World) -> None:
    """A second occurrence within 1 s is RATE_1S; past 100 a day, DAILY_QUOTA and one Info
    entry "Daily event limit reached"."""
    await world.log("quiet")
    with pytest.raises(EventRejected):
        await world.log("quiet")
    for _ in range(99):
        world.clock.now += 1_000
        await world.log("quiet")
    for _ in range(2):
        world.clock.now += 1_000
        with pytest.raises(EventRejected):
            await world.log("quiet")
    rows = await world.log_rows()
    assert [(r.channel, r.reason) for r in rows] == [
        ("-", "DAILY_QUOTA"),
        ("-", "DAILY_QUOTA"),
        ("-", "RATE_1S"),
    ]
    async with world.services.store.transaction() as tx:
        entries = await tx.list_device_events(world.device_id(), since=0)
    markers = [e for e in entries if e.description == "Daily event limit reached"]
    assert len(markers) == 1


async def test_a_failed_delivery_is_logged_failed_with_the_reason(world: World) -> None:
    """A permanent failure reaches the log row as FAILED with reason and error."""
    async with world.services.store.transaction() as tx:
        await world.services.notifications.queue_message(
            tx,
            OutgoingMessage(
                org_id=world.org_id,
                device_id=None,
                channel="EMAIL",
                addresses=("fail@acme.io",),
                subject="Hi",
                body="fail",
                source="AUTOMATION",
            ),
        )
    await world.outbox.run_due()
    (row,) = await world.log_rows()
    assert (row.status, row.reason, row.last_error, row.attempts) == (
        "FAILED",
        "PERMANENT_ERROR",
        "550 no",
        1,
    )


async def test_automation_messages_stop_at_twenty_an_hour(world: World) -> None:
    """The 21st automation message within an hour is HOURLY_QUOTA; an hour later it goes."""
    message = OutgoingMessage(
        org_id=world.org_id,
        device_id=None,
        channel="PUSH",
        user_ids=(world.user_id("staff@acme.io"), world.user_id("owner@acme.io")),
        subject="Pump",
        body="{DEVICE_NAME} ran",
        source="AUTOMATION",
        hourly_quota=True,
    )
    queued = []
    for _ in range(21):
        async with world.services.store.transaction() as tx:
            queued.append(len(await world.services.notifications.queue_message(tx, message)))
        world.clock.now += 60_000
    assert queued == [2] * 20 + [0]
    world.clock.now = T0 + 3_600_001
    async with world.services.store.transaction() as tx:
        assert len(await world.services.notifications.queue_message(tx, message)) == 2
    rows = await world.log_rows(channel="PUSH")
    assert [r.reason for r in rows if r.status == "SUPPRESSED"] == ["HOURLY_QUOTA"] * 2
    await world.outbox.run_due()
    assert world.recorder.of(DeliveryKind.PUSH)[0]["kind"] == "automation"


async def test_messages_never_reach_another_organization(world: World) -> None:
    """User ids of another organization and another organization's device are ignored."""
    other = await provision(
        world.services.store,
        parse_spec(
            {
                "organization": {"name": "Other"},
                "users": [{"email": "x@other.io", "name": "Xena", "roleId": 1, "password": "pw"}],
            }
        ),
        clock=world.services.clock,
        bus=world.services.bus,
    )
    async with world.services.store.transaction() as tx:
        queued = await world.services.notifications.queue_message(
            tx,
            OutgoingMessage(
                org_id=int(other["organization"]["id"]),
                device_id=world.device_id(),
                channel="EMAIL",
                user_ids=(world.user_id("owner@acme.io"),),
                subject="Leak",
                body="x",
                source="AUTOMATION",
            ),
        )
    assert queued == []
    async with world.services.store.transaction() as tx:
        rows = await tx.list_notification_records(OrgId(other["organization"]["id"]), limit=5)
    assert [(r.reason, r.device_id) for r in rows] == [("NO_RECIPIENT", None)]


async def test_a_short_disconnect_notifies_nothing_and_a_long_one_notifies(world: World) -> None:
    """Offline is due after the delay and cancelled by a reconnect (no Online either); a device
    that stays away gets its Offline e-mail, then an Online push when back; the first
    connection is announced once."""
    services, device = world.services, world.device_id()
    first: list[DeviceFirstConnected] = []
    services.bus.subscribe(DeviceFirstConnected, first.append)

    async def presence(online: bool) -> None:
        services.bus.publish(PresenceChanged(device_id=device, online=online, ts=world.clock.now))
        await services.lifecycle.drain()
        await world.outbox.run_due()

    await presence(True)
    await presence(False)
    world.clock.now += 30_000
    await presence(True)
    world.clock.now += 60_000
    await world.outbox.run_due()
    assert world.recorder.received == []
    await presence(False)
    world.clock.now += 60_000
    await world.outbox.run_due()
    (offline,) = world.recorder.of(DeliveryKind.EMAIL)
    assert offline["subject"] == "Freezer 1 is Offline"
    assert "Your Freezer 1 went offline." in offline["text"]
    world.clock.now += 10_000
    await presence(True)
    (online,) = world.recorder.of(DeliveryKind.PUSH)
    assert online["body"] == "Your Freezer 1 came online."
    assert [(m.device_id, m.ts) for m in first] == [(device, T0)]
    statuses = {r.status for r in await world.log_rows() if r.source == "LIFECYCLE"}
    assert statuses == {"CANCELLED", "SENT"}


async def test_legacy_calls_mail_the_address_or_the_owner_and_push_the_owner(
    world: World,
) -> None:
    """``Blynk.email`` with an address mails it, without one the owner; ``Blynk.notify`` pushes
    to the owner titled "{PRODUCT_NAME} Notification"; all LEGACY and under the 5 s rule."""
    bound = world.services.directory.by_id(world.device_id())
    assert bound is not None
    legacy = world.services.legacy_messages
    await legacy.email(bound.device, to="boss@acme.io", subject="Hi", body="Line 1\nLine <2>")
    await legacy.notify(bound.device, "Door open")
    world.clock.now += 5_000
    await legacy.email(bound.device, to=None, subject="Owner", body="x")
    await legacy.email(bound.device, to=None, subject="Too soon", body="x")
    await world.outbox.run_due()
    emails = world.recorder.of(DeliveryKind.EMAIL)
    assert [(e["to"], e["subject"]) for e in emails] == [
        ("boss@acme.io", "Hi"),
        ("owner@acme.io", "Owner"),
    ]
    assert emails[0]["html"] == "<p>Line 1</p><p>Line &lt;2&gt;</p>"
    (push,) = world.recorder.of(DeliveryKind.PUSH)
    assert (push["title"], push["body"], push["kind"]) == (
        "Freezer Notification",
        "Door open",
        "legacy",
    )
    rows = await world.log_rows()
    assert {r.source for r in rows} == {"LEGACY"}
    assert [r.reason for r in rows if r.status == "SUPPRESSED"] == ["MIN_INTERVAL"]


async def test_the_sweep_drops_rows_past_their_retention(world: World) -> None:
    """Rows older than 30 days go; younger ones stay."""
    await world.log("too_warm")
    world.clock.now += 20 * 86_400_000
    await world.log("too_warm")
    world.clock.now += 11 * 86_400_000
    assert await world.services.notifications.sweep() == 4
    assert len(await world.log_rows()) == 4


async def test_users_without_push_and_servers_without_smtp_are_logged(world: World) -> None:
    """A user with no browser subscribed: NO_PUSH_TARGET; e-mail on a server without SMTP:
    CHANNEL_DISABLED (a planner built as the runtime builds it then)."""
    staff = world.user_id("staff@acme.io")
    await world.services.push_subscriptions.unsubscribe(staff, f"https://push.example/{staff}")
    await world.log("too_warm")
    rows = await world.log_rows(channel="PUSH")
    assert {(r.user_id, r.status, r.reason) for r in rows} == {
        (world.user_id("owner@acme.io"), "SENT", None),
        (staff, "SUPPRESSED", "NO_PUSH_TARGET"),
    }
    services = world.services
    no_smtp = Notifications(services.store, services.directory, services.clock, channels=("PUSH",))
    message = OutgoingMessage(
        org_id=world.org_id,
        device_id=None,
        channel="EMAIL",
        addresses=("boss@acme.io",),
        subject="Hi",
        body="x",
        source="WEBHOOK_FAILURE",
    )
    async with services.store.transaction() as tx:
        assert await no_smtp.queue_message(tx, message) == []
    (row,) = [r for r in await world.log_rows(channel="EMAIL") if r.source == "WEBHOOK_FAILURE"]
    assert (row.source, row.reason, row.recipient) == (
        "WEBHOOK_FAILURE",
        "CHANNEL_DISABLED",
        "b***@acme.io",
    )
