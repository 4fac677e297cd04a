"""The datastream triggers of webhooks on the write path (automations.md §4.2, §4.3, §4.7).

Theory of operation. ``WebhookTriggers`` is the ``WriteTriggers`` that ``Telemetry.record``
asks on every write. It keeps an index from (template, datastream) and (device, datastream) to
the enabled webhooks that watch them, and the sets of watched templates and devices, so a write
of a device nobody watches costs two set lookups, and a watched one a dictionary lookup per
written value. For a match it renders the request (placeholders from the device, the written
value and the current values ``Telemetry`` holds) and returns a ``WEBHOOK`` delivery, which the
history writer commits with the write's points: a committed value never loses its call.

The index changes in one place, ``apply``, from the ``WebhookSaved`` / ``WebhookRemoved``
messages the use cases announce after committing (``services.state``'s single-owner rule).
Facts the write path cannot query (a device's tag names, its owner's e-mail) are copied into
memory for the devices webhooks watch, at start, after a change and every
``FACTS_REFRESH_S`` (docs/decisions.md).

Rate. A token bucket of ``rate_per_minute`` per webhook (limits.md: 10 per minute); a trigger
over it is dropped, never queued, and reported so the log shows ``RATE_LIMITED``. A request
that breaks a limit after substitution (``BODY_TOO_LARGE``, ``URL_TOO_LONG``, a line break in a
header) is still queued, marked refused, so that it fails through the same path as any other
failure (log row, failure streak, e-mail).
"""

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pinbase.domain.datastreams import Datastream
from pinbase.domain.deliveries import Delivery, DeliveryKind, new_delivery
from pinbase.domain.devices import Device
from pinbase.domain.ids import DatastreamId, DeviceId, TemplateId
from pinbase.domain.value_types import Value
from pinbase.domain.webhook_requests import Placeholders, RequestRefused, build_request, mask_url
from pinbase.domain.webhooks import TriggerKind, Webhook
from pinbase.services.bus import Bus
from pinbase.services.clock import Clock
from pinbase.services.directory import Directory
from pinbase.services.reactions.webhook_changes import (
    WEBHOOK_CHANGES,
    WebhookChange,
    WebhookSaved,
)
from pinbase.services.reactions.webhook_placeholders import device_placeholders, value_text
from pinbase.storage.base import Store
from pinbase.storage.webhooks import LogStatus, WebhookLogEntry

logger = logging.getLogger(__name__)

SOURCE = "WEBHOOK"
"""The outbox ``source`` of webhook deliveries."""
FACTS_REFRESH_S = 60.0
"""How often tag names and owner e-mails of watched devices are read again: a tag put on a
device shows in ``{device_tags}`` within a minute."""
MINUTE_MS = 60_000

CurrentValue = Callable[[DeviceId, Datastream], Value | None]
Report = Callable[[WebhookLogEntry], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderLimits:
    """The settings request building obeys (automations.md §5.6)."""

    legacy_placeholders: bool = True
    max_body_bytes: int = 5120
    max_url_chars: int = 1024
    rate_per_minute: int = 10


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: int


@dataclass(frozen=True, slots=True)
class _Facts:
    tags: tuple[str, ...]
    owner_email: str


class WebhookTriggers:
    """The ``WriteTriggers`` of webhooks; see the module docstring."""

    def __init__(
        self,
        bus: Bus,
        directory: Directory,
        clock: Clock,
        *,
        current: CurrentValue,
        report: Report,
        limits: RenderLimits,
    ) -> None:
        self._directory = directory
        self._clock = clock
        self._current = current
        self._report = report
        self._limits = limits
        self._webhooks: dict[int, Webhook] = {}
        self._by_template: dict[tuple[TemplateId, DatastreamId], tuple[Webhook, ...]] = {}
        self._by_device: dict[tuple[DeviceId, DatastreamId], tuple[Webhook, ...]] = {}
        # The first test of every write: is anything of this template or device watched?
        self._watched_templates: frozenset[TemplateId] = frozenset()
        self._watched_devices: frozenset[DeviceId] = frozenset()
        self._buckets: dict[int, _Bucket] = {}
        self._facts: dict[DeviceId, _Facts] = {}
        self._stale = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # A cache: webhooks saved on any node of the installation trigger on this one too.
        self._unsubscribe = tuple(
            bus.subscribe(topic, self.apply, remote=True) for topic in WEBHOOK_CHANGES
        )

    def load(self, webhooks: Iterable[Webhook]) -> None:
        """Index the stored webhooks at start."""
        for webhook in webhooks:
            self._webhooks[webhook.id] = webhook
        self._reindex()

    def apply(self, change: WebhookChange) -> None:
        """Bring the index in line with a committed change (the only code that changes it)."""
        if isinstance(change, WebhookSaved):
            self._webhooks[change.webhook.id] = change.webhook
        else:
            self._webhooks.pop(change.webhook_id, None)
            self._buckets.pop(change.webhook_id, None)
        self._reindex()
        self._stale.set()

    def webhook(self, webhook_id: int) -> Webhook | None:
        """The stored webhook with that id (enabled or not), or None."""
        return self._webhooks.get(webhook_id)

    def deliveries_for(
        self,
        device: Device,
        writes: Sequence[tuple[Datastream, Value]],
        *,
        ts: int,
        origin: str,
    ) -> list[Delivery]:
        """The webhook calls a write causes (``WriteTriggers``); [] at once when none watch."""
        deliveries: list[Delivery] = []
        template_id, device_id = device.template_id, device.id
        if template_id not in self._watched_templates and device_id not in self._watched_devices:
            return deliveries
        by_template, by_device = self._by_template, self._by_device
        for datastream, value in writes:
            hooks = by_template.get((template_id, datastream.id), ())
            more = by_device.get((device_id, datastream.id))
            if more:
                hooks += more
            for webhook in hooks:
                delivery = self._fire(webhook, device, (datastream, value), writes, ts, origin)
                if delivery is not None:
                    deliveries.append(delivery)
        return deliveries

    def facts(self, device_id: DeviceId) -> tuple[tuple[str, ...], str]:
        """The tag names and owner e-mail known for a watched device (empty when unknown)."""
        facts = self._facts.get(device_id)
        return ((), "") if facts is None else (facts.tags, facts.owner_email)

    def start(self, store: Store) -> None:
        """Read the watched devices' facts now, and again after changes and every minute."""
        self._stale.set()
        self._task = asyncio.get_running_loop().create_task(
            self._refresh_loop(store), name="webhook-facts"
        )

    async def stop(self) -> None:
        """End the refresh task and stop listening to the bus."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def refresh_facts(self, store: Store) -> None:
        """Copy the tag names and owner e-mails of every watched device into memory."""
        device_ids = self._devices_to_describe()
        tags: dict[DeviceId, list[str]] = {}
        owners: dict[DeviceId, str] = {}
        async with store.transaction() as tx:
            for link in await tx.list_tag_links(device_ids):
                tags.setdefault(link.device_id, []).append(link.tag.name)
            for device_id in device_ids:
                bound = self._directory.by_id(device_id)
                owner = None if bound is None else bound.device.owner_user_id
                if owner is not None:
                    user = await tx.find_user(owner)
                    if user is not None:
                        owners[device_id] = user.email
        self._facts = {
            device_id: _Facts(tuple(tags.get(device_id, ())), owners.get(device_id, ""))
            for device_id in device_ids
        }

    def _devices_to_describe(self) -> list[DeviceId]:
        watched: set[DeviceId] = {device_id for device_id, _ in self._by_device}
        for template_id, _ in self._by_template:
            watched.update(b.device.id for b in self._directory.devices_of_template(template_id))
        return sorted(watched)

    async def _refresh_loop(self, store: Store) -> None:
        while True:
            try:
                async with asyncio.timeout(FACTS_REFRESH_S):
                    await self._stale.wait()
            except TimeoutError:
                pass
            self._stale.clear()
            try:
                await self.refresh_facts(store)
            except Exception:
                logger.exception("webhook.facts_refresh_failed")

    def _reindex(self) -> None:
        by_template: dict[tuple[TemplateId, DatastreamId], list[Webhook]] = {}
        by_device: dict[tuple[DeviceId, DatastreamId], list[Webhook]] = {}
        for webhook in sorted(self._webhooks.values(), key=lambda w: w.id):
            trigger = webhook.spec.trigger
            if not webhook.is_enabled or trigger.datastream_id is None:
                continue
            if trigger.kind is TriggerKind.TEMPLATE_DATASTREAM and trigger.template_id is not None:
                key_t = (trigger.template_id, trigger.datastream_id)
                by_template.setdefault(key_t, []).append(webhook)
            elif trigger.device_id is not None:
                key_d = (trigger.device_id, trigger.datastream_id)
                by_device.setdefault(key_d, []).append(webhook)
        self._by_template = {key: tuple(hooks) for key, hooks in by_template.items()}
        self._by_device = {key: tuple(hooks) for key, hooks in by_device.items()}
        self._watched_templates = frozenset(template_id for template_id, _ in by_template)
        self._watched_devices = frozenset(device_id for device_id, _ in by_device)

    def _take_token(self, webhook_id: int, now: int) -> bool:
        rate = self._limits.rate_per_minute
        if rate <= 0:
            return True
        bucket = self._buckets.get(webhook_id)
        if bucket is None:
            bucket = self._buckets[webhook_id] = _Bucket(float(rate), now)
        bucket.tokens = min(float(rate), bucket.tokens + (now - bucket.at) * rate / MINUTE_MS)
        bucket.at = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def enabled(self, kind: TriggerKind) -> list[Webhook]:
        """The enabled webhooks of one trigger kind (the non-datastream triggers)."""
        return [w for w in self._webhooks.values() if w.is_enabled and w.spec.trigger.kind is kind]

    def delivery(
        self, webhook: Webhook, data: Placeholders, *, secrets: tuple[str, ...], ts: int
    ) -> Delivery | None:
        """The delivery one trigger of ``webhook`` makes, or None when its rate bucket is empty
        (reported ``RATE_LIMITED``). A request over a limit is queued marked refused."""
        secrets = (*secrets, *webhook.spec.auth.secrets)
        now = self._clock()
        if not self._take_token(webhook.id, now):
            self._report(
                WebhookLogEntry(
                    delivery_id=uuid.uuid4().hex,
                    webhook_id=webhook.id,
                    version=webhook.version,
                    status=LogStatus.FAILED,
                    request_url=mask_url(webhook.spec.url, secrets),
                    created_at=ts,
                    reason="RATE_LIMITED",
                    error=f"over {self._limits.rate_per_minute} requests per minute",
                    finished_at=now,
                )
            )
            return None
        payload: dict[str, object] = {
            "webhookId": webhook.id,
            "version": webhook.version,
            "createdAt": ts,
        }
        try:
            request = build_request(
                webhook.spec,
                data,
                legacy=self._limits.legacy_placeholders,
                secrets=secrets,
                max_body_bytes=self._limits.max_body_bytes,
                max_url_chars=self._limits.max_url_chars,
            )
        except RequestRefused as refused:
            payload["refused"] = refused.reason.name
            payload["maskedUrl"] = mask_url(webhook.spec.url, secrets)
        else:
            payload["request"] = request.payload()
        return new_delivery(
            DeliveryKind.WEBHOOK,
            payload,
            due_at=ts,
            source=SOURCE,
            source_ref=str(webhook.id),
            org_id=webhook.org_id,
        )

    def device_data(
        self,
        device: Device,
        *,
        ts: int,
        origin: str,
        written: tuple[Datastream, Value] | None = None,
        writes: Sequence[tuple[Datastream, Value]] = (),
    ) -> Placeholders | None:
        """The placeholders of a trigger about ``device``: its current values (``writes``
        included, as they are not in ``Telemetry`` yet), names, tags; None when it is gone."""
        bound = self._directory.by_id(device.id)
        if bound is None:
            return None
        written_now = {ds.id: value for ds, value in writes}
        current: dict[int, str] = {}
        for datastream in bound.template.datastreams:
            value = written_now.get(datastream.id)
            if value is None:
                value = self._current(device.id, datastream)
            if value is not None:
                current[datastream.id] = value_text(datastream, value)
        organization = self._directory.organization(device.org_id)
        tags, owner_email = self.facts(device.id)
        return device_placeholders(
            device,
            bound.template,
            org_name="" if organization is None else organization.name,
            ts=ts,
            origin=origin,
            written=written,
            current=current,
            tags=tags,
            owner_email=owner_email,
        )

    def _fire(
        self,
        webhook: Webhook,
        device: Device,
        written: tuple[Datastream, Value],
        writes: Sequence[tuple[Datastream, Value]],
        ts: int,
        origin: str,
    ) -> Delivery | None:
        data = self.device_data(device, ts=ts, origin=origin, written=written, writes=writes)
        if data is None:
            return None
        return self.delivery(webhook, data, secrets=(device.token,), ts=ts)
