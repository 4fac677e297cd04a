"""Webhooks and their delivery log (migration 0014) on every backend.

Same rules as ``test_contract.py``: each test gets an empty, migrated database.
"""

from dataclasses import replace

from test_contract import T0
from test_contract_console_sessions import add_org

from pinbase.domain.ids import DatastreamId, OrgId, TemplateId
from pinbase.domain.webhooks import (
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
from pinbase.storage.sql import SqlStore
from pinbase.storage.webhooks import LogStatus, WebhookLogEntry

SPEC = WebhookSpec(
    name="Tank level",
    trigger=Trigger(
        kind=TriggerKind.TEMPLATE_DATASTREAM,
        template_id=TemplateId(3),
        datastream_id=DatastreamId(4),
    ),
    url="https://example.com/hook?d={device_id}",
    method=Method.PUT,
    content_type=ContentType.WEB_FORM,
    form=(Field(key="v", value="{device_pinValue}"),),
    query=(Field(key="q", value="1"),),
    headers=(Field(key="X-Source", value="pinbase"),),
    auth=Auth(
        kind=AuthKind.OAUTH2,
        client_id="cid",
        client_secret="secret",
        token_url="https://auth.example.com/token",
    ),
    failure_recipients=(5, 6),
    failure_threshold=3,
    legacy_response_to_pin=True,
)


async def add_hook(store: SqlStore, org_id: OrgId, spec: WebhookSpec = SPEC) -> Webhook:
    """A stored webhook of ``org_id``."""
    async with store.transaction() as tx:
        return await tx.add_webhook(
            Webhook(id=0, org_id=org_id, spec=spec, created_at=T0, updated_at=T0)
        )


def log_entry(hook: Webhook, delivery_id: str, *, at: int) -> WebhookLogEntry:
    """A waiting log row of ``hook``."""
    return WebhookLogEntry(
        delivery_id=delivery_id,
        webhook_id=hook.id,
        version=hook.version,
        status=LogStatus.WAITING,
        request_url="https://example.com/hook?d=1",
        created_at=at,
        attempts=1,
    )


async def test_a_webhook_reads_back_as_stored(store: SqlStore) -> None:
    """Every field of the spec, secrets included, survives a round trip; lists are per org."""
    acme, other = await add_org(store, "Acme"), await add_org(store, "Other")
    hook = await add_hook(store, acme)
    await add_hook(store, other, replace(SPEC, name="Other"))
    async with store.transaction() as tx:
        stored = await tx.find_webhook(hook.id)
        assert stored is not None
        assert stored.webhook == hook
        assert (stored.attempts, stored.failure_streak, stored.last_triggered_at) == (0, 0, None)
        assert [s.webhook.id for s in await tx.list_webhooks(acme)] == [hook.id]
        assert len(await tx.list_webhooks(None)) == 2
        assert await tx.count_webhooks(acme) == 1
        assert await tx.find_webhook(hook.id + 100) is None


async def test_update_counters_and_status(store: SqlStore) -> None:
    """Edits replace the spec; attempts count; the streak grows and ends; enabling resets it."""
    hook = await add_hook(store, await add_org(store, "Acme"))
    edited = replace(hook, spec=replace(SPEC, name="Renamed"), version=2, updated_at=T0 + 1)
    async with store.transaction() as tx:
        assert await tx.update_webhook(edited)
        assert not await tx.update_webhook(replace(edited, id=hook.id + 9))
        await tx.count_webhook_attempt(hook.id, ts=T0 + 5, real=True)
        await tx.count_webhook_attempt(hook.id, ts=T0 + 9, real=False)
        assert await tx.record_webhook_outcome(hook.id, ok=False) == 1
        assert await tx.record_webhook_outcome(hook.id, ok=False) == 2
        assert await tx.record_webhook_outcome(hook.id + 9, ok=False) == 0
        assert await tx.set_webhook_status(hook.id, Status.DISABLED, ts=T0 + 10)
    async with store.transaction() as tx:
        stored = await tx.find_webhook(hook.id)
        assert stored is not None
        assert stored.webhook.spec.name == "Renamed"
        assert stored.webhook.spec.status is Status.DISABLED
        assert (stored.webhook.version, stored.attempts, stored.failure_streak) == (3, 2, 2)
        assert stored.last_triggered_at == T0 + 5
        assert await tx.set_webhook_status(hook.id, Status.ENABLED, ts=T0 + 11)
        assert await tx.record_webhook_outcome(hook.id, ok=False) == 1
        assert await tx.record_webhook_outcome(hook.id, ok=True) == 0
        assert not await tx.set_webhook_status(hook.id + 9, Status.ENABLED, ts=T0)


async def test_log_rows_are_upserted_read_newest_first_and_aged(store: SqlStore) -> None:
    """A delivery's row is replaced by its final state; reads filter by time; retention and
    deleting the webhook remove rows; a row for a deleted webhook is ignored."""
    hook = await add_hook(store, await add_org(store, "Acme"))
    body = "é" * 100
    async with store.transaction() as tx:
        await tx.save_webhook_log(log_entry(hook, "a", at=T0))
        await tx.save_webhook_log(log_entry(hook, "b", at=T0 + 10))
        await tx.save_webhook_log(log_entry(hook, "c", at=T0 + 20))
        done = replace(
            log_entry(hook, "a", at=T0),
            status=LogStatus.OK,
            code=200,
            finished_at=T0 + 1,
            content_type="text/plain",
            retry_after="5",
            response_body=body,
            truncated=True,
            reason=None,
            error=None,
        )
        await tx.save_webhook_log(done)
        await tx.save_webhook_log(log_entry(replace(hook, id=hook.id + 9), "z", at=T0))
        assert await tx.finish_webhook_log(
            "b", status=LogStatus.FAILED, reason="GAVE_UP", error="503", finished_at=T0 + 30
        )
        assert not await tx.finish_webhook_log(
            "z", status=LogStatus.OK, reason=None, error=None, finished_at=T0
        )
    async with store.transaction() as tx:
        rows = await tx.read_webhook_log(hook.id, since=T0, until=T0 + 20, offset=0, limit=10)
        assert [r.delivery_id for r in rows] == ["b", "a"]
        assert rows[1] == done
        assert (rows[0].status, rows[0].reason, rows[0].error, rows[0].finished_at) == (
            LogStatus.FAILED,
            "GAVE_UP",
            "503",
            T0 + 30,
        )
        assert rows[0].attempts == 1
        page = await tx.read_webhook_log(hook.id, since=0, until=T0 + 99, offset=1, limit=1)
        assert [r.delivery_id for r in page] == ["b"]
        assert await tx.delete_webhook_log_before(T0 + 10) == 1
        assert await tx.delete_webhook(hook.id)
        assert not await tx.delete_webhook(hook.id)
        assert await tx.read_webhook_log(hook.id, since=0, until=T0 + 99, offset=0, limit=9) == []


async def test_deleting_the_organization_deletes_its_webhooks(store: SqlStore) -> None:
    """An organization goes with its webhooks and their logs."""
    org = await add_org(store, "Acme")
    hook = await add_hook(store, org)
    async with store.transaction() as tx:
        await tx.save_webhook_log(log_entry(hook, "a", at=T0))
    async with store.transaction() as tx:
        assert await tx.delete_organization(org) == ()
        assert await tx.find_webhook(hook.id) is None
