"""``SqlWebhooks``: the ``WebhookRepository`` half of ``SqlTransaction``. A mixin: it uses the
transaction's connection. The spec's settings beyond its name, status and trigger are one JSON
column, written and read by ``spec_config`` and ``spec_from_row``."""

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.domain.ids import DatastreamId, DeviceId, OrgId, TemplateId
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
from pinbase.storage import schema
from pinbase.storage.webhooks import LogStatus, StoredWebhook, WebhookLogEntry

Id = TypeVar("Id")
_HOOKS = schema.webhooks
_LOG = schema.webhook_log


class SqlWebhooks:
    """Webhook reads and writes over ``self._db``."""

    _db: AsyncConnection

    async def add_webhook(self, webhook: Webhook) -> Webhook:
        """Store a new webhook; returns it with its assigned id."""
        result = await self._db.execute(
            _HOOKS.insert()
            .values(
                org_id=webhook.org_id,
                created_at=webhook.created_at,
                **_columns(webhook),
            )
            .returning(_HOOKS.c.id)
        )
        return Webhook(
            id=int(result.scalar_one()),
            org_id=webhook.org_id,
            spec=webhook.spec,
            version=webhook.version,
            created_at=webhook.created_at,
            updated_at=webhook.updated_at,
        )

    async def update_webhook(self, webhook: Webhook) -> bool:
        """Replace a webhook's settings, version and update time."""
        result = await self._db.execute(
            update(_HOOKS).where(_HOOKS.c.id == webhook.id).values(**_columns(webhook))
        )
        return bool(result.rowcount)

    async def delete_webhook(self, webhook_id: int) -> bool:
        """Delete a webhook and its log.

        The webhook's row is locked first: a log row another transaction (a delivery ending,
        on this node or another) writes meanwhile is either committed before, and deleted
        here, or waits and finds no webhook (``save_webhook_log``); never a row left pointing
        at a deleted webhook (a foreign key violation, a 500).
        """
        await self._db.execute(
            select(_HOOKS.c.id).where(_HOOKS.c.id == webhook_id).with_for_update()
        )
        await self._db.execute(delete(_LOG).where(_LOG.c.webhook_id == webhook_id))
        result = await self._db.execute(delete(_HOOKS).where(_HOOKS.c.id == webhook_id))
        return bool(result.rowcount)

    async def find_webhook(self, webhook_id: int) -> StoredWebhook | None:
        """One webhook of any organization, or None."""
        row = (await self._db.execute(select(_HOOKS).where(_HOOKS.c.id == webhook_id))).first()
        return None if row is None else _stored(row)

    async def list_webhooks(self, org_id: OrgId | None) -> list[StoredWebhook]:
        """The webhooks of one organization (None: of all), by id."""
        query = select(_HOOKS).order_by(_HOOKS.c.id)
        if org_id is not None:
            query = query.where(_HOOKS.c.org_id == org_id)
        return [_stored(row) for row in await self._db.execute(query)]

    async def count_webhooks(self, org_id: OrgId) -> int:
        """How many webhooks one organization has."""
        query = select(func.count()).select_from(_HOOKS).where(_HOOKS.c.org_id == org_id)
        return int((await self._db.execute(query)).scalar_one())

    async def count_webhook_attempt(self, webhook_id: int, *, ts: int, real: bool) -> None:
        """Add one to the attempts counter (and set the last triggered time for a real one)."""
        values: dict[str, Any] = {"attempts": _HOOKS.c.attempts + 1}
        if real:
            values["last_triggered_at"] = ts
        await self._db.execute(update(_HOOKS).where(_HOOKS.c.id == webhook_id).values(**values))

    async def record_webhook_outcome(self, webhook_id: int, *, ok: bool) -> int:
        """End or extend the failure streak; returns the streak now (0 when gone)."""
        streak = 0 if ok else _HOOKS.c.failure_streak + 1
        result = await self._db.execute(
            update(_HOOKS)
            .where(_HOOKS.c.id == webhook_id)
            .values(failure_streak=streak)
            .returning(_HOOKS.c.failure_streak)
        )
        row = result.first()
        return 0 if row is None else int(row[0])

    async def set_webhook_status(self, webhook_id: int, status: Status, *, ts: int) -> bool:
        """Enable or disable a webhook; enabling resets the failure streak."""
        values: dict[str, Any] = {
            "status": status.value,
            "version": _HOOKS.c.version + 1,
            "updated_at": ts,
        }
        if status is Status.ENABLED:
            values["failure_streak"] = 0
        result = await self._db.execute(
            update(_HOOKS).where(_HOOKS.c.id == webhook_id).values(**values)
        )
        return bool(result.rowcount)

    async def save_webhook_log(self, entry: WebhookLogEntry) -> None:
        """Insert the log row of ``entry.delivery_id`` or replace the one stored; nothing
        when the webhook is gone (its row is key-share locked: see ``delete_webhook``)."""
        exists = (
            select(_HOOKS.c.id)
            .where(_HOOKS.c.id == entry.webhook_id)
            .with_for_update(read=True, key_share=True)
        )
        if (await self._db.execute(exists)).first() is None:
            return
        values = _log_columns(entry)
        result = await self._db.execute(
            update(_LOG).where(_LOG.c.delivery_id == entry.delivery_id).values(**values)
        )
        if not result.rowcount:
            await self._db.execute(_LOG.insert().values(delivery_id=entry.delivery_id, **values))

    async def finish_webhook_log(
        self,
        delivery_id: str,
        *,
        status: LogStatus,
        reason: str | None,
        error: str | None,
        finished_at: int,
    ) -> bool:
        """Set the final state of a delivery's row, keeping what its last attempt recorded."""
        result = await self._db.execute(
            update(_LOG)
            .where(_LOG.c.delivery_id == delivery_id)
            .values(status=status.value, reason=reason, error=error, finished_at=finished_at)
        )
        return bool(result.rowcount)

    async def read_webhook_log(
        self, webhook_id: int, *, since: int, until: int, offset: int, limit: int
    ) -> list[WebhookLogEntry]:
        """Log rows of a webhook with since <= created_at < until, newest first."""
        query = (
            select(_LOG)
            .where(
                _LOG.c.webhook_id == webhook_id,
                _LOG.c.created_at >= since,
                _LOG.c.created_at < until,
            )
            .order_by(_LOG.c.created_at.desc(), _LOG.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [_entry(row) for row in await self._db.execute(query)]

    async def delete_webhook_log_before(self, ts: int) -> int:
        """Delete log rows created before ``ts``."""
        result = await self._db.execute(delete(_LOG).where(_LOG.c.created_at < ts))
        return int(result.rowcount)


async def delete_org_webhooks(db: AsyncConnection, org_id: OrgId) -> None:
    """Delete an organization's webhooks and their logs (deleting the organization)."""
    hooks = select(_HOOKS.c.id).where(_HOOKS.c.org_id == org_id)
    await db.execute(hooks.with_for_update())  # as in ``delete_webhook``
    await db.execute(delete(_LOG).where(_LOG.c.webhook_id.in_(hooks.scalar_subquery())))
    await db.execute(delete(_HOOKS).where(_HOOKS.c.org_id == org_id))


def spec_config(spec: WebhookSpec) -> dict[str, Any]:
    """The JSON form of what a spec holds beyond its name, status and trigger."""
    auth = spec.auth
    return {
        "method": spec.method.value,
        "contentType": spec.content_type.value,
        "url": spec.url,
        "body": spec.body,
        "form": [[f.key, f.value] for f in spec.form],
        "query": [[f.key, f.value] for f in spec.query],
        "headers": [[f.key, f.value] for f in spec.headers],
        "auth": {
            "kind": auth.kind.value,
            "username": auth.username,
            "password": auth.password,
            "clientId": auth.client_id,
            "clientSecret": auth.client_secret,
            "tokenUrl": auth.token_url,
        },
        "failureRecipients": list(spec.failure_recipients),
        "failureThreshold": spec.failure_threshold,
        "legacyResponseToPin": spec.legacy_response_to_pin,
    }


def spec_from_row(row: Row[Any]) -> WebhookSpec:
    """The spec a ``webhooks`` row holds."""
    config = orjson.loads(row.config)
    auth = config["auth"]
    trigger = Trigger(
        kind=TriggerKind(row.trigger_kind),
        template_id=_id(TemplateId, row.trigger_template_id),
        device_id=_id(DeviceId, row.trigger_device_id),
        datastream_id=_id(DatastreamId, row.trigger_datastream_id),
    )
    return WebhookSpec(
        name=row.name,
        status=Status(row.status),
        trigger=trigger,
        method=Method(config["method"]),
        content_type=ContentType(config["contentType"]),
        url=config["url"],
        body=config["body"],
        form=tuple(Field(key=k, value=v) for k, v in config["form"]),
        query=tuple(Field(key=k, value=v) for k, v in config["query"]),
        headers=tuple(Field(key=k, value=v) for k, v in config["headers"]),
        auth=Auth(
            kind=AuthKind(auth["kind"]),
            username=auth["username"],
            password=auth["password"],
            client_id=auth["clientId"],
            client_secret=auth["clientSecret"],
            token_url=auth["tokenUrl"],
        ),
        failure_recipients=tuple(config["failureRecipients"]),
        failure_threshold=config["failureThreshold"],
        # Rows written before the flag existed lack the key (no migration needed: JSON column).
        legacy_response_to_pin=bool(config.get("legacyResponseToPin", False)),
    )


def _id(kind: Callable[[int], Id], value: int | None) -> Id | None:
    return None if value is None else kind(int(value))


def _columns(webhook: Webhook) -> dict[str, Any]:
    spec = webhook.spec
    return {
        "name": spec.name,
        "status": spec.status.value,
        "trigger_kind": spec.trigger.kind.value,
        "trigger_template_id": spec.trigger.template_id,
        "trigger_device_id": spec.trigger.device_id,
        "trigger_datastream_id": spec.trigger.datastream_id,
        "config": orjson.dumps(spec_config(spec)).decode(),
        "version": webhook.version,
        "updated_at": webhook.updated_at,
    }


def _stored(row: Row[Any]) -> StoredWebhook:
    webhook = Webhook(
        id=int(row.id),
        org_id=OrgId(row.org_id),
        spec=spec_from_row(row),
        version=int(row.version),
        created_at=int(row.created_at),
        updated_at=int(row.updated_at),
    )
    return StoredWebhook(
        webhook=webhook,
        attempts=int(row.attempts),
        failure_streak=int(row.failure_streak),
        last_triggered_at=None if row.last_triggered_at is None else int(row.last_triggered_at),
    )


def _log_columns(entry: WebhookLogEntry) -> dict[str, Any]:
    return {
        "webhook_id": entry.webhook_id,
        "version": entry.version,
        "status": entry.status.value,
        "code": entry.code,
        "reason": entry.reason,
        "error": entry.error,
        "request_url": entry.request_url,
        "attempts": entry.attempts,
        "created_at": entry.created_at,
        "finished_at": entry.finished_at,
        "content_type": entry.content_type,
        "retry_after": entry.retry_after,
        "response_body": entry.response_body,
        "truncated": entry.truncated,
    }


def _entry(row: Row[Any]) -> WebhookLogEntry:
    return WebhookLogEntry(
        delivery_id=row.delivery_id,
        webhook_id=int(row.webhook_id),
        version=int(row.version),
        status=LogStatus(row.status),
        request_url=row.request_url,
        created_at=int(row.created_at),
        attempts=int(row.attempts),
        code=row.code,
        reason=row.reason,
        error=row.error,
        finished_at=row.finished_at,
        content_type=row.content_type,
        retry_after=row.retry_after,
        response_body=row.response_body,
        truncated=bool(row.truncated),
    )
