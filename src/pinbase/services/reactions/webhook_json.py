"""The JSON form of a webhook (automations.md §4.1's recommendation), shared by the Platform
API extension, the console and the provisioning file, so that all three read and write one
shape. Secrets are write-only: answers show ``SECRET_MASK``, and a spec read back with the mask
(or without the secret) keeps the stored one (``Auth.keeping_secrets``).

    {"id":9,"name":"Particle LED","status":"ENABLED","version":3,"createdAt":1716000000000,
     "trigger":{"kind":"DEVICE_DATASTREAM","deviceId":7,"dataStreamId":4},"method":"POST",
     "contentType":"JSON","url":"https://api.example.com/led?d={device_id}",
     "body":"{\\"v\\": {device_pinValue}}","form":[],"query":[],
     "headers":[{"key":"X-Source","value":"pinbase"}],
     "auth":{"kind":"BASIC","username":"u","password":"••••••"},
     "failureRecipients":[12],"failureThreshold":5,"legacyResponseToPin":false}
"""

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, TypeVar

from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.ids import DatastreamId, DeviceId, TemplateId
from pinbase.domain.webhooks import (
    Auth,
    AuthKind,
    ContentType,
    Field,
    Method,
    Status,
    Trigger,
    TriggerKind,
    WebhookSpec,
)
from pinbase.storage.webhooks import StoredWebhook, WebhookLogEntry

INT32_MAX = 2**31 - 1
E = TypeVar("E", bound=StrEnum)
Id = TypeVar("Id")


def webhook_json(stored: StoredWebhook) -> dict[str, Any]:
    """A stored webhook as JSON, secrets masked, with its counters."""
    webhook = stored.webhook.masked()
    spec = webhook.spec
    trigger: dict[str, Any] = {"kind": spec.trigger.kind.value}
    if spec.trigger.template_id is not None:
        trigger["templateId"] = spec.trigger.template_id
    if spec.trigger.device_id is not None:
        trigger["deviceId"] = spec.trigger.device_id
    if spec.trigger.datastream_id is not None:
        trigger["dataStreamId"] = spec.trigger.datastream_id
    auth = spec.auth
    auth_json: dict[str, Any] = {"kind": auth.kind.value}
    if auth.kind is AuthKind.BASIC:
        auth_json.update(username=auth.username, password=auth.password)
    elif auth.kind is AuthKind.OAUTH2:
        auth_json.update(
            clientId=auth.client_id, clientSecret=auth.client_secret, tokenUrl=auth.token_url
        )
    return {
        "id": webhook.id,
        "name": spec.name,
        "status": spec.status.value,
        "version": webhook.version,
        "createdAt": webhook.created_at,
        "updatedAt": webhook.updated_at,
        "trigger": trigger,
        "method": spec.method.value,
        "contentType": spec.content_type.value,
        "url": spec.url,
        "body": spec.body,
        "form": [{"key": f.key, "value": f.value} for f in spec.form],
        "query": [{"key": f.key, "value": f.value} for f in spec.query],
        "headers": [{"key": f.key, "value": f.value} for f in spec.headers],
        "auth": auth_json,
        "failureRecipients": list(spec.failure_recipients),
        "failureThreshold": spec.failure_threshold,
        "legacyResponseToPin": spec.legacy_response_to_pin,
        "attempts": stored.attempts,
        "failureStreak": stored.failure_streak,
        "lastTriggeredAt": stored.last_triggered_at,
    }


def log_entry_json(entry: WebhookLogEntry) -> dict[str, Any]:
    """A delivery log row as JSON (§4.9: status, code, date, request URL, trigger id)."""
    return {
        "deliveryId": entry.delivery_id,
        "status": entry.status.value,
        "code": entry.code,
        "reason": entry.reason,
        "error": entry.error,
        "requestUrl": entry.request_url,
        "version": entry.version,
        "attempts": entry.attempts,
        "createdAt": entry.created_at,
        "finishedAt": entry.finished_at,
        "contentType": entry.content_type,
        "retryAfter": entry.retry_after,
        "responseBody": entry.response_body,
        "truncated": entry.truncated,
    }


def parse_webhook_json(data: object) -> WebhookSpec:
    """A spec from its JSON form (``id``, ``version``, counters and times are ignored).

    Raises:
        InvalidDefinition: a field is missing, of the wrong type, or breaks a rule; the
            message names it.
    """
    body = _object(data, "the webhook")
    trigger = _object(body.get("trigger"), "trigger")
    auth = _object(body.get("auth", {"kind": "NONE"}), "auth")
    return WebhookSpec(
        name=_text(body, "name", required=True),
        status=_choice(Status, body.get("status", "ENABLED"), "status"),
        trigger=Trigger(
            kind=_choice(TriggerKind, trigger.get("kind"), "trigger.kind"),
            template_id=_wrap(TemplateId, _optional_id(trigger, "templateId")),
            device_id=_wrap(DeviceId, _optional_id(trigger, "deviceId")),
            datastream_id=_wrap(DatastreamId, _optional_id(trigger, "dataStreamId")),
        ),
        url=_text(body, "url", required=True),
        method=_choice(Method, body.get("method", "POST"), "method"),
        content_type=_choice(ContentType, body.get("contentType", "JSON"), "contentType"),
        body=_text(body, "body"),
        form=_fields(body, "form"),
        query=_fields(body, "query"),
        headers=_fields(body, "headers"),
        auth=Auth(
            kind=_choice(AuthKind, auth.get("kind", "NONE"), "auth.kind"),
            username=_text(auth, "username"),
            password=_text(auth, "password"),
            client_id=_text(auth, "clientId"),
            client_secret=_text(auth, "clientSecret"),
            token_url=_text(auth, "tokenUrl"),
        ),
        failure_recipients=tuple(_ids(body.get("failureRecipients", []), "failureRecipients")),
        failure_threshold=_int(body.get("failureThreshold", 1), "failureThreshold"),
        legacy_response_to_pin=_flag(body.get("legacyResponseToPin", False), "legacyResponseToPin"),
    )


def _object(data: object, what: str) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise InvalidDefinition(f"{what} must be a JSON object")
    return data


def _text(data: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidDefinition(f"{key} must be a string")
    return value


def _flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidDefinition(f"{what} must be true or false")
    return value


def _int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= INT32_MAX:
        raise InvalidDefinition(f"{what} must be a non-negative integer")
    return value


def _optional_id(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    return None if value is None else _int(value, f"trigger.{key}")


def _wrap(kind: Callable[[int], Id], value: int | None) -> Id | None:
    return None if value is None else kind(value)


def _ids(value: object, what: str) -> list[int]:
    if not isinstance(value, list):
        raise InvalidDefinition(f"{what} must be a list of ids")
    return [_int(item, what) for item in value]


def _choice(kind: type[E], value: object, what: str) -> E:
    for member in kind:
        if member.value == value:
            return member
    names = ", ".join(member.value for member in kind)
    raise InvalidDefinition(f"{what} must be one of {names}")


def _fields(data: Mapping[str, Any], key: str) -> tuple[Field, ...]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise InvalidDefinition(f"{key} must be a list of {{key, value}} objects")
    rows = []
    for item in value:
        row = _object(item, f"{key}[]")
        rows.append(Field(key=_text(row, "key", required=True), value=_text(row, "value")))
    return tuple(rows)
