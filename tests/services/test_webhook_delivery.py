"""Webhooks end to end inside one process (automations.md §4, §5.1, §5.5): a value written
through ``Telemetry`` reaches a real HTTP receiver on 127.0.0.1 through the outbox, with the
request built per §4.3, retries, the rate bucket, the response cap, the SSRF guard, OAuth 2.0,
the failure streak and the test action. The outbox's own task is stopped: each test sends with
``run_due`` on a hand clock, so nothing depends on timing."""

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller

from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.ids import DatastreamId, DeviceId, OrgId, TemplateId
from pinbase.domain.points import Point
from pinbase.domain.value_types import Value
from pinbase.domain.webhooks import (
    SECRET_MASK,
    Auth,
    AuthKind,
    ContentType,
    Field,
    Method,
    Status,
    Trigger,
    TriggerKind,
    Webhook,
    WebhookSpec,
)
from pinbase.runtime import running_services
from pinbase.services.container import Services
from pinbase.services.oauth import Caller
from pinbase.services.provisioning import ProvisioningError, parse_spec, provision
from pinbase.services.reactions.webhook_json import webhook_json
from pinbase.services.reactions.webhooks import TooManyTests, WebhookLimitReached, WebhookNotFound
from pinbase.settings import Settings
from pinbase.storage.webhooks import LogStatus, WebhookLogEntry
from pinbase.testing import free_port
from services.hand_clock import T0, HandClock
from smtp_mailbox import Mailbox
from webhook_receiver import Receiver, Reply

SPEC = {
    "organization": {"name": "Acme"},
    "users": [{"email": "ops@acme.io", "name": "Ops", "roleId": 1, "password": "pw"}],
    "templates": [
        {
            "name": "Tank",
            "datastreams": [
                {"id": 1, "label": "Level", "pin": 1, "type": "DOUBLE"},
                {"id": 17, "label": "Items", "pin": 17, "type": "STRING"},
            ],
            "events": [{"eventCode": "too_high", "name": "Too high", "type": "WARNING"}],
        }
    ],
    "devices": [{"name": "Tank A", "template": "Tank"}],
}


@dataclass
class World:
    """A running server, its receiver, clock, device and caller."""

    services: Services
    receiver: Receiver
    clock: HandClock
    caller: Caller
    device_id: DeviceId
    template_id: TemplateId
    token: str
    user_id: int

    def spec(self, **changes: Any) -> WebhookSpec:
        """A POST JSON webhook on the device's V1 to the receiver's ``/hook``."""
        base = WebhookSpec(
            name="Level hook",
            trigger=Trigger(
                kind=TriggerKind.DEVICE_DATASTREAM,
                device_id=self.device_id,
                datastream_id=DatastreamId(1),
            ),
            url=f"{self.receiver.url}/hook",
        )
        return replace(base, **changes)

    async def write(self, value: Value, *, datastream: int = 1) -> None:
        """A device write of ``value`` to one datastream."""
        bound = self.services.directory.by_id(self.device_id)
        assert bound is not None
        ds = bound.template.datastream(datastream)
        await self.services.telemetry.record(bound.device, [(ds, value)], origin="device_http")

    async def log(self, webhook: Webhook) -> list[WebhookLogEntry]:
        """The webhook's whole log, newest first."""
        return list(
            await self.services.webhooks.log(
                self.caller, webhook.id, since=0, until=T0 + 10**9, limit=1000
            )
        )


async def start(tmp_path: Path, receiver: Receiver, **settings: Any) -> AsyncIterator[World]:
    clock = HandClock()
    config = Settings(
        data_dir=tmp_path, **{"outbound_allowed_networks": "127.0.0.1/32", **settings}
    )
    async with running_services(config, clock=clock) as services:
        await services.outbox.stop()  # tests drive sends with run_due
        created = await provision(services.store, parse_spec(SPEC), clock=clock, bus=services.bus)
        org = OrgId(created["organization"]["id"])
        caller = Caller(client_id="test", org_id=org, scope=services.directory.subtree(org))
        device = created["devices"][0]
        yield World(
            services=services,
            receiver=receiver,
            clock=clock,
            caller=caller,
            device_id=DeviceId(device["id"]),
            template_id=TemplateId(created["templates"][0]["id"]),
            token=device["token"],
            user_id=created["users"][0]["id"],
        )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The server with 127.0.0.1 allow-listed."""
    async with Receiver() as receiver:
        async for made in start(tmp_path, receiver):
            yield made


async def test_the_request_is_built_per_section_4_3(world: World) -> None:
    """Method, path, query, headers and body bytes as configured; one OK row with the masked
    URL and the delivery id the receiver saw."""
    spec = world.spec(
        method=Method.PUT,
        url=f"{world.receiver.url}/hook/{{device_id}}?t={{device_authToken}}",
        query=(Field(key="pin", value="{device_pin}"),),
        headers=(Field(key="X-Source", value="pinbase {device_name}"),),
        body='{"v": {device_pinValue}, "name": "{device_name}", "s": "{device_dataStream_17}"}',
        auth=Auth(kind=AuthKind.BASIC, username="user", password="s3cret"),
    )
    webhook = await world.services.webhooks.create(world.caller, spec)
    await world.write('x"y', datastream=17)
    await world.write(21.5)
    assert await world.services.outbox.run_due() == 1
    [request] = world.receiver.received
    assert request.method == "PUT"
    path, _, query = request.target.partition("?")
    assert path == f"/hook/{world.device_id}"
    assert parse_qs(query) == {"t": [world.token], "pin": ["V1"]}
    assert request.header("X-Source") == "pinbase Tank A"
    assert request.header("Content-Type") == "application/json"
    assert (request.header("User-Agent") or "").startswith("Pinbase-Webhook/")
    expected = "Basic " + base64.b64encode(b"user:s3cret").decode()
    assert request.header("Authorization") == expected
    assert json.loads(request.body) == {"v": 21.5, "name": "Tank A", "s": 'x"y'}
    [row] = await world.log(webhook)
    assert (row.status, row.code, row.delivery_id) == (
        LogStatus.OK,
        200,
        request.header("X-Pinbase-Delivery"),
    )
    assert world.token not in row.request_url
    assert row.response_body == "ok"
    stored = await world.services.webhooks.get(world.caller, webhook.id)
    assert (stored.attempts, stored.last_triggered_at) == (1, T0)


async def test_503_503_200_sends_three_times_and_logs_one_ok(world: World) -> None:
    """Retries follow the outbox's schedule with the same delivery id; one row ends OK."""
    webhook = await world.services.webhooks.create(world.caller, world.spec())
    world.receiver.script = [Reply(503), Reply(503, headers=(("Retry-After", "1"),)), Reply(200)]
    await world.write(1.0)
    await world.services.outbox.run_due()
    [row] = await world.log(webhook)
    assert (row.status, row.code) == (LogStatus.WAITING, 503)
    for step in (13_000, 73_000):
        world.clock.now += step
        await world.services.outbox.run_due()
    assert len(world.receiver.received) == 3
    assert len({r.header("X-Pinbase-Delivery") for r in world.receiver.received}) == 1
    [row] = await world.log(webhook)
    assert (row.status, row.code, row.attempts) == (LogStatus.OK, 200, 3)


async def test_eleven_triggers_in_a_minute_send_ten(world: World) -> None:
    """The token bucket lets 10 per minute through; the 11th is logged RATE_LIMITED, never sent."""
    webhook = await world.services.webhooks.create(world.caller, world.spec())
    for value in range(11):
        await world.write(float(value))
    await world.services.outbox.run_due()
    await world.services.webhooks.flush()
    assert len(world.receiver.received) == 10
    rows = await world.log(webhook)
    assert sorted(r.reason or "OK" for r in rows) == ["OK"] * 10 + ["RATE_LIMITED"]
    world.clock.now += 6_000  # one token back
    await world.write(99.0)
    await world.services.outbox.run_due()
    assert len(world.receiver.received) == 11


async def test_a_20_kb_reply_is_logged_truncated(world: World) -> None:
    """At most 16 KB of the answer is kept, flagged truncated; the status decides success."""
    webhook = await world.services.webhooks.create(world.caller, world.spec())
    world.receiver.script = [Reply(200, body=b"a" * 20_000)]
    await world.write(1.0)
    await world.services.outbox.run_due()
    [row] = await world.log(webhook)
    assert row.status is LogStatus.OK
    assert row.truncated
    assert row.response_body == "a" * 16_384


async def test_a_failing_status_fails_at_once_and_a_refused_body_is_not_sent(world: World) -> None:
    """A 400 is final without retry; a body over 5 KB fails BODY_TOO_LARGE without a request."""
    webhook = await world.services.webhooks.create(world.caller, world.spec())
    world.receiver.script = [Reply(400, body=b"bad")]
    await world.write(1.0)
    await world.services.outbox.run_due()
    big = await world.services.webhooks.create(
        world.caller,
        world.spec(name="Big", body="{device_dataStream_17}" * 6, url=world.receiver.url),
    )
    await world.write("x" * 1000, datastream=17)
    await world.write(2.0)
    await world.services.outbox.run_due()
    world.clock.now += 600_000
    await world.services.outbox.run_due()
    assert [r.target for r in world.receiver.received] == ["/hook", "/hook"]
    first = (await world.log(webhook))[-1]
    assert (first.status, first.code, first.reason) == (LogStatus.FAILED, 400, "HTTP_ERROR")
    [refused] = await world.log(big)
    assert (refused.status, refused.reason) == (LogStatus.FAILED, "BODY_TOO_LARGE")


async def test_without_the_allow_list_the_receiver_gets_nothing(tmp_path: Path) -> None:
    """127.0.0.1 is refused by default: 0 requests, the row says BLOCKED_TARGET."""
    async with Receiver() as receiver:
        async for world in start(tmp_path, receiver, outbound_allowed_networks=""):
            webhook = await world.services.webhooks.create(world.caller, world.spec())
            await world.write(1.0)
            await world.services.outbox.run_due()
            assert receiver.received == []
            [row] = await world.log(webhook)
            assert (row.status, row.reason) == (LogStatus.FAILED, "BLOCKED_TARGET")
            assert "loopback" in (row.error or "")


async def test_oauth2_client_credentials(world: World) -> None:
    """The token comes from the Token URL with Basic client auth, is reused, and is fetched once
    more after a 401; a refused Basic client auth is retried with credentials in the body."""
    world.receiver.routes["/token"] = [
        Reply(401),
        Reply(200, body=b'{"access_token":"t1","expires_in":3600}'),
        Reply(200, body=b'{"access_token":"t2","expires_in":3600}'),
    ]
    world.receiver.routes["/hook"] = [Reply(200), Reply(200), Reply(401), Reply(200)]
    auth = Auth(
        kind=AuthKind.OAUTH2,
        client_id="cid",
        client_secret="csecret",
        token_url=f"{world.receiver.url}/token",
    )
    await world.services.webhooks.create(world.caller, world.spec(auth=auth))
    for value in (1.0, 2.0, 3.0):
        await world.write(value)
        await world.services.outbox.run_due()
    targets = [(r.method, r.target, r.header("Authorization")) for r in world.receiver.received]
    basic = "Basic " + base64.b64encode(b"cid:csecret").decode()
    assert targets == [
        ("POST", "/token", basic),
        ("POST", "/token", None),
        ("POST", "/hook", "Bearer t1"),
        ("POST", "/hook", "Bearer t1"),
        ("POST", "/hook", "Bearer t1"),
        ("POST", "/token", basic),
        ("POST", "/hook", "Bearer t2"),
    ]
    assert parse_qs(world.receiver.received[0].body.decode()) == {
        "grant_type": ["client_credentials"]
    }
    assert parse_qs(world.receiver.received[1].body.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": ["cid"],
        "client_secret": ["csecret"],
    }


async def test_legacy_placeholders_receive_the_written_value(world: World) -> None:
    """``/pin/`` and ``/pin[N]/`` expand in the URL and body, every occurrence (§4.6)."""
    spec = world.spec(
        trigger=Trigger(
            kind=TriggerKind.TEMPLATE_DATASTREAM,
            template_id=world.template_id,
            datastream_id=DatastreamId(17),
        ),
        method=Method.GET,
        content_type=ContentType.PLAIN_TEXT,
        url=f"{world.receiver.url}/legacy?v=/pin/&first=/pin[0]/",
        body="/pin[2]/ /pin[1]/ /pin/",
    )
    await world.services.webhooks.create(world.caller, spec)
    await world.write("7\x006\x005", datastream=17)
    await world.services.outbox.run_due()
    [request] = world.receiver.received
    assert request.target == "/legacy?v=7%2C6%2C5&first=7"
    assert request.body == b"5 6 7,6,5"


async def test_failure_streak_mails_once_and_disables(tmp_path: Path) -> None:
    """Consecutive failed deliveries reach the threshold once; with disable_after_failures the
    webhook is disabled and stops firing; a success ends the streak."""
    async with Receiver() as receiver:
        async for world in start(tmp_path, receiver, webhooks_disable_after_failures=3):
            receiver.script = [Reply(400)] * 5
            webhook = await world.services.webhooks.create(
                world.caller, world.spec(failure_threshold=2, failure_recipients=(world.user_id,))
            )
            for value in range(4):
                await world.write(float(value))
                await world.services.outbox.run_due()
            stored = await world.services.webhooks.get(world.caller, webhook.id)
            assert stored.webhook.spec.status is Status.DISABLED
            assert stored.failure_streak == 3
            assert len(receiver.received) == 3
            async with world.services.store.transaction() as tx:
                notices = await tx.list_notification_records(world.caller.org_id, limit=50)
            mails = [n for n in notices if n.source == "WEBHOOK_FAILURE"]
            assert [(n.source_ref, n.user_id, n.channel) for n in mails] == [
                (str(webhook.id), world.user_id, "EMAIL")
            ] * 2
            assert "disabled after 3 failures" in (mails[0].title or "")
            assert "failed 2 times in a row" in (mails[1].title or "")
            enabled = await world.services.webhooks.enable(world.caller, webhook.id)
            assert enabled.is_enabled
            receiver.script = []
            await world.write(5.0)
            await world.services.outbox.run_due()
            stored = await world.services.webhooks.get(world.caller, webhook.id)
            assert (stored.failure_streak, stored.webhook.version) == (0, 3)


async def test_the_test_action(world: World) -> None:
    """A test answers status, duration and body, is not logged but counts in attempts, fills
    placeholders from stored values without a written value, and is limited to 1 per 2 s."""
    await world.write(4.5)
    webhook = await world.services.webhooks.create(
        world.caller, world.spec(body='{"v": "{device_pinValue}", "now": {device_dataStream_1}}')
    )
    result = await world.services.webhooks.test(world.caller, actor="u1", webhook_id=webhook.id)
    assert result.to_json() == {
        "status": 200,
        "durationMs": result.duration_ms,
        "body": "ok",
        "error": None,
    }
    assert json.loads(world.receiver.received[-1].body) == {"v": "", "now": 4.5}
    with pytest.raises(TooManyTests):
        await world.services.webhooks.test(world.caller, actor="u1", webhook_id=webhook.id)
    world.clock.now += 2_000
    world.receiver.script = [Reply(500, body=b"boom")]
    unsaved = world.spec(url=f"{world.receiver.url}/other")
    failed = await world.services.webhooks.test(world.caller, actor="u1", spec=unsaved)
    assert (failed.status, failed.body, failed.error) == (500, "boom", "HTTP_ERROR: HTTP 500")
    assert await world.log(webhook) == []
    stored = await world.services.webhooks.get(world.caller, webhook.id)
    assert (stored.attempts, stored.last_triggered_at) == (1, None)


async def test_edits_mask_secrets_and_other_organizations_see_nothing(world: World) -> None:
    """Answers mask secrets; an edit sending the mask keeps them; versions go up; another
    organization's caller gets not-found; a device outside the scope is refused."""
    auth = Auth(kind=AuthKind.BASIC, username="u", password="pw")
    webhook = await world.services.webhooks.create(world.caller, world.spec(auth=auth))
    shown = webhook_json(await world.services.webhooks.get(world.caller, webhook.id))
    assert shown["auth"] == {"kind": "BASIC", "username": "u", "password": SECRET_MASK}
    masked = replace(auth, password=SECRET_MASK)
    edited = await world.services.webhooks.update(
        world.caller, webhook.id, world.spec(name="Renamed", auth=masked)
    )
    assert (edited.version, edited.spec.auth.password) == (2, "pw")
    stranger = Caller(client_id="x", org_id=OrgId(999), scope=frozenset({OrgId(999)}))
    with pytest.raises(WebhookNotFound):
        await world.services.webhooks.get(stranger, webhook.id)
    assert await world.services.webhooks.list(stranger) == []
    with pytest.raises(WebhookNotFound):
        await world.services.webhooks.delete(stranger, webhook.id)
    with pytest.raises(InvalidDefinition, match="no datastream"):
        await world.services.webhooks.create(
            world.caller,
            world.spec(
                trigger=Trigger(
                    kind=TriggerKind.DEVICE_DATASTREAM,
                    device_id=world.device_id,
                    datastream_id=DatastreamId(9),
                )
            ),
        )
    with pytest.raises(InvalidDefinition, match="enterprise"):
        await world.services.webhooks.create(
            world.caller, world.spec(trigger=Trigger(kind=TriggerKind.USER_ADDED))
        )
    with pytest.raises(InvalidDefinition, match="no user"):
        await world.services.webhooks.create(world.caller, world.spec(failure_recipients=(999,)))
    await world.services.webhooks.delete(world.caller, webhook.id)
    await world.write(1.0)
    await world.services.outbox.run_due()
    assert world.receiver.received == []


async def test_provisioning_creates_webhooks_by_name(tmp_path: Path) -> None:
    """A provisioning file's ``webhooks`` name their template or device and recipients by name;
    a webhook naming nothing of the file creates nothing."""
    async with Receiver() as receiver:
        async for world in start(tmp_path, receiver):
            hook_spec: dict[str, Any] = {
                "name": "Level",
                "trigger": {"kind": "TEMPLATE_DATASTREAM", "template": "Tank", "dataStreamId": 1},
                "url": f"{receiver.url}/prov?v=/pin/",
                "method": "GET",
                "failureRecipients": ["p@acme.io"],
            }
            spec: dict[str, Any] = {
                **SPEC,
                "organization": {"name": "Provisioned"},
                "users": [{"email": "p@acme.io", "name": "P", "roleId": 1, "password": "pw"}],
                "webhooks": [hook_spec],
            }
            created = await provision(
                world.services.store, parse_spec(spec), clock=world.clock, bus=world.services.bus
            )
            [hook] = created["webhooks"]
            assert hook["name"] == "Level"
            bound = world.services.directory.by_id(DeviceId(created["devices"][0]["id"]))
            assert bound is not None
            ds = bound.template.datastream(1)
            await world.services.telemetry.record(bound.device, [(ds, 3.5)], origin="device_tcp")
            await world.services.outbox.run_due()
            assert [r.target for r in receiver.received] == ["/prov?v=3.5"]
            for trigger in (
                {"kind": "TEMPLATE_DATASTREAM", "template": "Nope", "dataStreamId": 1},
                {"kind": "DEVICE_DATASTREAM", "device": "Nope", "dataStreamId": 1},
                {"kind": "TEMPLATE_DATASTREAM", "template": "Tank", "dataStreamId": 9},
            ):
                bad = {
                    **spec,
                    "organization": {"name": "Bad"},
                    "users": [],
                    "webhooks": [{**hook_spec, "trigger": trigger, "failureRecipients": []}],
                }
                with pytest.raises(ProvisioningError):
                    await provision(world.services.store, parse_spec(bad), clock=world.clock)


async def test_enterprise_triggers_fire_from_the_bus(tmp_path: Path) -> None:
    """With webhooks.enterprise_triggers, a logged event fires PRODUCT_LOG_EVENT webhooks with
    the event placeholders and a first connection fires DEVICE_FIRST_CONNECTED, each once."""
    async with Receiver() as receiver:
        async for world in start(tmp_path, receiver, webhooks_enterprise_triggers=True):
            webhooks = world.services.webhooks
            await webhooks.create(
                world.caller,
                world.spec(
                    trigger=Trigger(kind=TriggerKind.PRODUCT_LOG_EVENT),
                    url=f"{receiver.url}/event",
                    body='{"code": "{event_code}", "name": "{event_name}", "d": "{device_name}"}',
                ),
            )
            await webhooks.create(
                world.caller,
                world.spec(
                    trigger=Trigger(kind=TriggerKind.DEVICE_FIRST_CONNECTED),
                    url=f"{receiver.url}/first?d={{device_id}}",
                ),
            )
            bound = world.services.directory.by_id(world.device_id)
            assert bound is not None
            event = bound.template.event("too_high")
            assert event is not None
            await world.services.events.log(bound.device, event, "hot")
            world.services.presence.mark_online(world.device_id)
            async with asyncio.timeout(10):
                while len(receiver.received) < 2:
                    await world.services.outbox.run_due()
                    await asyncio.sleep(0.01)
            by_path = {r.target.split("?")[0]: r for r in receiver.received}
            assert json.loads(by_path["/event"].body) == {
                "code": "too_high",
                "name": "Too high",
                "d": "Tank A",
            }
            assert by_path["/first"].target == f"/first?d={world.device_id}"


async def test_a_slow_receiver_times_out_and_retries(tmp_path: Path) -> None:
    """A receiver that never answers fails the attempt with a timeout, which is retried."""
    async with Receiver() as receiver:
        async for world in start(tmp_path, receiver, outbound_total_timeout_s=0.2):
            receiver.script = [Reply(stall=True)]
            webhook = await world.services.webhooks.create(world.caller, world.spec())
            await world.write(1.0)
            await world.services.outbox.run_due()
            [row] = await world.log(webhook)
            assert (row.status, row.reason, row.code) == (LogStatus.WAITING, "NETWORK_ERROR", None)
            assert "within 0.2 s" in (row.error or "")
            world.clock.now += 13_000
            await world.services.outbox.run_due()
            [row] = await world.log(webhook)
            assert (row.status, row.code, row.attempts) == (LogStatus.OK, 200, 2)


async def test_automation_writes_and_equal_values_fire_imports_do_not(world: World) -> None:
    """Every accepted write fires, an equal value and an automation's write included
    (``{device_clientType}`` says who wrote); a back-dated import does not (§4.2)."""
    await world.services.webhooks.create(
        world.caller, world.spec(body='{"by": "{device_clientType}", "v": {device_pinValue}}')
    )
    bound = world.services.directory.by_id(world.device_id)
    assert bound is not None
    ds = bound.template.datastream(1)
    await world.write(5.0)
    await world.services.telemetry.record(bound.device, [(ds, 5.0)], origin="automation")
    await world.services.telemetry.import_points(
        bound.device, [Point(world.device_id, ds.id, T0 - 60_000, 7.0)]
    )
    await world.services.outbox.run_due()
    bodies = [json.loads(r.body) for r in world.receiver.received]
    assert bodies == [{"by": "Device", "v": 5.0}, {"by": "Automation", "v": 5.0}]


async def test_per_org_limit_and_log_retention(tmp_path: Path) -> None:
    """An organization has at most webhooks.max_per_org webhooks; log rows go after 90 days."""
    async with Receiver() as receiver:
        async for world in start(tmp_path, receiver, webhooks_max_per_org=1):
            webhook = await world.services.webhooks.create(world.caller, world.spec())
            with pytest.raises(WebhookLimitReached):
                await world.services.webhooks.create(world.caller, world.spec(name="Second"))
            await world.write(1.0)
            await world.services.outbox.run_due()
            assert len(await world.log(webhook)) == 1
            world.clock.now += 89 * 86_400_000
            assert await world.services.webhooks.sweep_log() == 0
            world.clock.now += 2 * 86_400_000
            assert await world.services.webhooks.sweep_log() == 1
            assert await world.log(webhook) == []


async def test_the_failure_email_reaches_the_smtp_server(tmp_path: Path) -> None:
    """At the threshold the failure recipient gets one e-mail through a real SMTP server: the
    webhook's name, its URL without the device token, the last error and the count."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        async with Receiver() as receiver:
            smtp = {
                "smtp_host": "127.0.0.1",
                "smtp_port": controller.port,
                "smtp_security": "none",
                "smtp_from_address": "pinbase@example.com",
            }
            async for world in start(tmp_path, receiver, **smtp):
                receiver.script = [Reply(404), Reply(404)]
                await world.services.webhooks.create(
                    world.caller,
                    world.spec(
                        url=f"{receiver.url}/hook?t={{device_authToken}}",
                        failure_threshold=2,
                        failure_recipients=(world.user_id,),
                    ),
                )
                for value in (1.0, 2.0):
                    await world.write(value)
                    await world.services.outbox.run_due()
                    world.clock.now += 10_000
                await world.services.outbox.run_due()
    finally:
        await asyncio.to_thread(controller.stop)
    [mail] = mailbox.messages
    assert mail["To"] == "ops@acme.io"
    assert mail["Subject"].endswith("Webhook Level hook failed 2 times in a row")
    text = mail.get_body(("plain",))
    assert text is not None
    content = text.get_content()
    assert "HTTP_ERROR: HTTP 404" in content
    assert "Consecutive failed deliveries: 2" in content
    assert "/hook?t=" in content
    assert world.token not in content
