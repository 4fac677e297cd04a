"""Webhook use cases (automations.md §4): list, read, create, update, delete, enable, disable,
test and read the log. The Platform API's Pinbase extension, the console and the provisioning
file are adapters over these calls.

Who may act. A caller sees and edits the webhooks of its scope (its home organization and those
below), the rule every Pinbase use case follows; another organization's webhook is reported
exactly like a missing one. A new webhook belongs to the caller's home organization. Its trigger
must name a device or template of the scope and one of its datastreams, and its failure
recipients must be users of the scope.

Theory of operation. Every change commits, then announces ``WebhookSaved`` or
``WebhookRemoved``; ``WebhookTriggers.apply`` updates the trigger index from it. Deleting a
webhook cancels its queued deliveries in the same transaction. ``version`` goes up on every
edit, enable and disable, and each log row keeps the version it used (§4.9).
"""

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from pinbase.domain.deliveries import DeliveryKind
from pinbase.domain.errors import InvalidDefinition, PinbaseError, UnknownDatastream
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.webhook_requests import (
    Placeholders,
    RequestRefused,
    build_request,
)
from pinbase.domain.webhooks import Status, Webhook, WebhookSpec
from pinbase.services.bus import Bus
from pinbase.services.clock import Clock
from pinbase.services.directory import Directory
from pinbase.services.reactions.webhook_changes import WebhookRemoved, WebhookSaved
from pinbase.services.reactions.webhook_placeholders import (
    device_placeholders,
    time_values,
    value_text,
)
from pinbase.services.reactions.webhook_sender import CallResult, WebhookSender
from pinbase.services.reactions.webhook_triggers import CurrentValue, RenderLimits
from pinbase.services.scope import Scoped, device_in_scope, template_in_scope
from pinbase.storage.base import Store, Transaction
from pinbase.storage.webhooks import StoredWebhook, WebhookLogEntry

logger = logging.getLogger(__name__)

TEST_INTERVAL_MS = 2000
"""One test per 2 s per user (§4.8)."""
MAX_LOG_PAGE = 1000
"""The most log rows one read returns."""
LOG_RETENTION_MS = 90 * 86_400_000
"""Webhook log rows are kept 90 days (§5.6)."""
SWEEP_INTERVAL_S = 3600.0
"""How often old log rows are deleted."""


class WebhookNotFound(PinbaseError):
    """No such webhook in the caller's scope; ``args[0]`` is the id asked for."""


class WebhookLimitReached(PinbaseError):
    """The organization has ``webhooks.max_per_org`` webhooks already; ``args[0]`` is it."""


class TooManyTests(PinbaseError):
    """The same user tested a webhook less than 2 s ago (§4.8)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookTestResult:
    """A test's answer (§4.8): the status (None when no answer came), how long it took, up to
    16 KB of the body and the error, if any."""

    status: int | None
    duration_ms: int
    body: str | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        """``{"status":…,"durationMs":…,"body":…,"error":…}``."""
        return {
            "status": self.status,
            "durationMs": self.duration_ms,
            "body": self.body,
            "error": self.error,
        }


class Webhooks:
    """The webhook use cases; see the module docstring."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        bus: Bus,
        clock: Clock,
        *,
        sender: WebhookSender,
        current: CurrentValue,
        limits: RenderLimits,
        max_per_org: int = 100,
        enterprise_triggers: bool = False,
    ) -> None:
        self._store = store
        self._directory = directory
        self._bus = bus
        self._clock = clock
        self._sender = sender
        self._current = current
        self._limits = limits
        self._max_per_org = max_per_org
        self._enterprise = enterprise_triggers
        self._last_test: dict[str, int] = {}
        self._reports: asyncio.Queue[WebhookLogEntry] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def list(self, caller: Scoped) -> list[StoredWebhook]:
        """The webhooks of the caller's scope, by id."""
        async with self._store.transaction() as tx:
            every = await tx.list_webhooks(None)
        return [s for s in every if caller.can_see(s.webhook.org_id)]

    async def get(self, caller: Scoped, webhook_id: int) -> StoredWebhook:
        """One webhook of the caller's scope.

        Raises:
            WebhookNotFound: missing or outside the scope.
        """
        async with self._store.transaction() as tx:
            return await self._find(tx, caller, webhook_id)

    async def create(self, caller: Scoped, spec: WebhookSpec) -> Webhook:
        """A new webhook of the caller's home organization.

        Raises:
            InvalidDefinition: the trigger or recipients are not of the scope, or the trigger
                kind needs ``webhooks.enterprise_triggers``.
            DeviceNotFound, TemplateNotFound: the trigger names something outside the scope.
            WebhookLimitReached: the organization has ``webhooks.max_per_org`` already.
        """
        await self._check(caller, spec)
        now = self._clock()
        async with self._store.transaction() as tx:
            if await tx.count_webhooks(caller.org_id) >= self._max_per_org:
                raise WebhookLimitReached(self._max_per_org)
            await self._check_recipients(tx, caller, spec)
            webhook = await tx.add_webhook(
                Webhook(id=0, org_id=caller.org_id, spec=spec, created_at=now, updated_at=now)
            )
        self._bus.publish(WebhookSaved(webhook=webhook))
        logger.info("webhook.created webhook_id=%d org_id=%d", webhook.id, webhook.org_id)
        return webhook

    async def update(self, caller: Scoped, webhook_id: int, spec: WebhookSpec) -> Webhook:
        """Replace every setting of a webhook; secrets sent masked or empty are kept.

        Raises:
            WebhookNotFound, InvalidDefinition, DeviceNotFound, TemplateNotFound.
        """
        async with self._store.transaction() as tx:
            stored = await self._find(tx, caller, webhook_id)
            await self._check(caller, spec)
            await self._check_recipients(tx, caller, spec)
            previous = stored.webhook
            spec = replace(spec, auth=spec.auth.keeping_secrets(previous.spec.auth))
            webhook = replace(
                previous, spec=spec, version=previous.version + 1, updated_at=self._clock()
            )
            await tx.update_webhook(webhook)
            if spec.status is Status.ENABLED and previous.spec.status is Status.DISABLED:
                await tx.record_webhook_outcome(webhook.id, ok=True)
        self._bus.publish(WebhookSaved(webhook=webhook))
        logger.info("webhook.updated webhook_id=%d version=%d", webhook.id, webhook.version)
        return webhook

    async def delete(self, caller: Scoped, webhook_id: int) -> None:
        """Delete a webhook with its log; its queued deliveries are cancelled.

        Raises:
            WebhookNotFound.
        """
        async with self._store.transaction() as tx:
            await self._find(tx, caller, webhook_id)
            await tx.cancel_deliveries(kind=DeliveryKind.WEBHOOK, source_ref=str(webhook_id))
            await tx.delete_webhook(webhook_id)
        self._bus.publish(WebhookRemoved(webhook_id=webhook_id))
        logger.info("webhook.deleted webhook_id=%d", webhook_id)

    async def enable(self, caller: Scoped, webhook_id: int) -> Webhook:
        """Let triggers fire the webhook again; its failure streak starts afresh (§4.8).

        Raises:
            WebhookNotFound.
        """
        return await self._set_status(caller, webhook_id, Status.ENABLED)

    async def disable(self, caller: Scoped, webhook_id: int) -> Webhook:
        """Stop triggers from firing the webhook (queued deliveries still go).

        Raises:
            WebhookNotFound.
        """
        return await self._set_status(caller, webhook_id, Status.DISABLED)

    async def test(
        self,
        caller: Scoped,
        *,
        actor: str,
        webhook_id: int | None = None,
        spec: WebhookSpec | None = None,
        device_id: int | None = None,
    ) -> WebhookTestResult:
        """Send a saved webhook (``webhook_id``) or an unsaved one (``spec``) once, now (§4.8).

        Placeholders come from the trigger's device (or ``device_id``, a device of the
        template) and its stored values, without a written value; the SSRF guard, limits and
        auth apply, retries and the rate bucket do not. Not logged; a saved webhook's Attempts
        counts it. ``actor`` names the user (one test per 2 s each).

        Raises:
            WebhookNotFound, InvalidDefinition, DeviceNotFound, TemplateNotFound,
            TooManyTests: the same actor tested less than 2 s ago.
        """
        now = self._clock()
        last = self._last_test.get(actor)
        if last is not None and now - last < TEST_INTERVAL_MS:
            raise TooManyTests(actor)
        if spec is None:
            if webhook_id is None:
                raise InvalidDefinition("a test needs a webhook id or the webhook's settings")
            webhook = (await self.get(caller, webhook_id)).webhook
        else:
            auth = spec.auth
            if webhook_id is not None:
                saved = (await self.get(caller, webhook_id)).webhook
                auth = auth.keeping_secrets(saved.spec.auth)
            await self._check(caller, spec)
            webhook = Webhook(
                id=webhook_id or 0, org_id=caller.org_id, spec=replace(spec, auth=auth)
            )
        self._last_test[actor] = now
        data, token = await self._test_data(caller, webhook.spec, device_id, now)
        try:
            request = build_request(
                webhook.spec,
                data,
                legacy=self._limits.legacy_placeholders,
                secrets=(token, *webhook.spec.auth.secrets) if token else webhook.spec.auth.secrets,
                max_body_bytes=self._limits.max_body_bytes,
                max_url_chars=self._limits.max_url_chars,
            )
        except RequestRefused as refused:
            return WebhookTestResult(
                status=None, duration_ms=0, body=None, error=refused.reason.name
            )
        result: CallResult = await self._sender.call(
            webhook,
            method=request.method,
            url=request.url,
            headers=list(request.headers),
            body=request.body.encode(),
            delivery_id=uuid.uuid4().hex,
        )
        if webhook.id:
            async with self._store.transaction() as tx:
                await tx.count_webhook_attempt(webhook.id, ts=now, real=False)
        error = None
        if not result.ok:
            error = result.reason if result.error is None else f"{result.reason}: {result.error}"
        return WebhookTestResult(
            status=result.status,
            duration_ms=result.duration_ms,
            body=result.body if result.status is not None else None,
            error=error,
        )

    async def log(
        self,
        caller: Scoped,
        webhook_id: int,
        *,
        since: int,
        until: int,
        offset: int = 0,
        limit: int = 100,
    ) -> Sequence[WebhookLogEntry]:
        """The webhook's delivery log with since <= created_at < until, newest first.

        Raises:
            WebhookNotFound.
        """
        async with self._store.transaction() as tx:
            await self._find(tx, caller, webhook_id)
            return await tx.read_webhook_log(
                webhook_id,
                since=since,
                until=until,
                offset=max(offset, 0),
                limit=min(max(limit, 0), MAX_LOG_PAGE),
            )

    def report(self, entry: WebhookLogEntry) -> None:
        """Queue a log row made on the write path (``RATE_LIMITED``); written by a task."""
        self._reports.put_nowait(entry)

    def start(self) -> None:
        """Start the task that writes reported log rows."""
        self._task = asyncio.get_running_loop().create_task(self._write_reports(), name="wh-log")

    async def stop(self) -> None:
        """Write what was reported, then end the task."""
        if self._task is not None:
            await self._reports.join()
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def flush(self) -> None:
        """Wait until every reported row is written (tests)."""
        await self._reports.join()

    async def sweep_forever(self) -> None:
        """Age the log out every hour (upkeep task)."""
        while True:
            try:
                swept = await self.sweep_log()
                if swept:
                    logger.info("webhook.log_swept rows=%d", swept)
            except Exception:
                logger.exception("webhook.log_sweep_failed")
            await asyncio.sleep(SWEEP_INTERVAL_S)

    async def sweep_log(self) -> int:
        """Delete log rows older than 90 days; how many went."""
        async with self._store.transaction() as tx:
            return await tx.delete_webhook_log_before(self._clock() - LOG_RETENTION_MS)

    async def _write_reports(self) -> None:
        while True:
            entry = await self._reports.get()
            try:
                async with self._store.transaction() as tx:
                    await tx.save_webhook_log(entry)
            except Exception:
                logger.exception("webhook.log_write_failed webhook_id=%d", entry.webhook_id)
            finally:
                self._reports.task_done()

    async def _set_status(self, caller: Scoped, webhook_id: int, status: Status) -> Webhook:
        async with self._store.transaction() as tx:
            await self._find(tx, caller, webhook_id)
            await tx.set_webhook_status(webhook_id, status, ts=self._clock())
            stored = await self._find(tx, caller, webhook_id)
        self._bus.publish(WebhookSaved(webhook=stored.webhook))
        logger.info("webhook.status webhook_id=%d status=%s", webhook_id, status.value)
        return stored.webhook

    async def _find(self, tx: Transaction, caller: Scoped, webhook_id: int) -> StoredWebhook:
        stored = await tx.find_webhook(webhook_id)
        if stored is None or not caller.can_see(stored.webhook.org_id):
            raise WebhookNotFound(webhook_id)
        return stored

    async def _check(self, caller: Scoped, spec: WebhookSpec) -> None:
        trigger = spec.trigger
        if not trigger.kind.is_datastream and not self._enterprise:
            raise InvalidDefinition(
                f"the {trigger.kind.value} trigger needs the webhooks.enterprise_triggers setting"
            )
        template = None
        if trigger.device_id is not None:
            bound = await device_in_scope(self._directory, caller, trigger.device_id)
            template = bound.template
        elif trigger.template_id is not None:
            template = await template_in_scope(self._directory, caller, trigger.template_id)
        if trigger.datastream_id is not None and template is not None:
            try:
                template.datastream(trigger.datastream_id)
            except UnknownDatastream:
                raise InvalidDefinition(
                    f"the template has no datastream with id {trigger.datastream_id}"
                ) from None

    async def _check_recipients(self, tx: Transaction, caller: Scoped, spec: WebhookSpec) -> None:
        for user_id in spec.failure_recipients:
            user = await tx.find_user(user_id)
            if user is None or not caller.can_see(user.org_id):
                raise InvalidDefinition(f"no user with id {user_id} in your organization")

    async def _test_data(
        self, caller: Scoped, spec: WebhookSpec, device_id: int | None, now: int
    ) -> tuple[Placeholders, str]:
        """Placeholders of a test: the device's stored values, no written value (§4.8)."""
        trigger = spec.trigger
        chosen = trigger.device_id if trigger.device_id is not None else device_id
        if chosen is None:
            return Placeholders(values=time_values(now)), ""
        bound = await device_in_scope(self._directory, caller, chosen)
        if trigger.template_id is not None and bound.device.template_id != trigger.template_id:
            raise InvalidDefinition("the test device is not of the webhook's template")
        current: dict[int, str] = {}
        for datastream in bound.template.datastreams:
            value = self._current(DeviceId(bound.device.id), datastream)
            if value is not None:
                current[datastream.id] = value_text(datastream, value)
        organization = self._directory.organization(OrgId(bound.device.org_id))
        data = device_placeholders(
            bound.device,
            bound.template,
            org_name="" if organization is None else organization.name,
            ts=now,
            origin="console",
            written=None,
            current=current,
        )
        return data, bound.device.token
