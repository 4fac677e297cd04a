"""The SMS channel (automations.md §2.1, issue #10): the Send SMS action and an event's SMS list
go through the notification planner; without a gateway they are logged ``CHANNEL_DISABLED``, a
user without a phone number ``NO_PHONE_NUMBER``; with one, a real local HTTP receiver gets the
JSON ``{to, text}``, the text cut to 160 characters, through the outbound guard."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from hand_clock import HandClock
from outbound_receiver import Receiver, Reply, receiver

from editors import Editor
from pinbase.domain.deliveries import DeliveryKind, new_delivery
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.runtime import running_services
from pinbase.services.bus import PresenceChanged
from pinbase.services.container import Services
from pinbase.services.provisioning import parse_spec, provision
from pinbase.services.reactions.outbound import OutboundHttp
from pinbase.services.reactions.outbox import Failed, Outbox, Retry, Sent
from pinbase.services.reactions.sms import HttpSmsSender
from pinbase.settings import Settings
from pinbase.storage.notifications import NotificationRecord
from pinbase.storage.users import NewUser

CONTACT = orjson.dumps({"name": "Max", "phone": "+44 20 7946 0000"}).decode()
SPEC: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "templates": [
        {
            "name": "Pump",
            "datastreams": [{"id": 1, "label": "Level", "pin": 1, "type": "DOUBLE"}],
            "metafields": [{"name": "Service", "type": "Contact", "defaultValue": CONTACT}],
            "events": [
                {
                    "eventCode": "dry",
                    "name": "Running dry",
                    "notifications": {
                        "enabled": True,
                        "sms": [{"kind": "METAFIELD", "metaFieldId": 1}],
                    },
                }
            ],
        }
    ],
    "devices": [{"name": "Well", "template": "Pump"}],
}
PHONE = "+49 170 1234567"


@dataclass
class World:
    services: Services
    editor: Editor
    device_id: int
    with_phone: int
    without_phone: int


@pytest.fixture
async def gateway() -> AsyncIterator[Receiver]:
    """A real local HTTP receiver standing in for the SMS gateway."""
    async with receiver() as state:
        yield state


async def setup(services: Services) -> World:
    """Provision ``SPEC`` and add two users, one with a phone number."""
    created = await provision(
        services.store, parse_spec(SPEC), clock=services.clock, bus=services.bus
    )
    org = OrgId(created["organization"]["id"])
    async with services.store.transaction() as tx:
        users = [
            await tx.add_user(
                NewUser(
                    org_id=org,
                    name=name,
                    email=f"{name}@acme.test",
                    role_id=1,
                    status="Active",
                    phone_number=phone,
                ),
                created_at=services.clock(),
            )
            for name, phone in (("ann", PHONE), ("bob", None))
        ]
    return World(
        services=services,
        editor=Editor(org_id=org, scope=services.directory.subtree(org)),
        device_id=created["devices"][0]["id"],
        with_phone=users[0].id,
        without_phone=users[1].id,
    )


def sms_scene(world: World, text: str) -> dict[str, Any]:
    """A scene sending ``text`` by SMS to both users."""
    return {
        "name": "Texting",
        "condition": {"kind": "SCENE"},
        "actions": [
            {
                "kind": "SEND_SMS",
                "recipients": [{"userId": world.with_phone}, {"userId": world.without_phone}],
                "body": text,
            }
        ],
    }


async def sms_rows(world: World) -> list[NotificationRecord]:
    """The SMS rows of the notification log, oldest first."""
    async with world.services.store.transaction() as tx:
        rows = await tx.list_notification_records(world.editor.org_id, limit=100)
    return [row for row in reversed(rows) if row.channel == "SMS"]


async def test_without_a_gateway_sms_is_logged_channel_disabled(tmp_path: Path) -> None:
    """No ``sms_gateway_url``: the reachable recipient is logged CHANNEL_DISABLED, the one
    without a phone NO_PHONE_NUMBER, and nothing is queued."""
    settings = Settings(data_dir=tmp_path, database_url=None)
    async with running_services(settings, clock=HandClock()) as services:
        world = await setup(services)
        automation = await services.automations.create(world.editor, sms_scene(world, "Hi"))
        await services.automations.execute(world.editor, automation.id)
        rows = await sms_rows(world)
        assert sorted((r.recipient, r.status, r.reason) for r in rows) == [
            ("+49***67", "SUPPRESSED", "CHANNEL_DISABLED"),
            (f"user:{world.without_phone}", "SUPPRESSED", "NO_PHONE_NUMBER"),
        ]
        [log] = await services.automations.runs(world.editor, automation.id)
        assert [(a.type, a.status, a.reason) for a in log.actions] == [
            ("SEND_SMS", "SKIPPED", "SUPPRESSED")
        ]


async def test_the_gateway_receives_the_expanded_text_cut_to_160(
    tmp_path: Path, gateway: Receiver
) -> None:
    """With a gateway (loopback allow-listed), the action's text, placeholders expanded and cut
    to 160 characters, reaches the receiver as JSON; the log row ends SENT."""
    settings = Settings(
        data_dir=tmp_path,
        database_url=None,
        sms_gateway_url=f"{gateway.url}/sms",
        sms_gateway_token="s3cret",
        outbound_allowed_networks=("127.0.0.1/32",),
    )
    clock = HandClock()
    async with running_services(settings, clock=clock) as services:
        world = await setup(services)
        # The server's outbox stands still; this one sends with the real sender when told to.
        await services.outbox.stop()
        outbox = Outbox(services.store, clock)
        sender = HttpSmsSender(settings.sms_gateway_url, client=services.outbound, token="s3cret")
        outbox.register(DeliveryKind.SMS, sender.send, on_final=services.notifications.on_final)
        text = "{ORG_NAME}: " + "x" * 300
        automation = await services.automations.create(world.editor, sms_scene(world, text))
        await services.automations.execute(world.editor, automation.id)
        assert await outbox.run_due() == 1
        [call] = gateway.received
        assert (call.method, call.target) == ("POST", "/sms")
        assert call.headers["authorization"] == "Bearer s3cret"
        sent = orjson.loads(call.body)
        assert sent["to"] == PHONE
        assert sent["text"] == cut_text("Acme: " + "x" * 300)
        assert len(sent["text"]) == 160
        rows = await sms_rows(world)
        assert sorted((r.status, r.reason) for r in rows) == [
            ("SENT", None),
            ("SUPPRESSED", "NO_PHONE_NUMBER"),
        ]
        [log] = await services.automations.runs(world.editor, automation.id)
        assert [(a.type, a.status) for a in log.actions] == [("SEND_SMS", "OK")]


def cut_text(text: str) -> str:
    """The text cut to 160 characters the way the planner cuts it (an ellipsis at the end)."""
    return text[:159] + "…"


async def test_an_event_texts_the_phone_of_its_contact_metafield(
    tmp_path: Path, gateway: Receiver
) -> None:
    """An event whose SMS list names a Contact metafield texts its phone
    ``{DEVICE_NAME}: {EVENT_NAME}``."""
    settings = Settings(
        data_dir=tmp_path,
        database_url=None,
        sms_gateway_url=gateway.url,
        outbound_allowed_networks=("127.0.0.1/32",),
    )
    clock = HandClock()
    async with running_services(settings, clock=clock) as services:
        world = await setup(services)
        await services.outbox.stop()
        outbox = Outbox(services.store, clock)
        sender = HttpSmsSender(gateway.url, client=services.outbound)
        outbox.register(DeliveryKind.SMS, sender.send, on_final=services.notifications.on_final)
        bound = services.directory.by_id(DeviceId(world.device_id))
        assert bound is not None
        event = bound.template.event("dry")
        assert event is not None
        await services.events.log(bound.device, event, None)
        assert await outbox.run_due() == 1
        [call] = gateway.received
        assert orjson.loads(call.body) == {"to": "+44 20 7946 0000", "text": "Well: Running dry"}


async def test_the_sender_retries_transient_answers_and_fails_the_rest(
    gateway: Receiver,
) -> None:
    """503 and 429 are retried (Retry-After honoured); 400 fails at once; a gateway on a
    private address that is not allow-listed is refused BLOCKED_TARGET."""
    delivery = new_delivery(
        DeliveryKind.SMS, {"to": PHONE, "text": "hi"}, due_at=0, source="AUTOMATION"
    )
    allowed = OutboundHttp(allowed_networks=("127.0.0.1/32",))
    answers = iter(
        [Reply(status=503), Reply(status=429, headers=(("Retry-After", "7"),)), Reply(status=400)]
    )
    gateway.reply = lambda _: next(answers)
    sender = HttpSmsSender(gateway.url, client=allowed)
    assert isinstance(await sender.send(delivery), Retry)
    assert await sender.send(delivery) == Retry("HTTP 429", after_ms=7000)
    assert await sender.send(delivery) == Failed("PERMANENT_ERROR", "HTTP 400")
    assert gateway.received[0].headers["x-pinbase-delivery"] == delivery.id
    gateway.reply = lambda _: Reply(status=202)
    assert isinstance(await sender.send(delivery), Sent)
    refused = await HttpSmsSender(gateway.url, client=OutboundHttp()).send(delivery)
    assert isinstance(refused, Failed)
    assert refused.reason == "BLOCKED_TARGET"
    await allowed.close()


async def test_a_reconnect_cancels_a_pending_offline_sms(tmp_path: Path, gateway: Receiver) -> None:
    """An Offline event whose SMS list names the Contact metafield queues ``Well is Offline``
    due after the server's wait; a reconnect before then cancels it, a later disconnect's SMS
    arrives."""
    spec = {**SPEC, "templates": [dict(SPEC["templates"][0])]}
    spec["templates"][0]["events"] = [
        {
            "eventCode": "sys_offline",
            "name": "Offline",
            "notifications": {"enabled": True, "sms": [{"kind": "METAFIELD", "metaFieldId": 1}]},
        }
    ]
    settings = Settings(
        data_dir=tmp_path,
        database_url=None,
        sms_gateway_url=gateway.url,
        outbound_allowed_networks=("127.0.0.1/32",),
    )
    clock = HandClock()
    async with running_services(settings, clock=clock) as services:
        created = await provision(
            services.store, parse_spec(spec), clock=services.clock, bus=services.bus
        )
        device = DeviceId(created["devices"][0]["id"])
        await services.outbox.stop()
        outbox = Outbox(services.store, clock)
        sender = HttpSmsSender(gateway.url, client=services.outbound)
        outbox.register(DeliveryKind.SMS, sender.send, on_final=services.notifications.on_final)

        async def presence(online: bool) -> None:
            change = PresenceChanged(device_id=device, online=online, ts=clock.now)
            services.bus.publish(change)
            await services.lifecycle.drain()
            await outbox.run_due()

        await presence(True)
        await presence(False)
        clock.now += 1_000
        await presence(True)
        clock.now += 3_600_000
        await outbox.run_due()
        assert gateway.received == []
        await presence(False)
        clock.now += 3_600_000
        await outbox.run_due()
        [call] = gateway.received
        assert orjson.loads(call.body) == {"to": "+44 20 7946 0000", "text": "Well is Offline"}
