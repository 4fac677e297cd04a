"""The webhook editor's form (automations.md §4.1, issue #10 item 3): what the page shows and
what a posted form holds, and the webhook JSON (``webhook_json``) the use cases read.

Key/value rows (web form, query, headers) are numbered fields (``form-key-3``); the page always
shows one empty row more, and "Add row" shows the form again with another, nothing saved.
Secrets are write-only: the page never shows them, an empty secret field on an edit keeps the
stored one (sent as ``SECRET_MASK``, which the use case reads as "unchanged").
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.webhooks import SECRET_MASK

MAX_FORM_ROWS = 60
"""The most rows of one kind read from a form: past the model's own limit, so the use case
answers with its message rather than the form dropping rows silently."""
ROW_KINDS = ("form", "query", "header")
TRIGGERS = (
    ("DEVICE_DATASTREAM", "Device Datastream Update"),
    ("TEMPLATE_DATASTREAM", "Template Datastream Update"),
    ("DEVICE_FIRST_CONNECTED", "First-Time Device Connection"),
    ("DEVICE_ACTIVATED", "New Device Activated By User"),
    ("PRODUCT_LOG_EVENT", "Product Log Event"),
    ("USER_ADDED", "New User Added"),
    ("USER_DELETED", "User Account Deleted"),
    ("USER_METADATA_UPDATED", "User Metadata Updated"),
    ("USER_SIGNED_UP", "New User Sign-Up"),
    ("ORGANIZATION_CREATED", "New Organization Created"),
)
TRIGGER_LABELS = dict(TRIGGERS)
METHODS = (("POST", "Post"), ("GET", "Get"), ("PUT", "Put"), ("DELETE", "Delete"))
CONTENT_TYPES = (("WEB_FORM", "Web Form"), ("JSON", "Custom JSON"), ("PLAIN_TEXT", "Plain text"))
AUTH_KINDS = (("NONE", "None"), ("BASIC", "Basic Auth"), ("OAUTH2", "OAuth 2.0"))
PLACEHOLDERS = (
    "{device_id}",
    "{device_name}",
    "{device_pinValue}",
    "{device_pin}",
    "{device_dataStreamId}",
    "{device_templateId}",
    "{device_productName}",
    "{device_orgName}",
    "{device_authToken}",
    "{device_state}",
    "{user_email}",
    "{timestamp_unix}",
    "/pin/",
)
"""Suggestions for the "Dynamic Data" list (§4.5); the use case knows them all."""


@dataclass(slots=True, kw_only=True)
class WebhookState:
    """The editor's fields as text, rows as (key, value) pairs, ticked recipients as ids."""

    fields: dict[str, str] = field(default_factory=dict)
    rows: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    recipients: list[str] = field(default_factory=list)
    has_password: bool = False
    has_client_secret: bool = False

    def get(self, name: str, default: str = "") -> str:
        """A field's text."""
        return self.fields.get(name, default)

    def shown_rows(self, kind: str) -> list[tuple[str, str]]:
        """The rows of ``kind`` with the one empty row the page adds."""
        return [*self.rows.get(kind, []), ("", "")]


def blank_state() -> WebhookState:
    """A new webhook: Device Datastream Update, POST, Custom JSON, no auth, threshold 5."""
    return WebhookState(
        fields={
            "trigger": "DEVICE_DATASTREAM",
            "method": "POST",
            "content-type": "JSON",
            "auth": "NONE",
            "threshold": "5",
        }
    )


def state_of(webhook: Mapping[str, Any]) -> WebhookState:
    """The form showing a saved webhook (its ``webhook_json``; secrets come masked)."""
    trigger: Mapping[str, Any] = webhook.get("trigger") or {}
    auth: Mapping[str, Any] = webhook.get("auth") or {}
    fields = {
        "name": str(webhook.get("name", "")),
        "trigger": str(trigger.get("kind", "")),
        "url": str(webhook.get("url", "")),
        "method": str(webhook.get("method", "POST")),
        "content-type": str(webhook.get("contentType", "JSON")),
        "body": str(webhook.get("body", "")),
        "auth": str(auth.get("kind", "NONE")),
        "username": str(auth.get("username") or ""),
        "client-id": str(auth.get("clientId") or ""),
        "token-url": str(auth.get("tokenUrl") or ""),
        "threshold": str(webhook.get("failureThreshold", 1)),
    }
    if webhook.get("legacyResponseToPin"):
        fields["response-to-pin"] = "on"
    if trigger.get("deviceId") is not None:
        fields["device-target"] = f"{trigger['deviceId']}:{trigger.get('dataStreamId')}"
    if trigger.get("templateId") is not None:
        fields["template-target"] = f"{trigger['templateId']}:{trigger.get('dataStreamId')}"
    return WebhookState(
        fields=fields,
        rows={
            "form": _pairs(webhook.get("form")),
            "query": _pairs(webhook.get("query")),
            "header": _pairs(webhook.get("headers")),
        },
        recipients=[str(user) for user in webhook.get("failureRecipients", [])],
        has_password=bool(auth.get("password")),
        has_client_secret=bool(auth.get("clientSecret")),
    )


def _pairs(rows: object) -> list[tuple[str, str]]:
    if not isinstance(rows, list):
        return []
    return [(str(row.get("key", "")), str(row.get("value", ""))) for row in rows]


def posted_state(form: FormData) -> WebhookState:
    """The form as posted; rows with an empty key are dropped."""
    fields = {
        name: value if name in ("body", "password", "client-secret") else value.strip()
        for name, value in form.multi_items()
        if isinstance(value, str) and not name.startswith(ROW_KINDS)
    }
    rows: dict[str, list[tuple[str, str]]] = {}
    for kind in ROW_KINDS:
        pairs = []
        for index in range(MAX_FORM_ROWS + 1):
            key = form.get(f"{kind}-key-{index}")
            value = form.get(f"{kind}-value-{index}")
            if key is None and value is None:
                break
            key = key.strip() if isinstance(key, str) else ""
            if key:
                pairs.append((key, value.strip() if isinstance(value, str) else ""))
        rows[kind] = pairs
    recipients = [user for user in form.getlist("recipients") if isinstance(user, str)]
    return WebhookState(fields=fields, rows=rows, recipients=recipients)


def add_row(state: WebhookState, kind: str) -> None:
    """Keep an empty row of ``kind`` so the page shows two (``op=row-<kind>``)."""
    if kind in ROW_KINDS:
        state.rows.setdefault(kind, []).append(("", ""))


def webhook_data(state: WebhookState, *, editing: bool, status: str) -> dict[str, Any]:
    """The webhook JSON of a posted form, for ``parse_webhook_json``.

    Only the fields of the chosen trigger, content type and authorization method are sent, so
    a field left filled in a hidden part does not make the model refuse the webhook.

    Raises:
        InvalidDefinition: a field the form itself types holds something else.
    """
    kind = state.get("trigger")
    trigger: dict[str, Any] = {"kind": kind}
    datastream_trigger = kind in ("DEVICE_DATASTREAM", "TEMPLATE_DATASTREAM")
    if kind == "DEVICE_DATASTREAM":
        trigger["deviceId"], trigger["dataStreamId"] = _target(
            state.get("device-target"), "device and datastream"
        )
    elif kind == "TEMPLATE_DATASTREAM":
        trigger["templateId"], trigger["dataStreamId"] = _target(
            state.get("template-target"), "template and datastream"
        )
    content = state.get("content-type")
    auth_kind = state.get("auth", "NONE")
    auth: dict[str, Any] = {"kind": auth_kind}
    keep = SECRET_MASK if editing else ""
    if auth_kind == "BASIC":
        auth["username"] = state.get("username")
        auth["password"] = state.get("password") or keep
    elif auth_kind == "OAUTH2":
        auth["clientId"] = state.get("client-id")
        auth["clientSecret"] = state.get("client-secret") or keep
        auth["tokenUrl"] = state.get("token-url")
    pairs = {
        kind: [{"key": key, "value": value} for key, value in state.rows.get(kind, []) if key]
        for kind in ROW_KINDS
    }
    return {
        "name": state.get("name"),
        "status": status,
        "trigger": trigger,
        "url": state.get("url"),
        "method": state.get("method"),
        "contentType": content,
        "body": "" if content == "WEB_FORM" else state.get("body"),
        "form": pairs["form"] if content == "WEB_FORM" else [],
        "query": pairs["query"],
        "headers": pairs["header"],
        "auth": auth,
        "failureRecipients": [_number(user, "a failure receiver") for user in state.recipients],
        "failureThreshold": _number(state.get("threshold") or "1", "the failure threshold"),
        "legacyResponseToPin": datastream_trigger and state.get("response-to-pin") == "on",
    }


def _number(text: str, label: str) -> int:
    if not text.isdecimal() or len(text) > 9:
        raise InvalidDefinition(f"{label} must be a whole number")
    return int(text)


def _target(text: str, label: str) -> tuple[int, int]:
    if not text:
        raise InvalidDefinition(f"choose the {label}")
    first, _, second = text.partition(":")
    return _number(first, label), _number(second, label)
