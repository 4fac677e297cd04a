"""Sending webhook requests: the outbox's ``WEBHOOK`` sender (automations.md §4.4, §4.8, §5.1).

Theory of operation. A delivery's payload holds the request rendered when the write was
committed (``webhook_triggers``). Each attempt adds the authorization of the webhook as it is
now (Basic, or an OAuth 2.0 client-credentials token), ``User-Agent`` and
``X-Pinbase-Delivery`` (the delivery id, the same on every retry, so receivers de-duplicate),
and goes through ``OutboundHttp`` (SSRF guard, no redirects, 16 KB read cap, timeouts). The
attempt is counted on the webhook and written to its log row (``WAITING`` with the answer's
status and body) by the outcome's ``record`` step, in the transaction where the outbox finishes
the delivery's row (no commit of its own); the status decides the outcome: 2xx and 302/303 are
sent, 429/502/503/504 and network errors retry on the outbox's schedule, anything else fails at
once. A success is final, so its step also marks the row ``OK`` and ends the failure streak;
otherwise ``on_final`` marks the row ``FAILED`` and moves the streak: a delivery that failed
after its retries counts as one failure, the failure e-mail goes once per streak when it reaches
the threshold, and ``webhooks.disable_after_failures`` disables the webhook (§4.8).

A delivery of a webhook with ``legacyResponseToPin`` carries its triggering write's device and
pin (``RESPOND_TO``): a successful, non-empty, whole answer goes to that pin of the connected
device as ``PinPushed`` (Blynk 1.0's ``vw``, not stored; §4.6). A truncated answer is not sent
(Blynk 1.0 aborted answers over its limit).

Secrets never leave in a log or an answer: the stored URL and every error text are masked
(the device token, the Basic password, the client secret; §4.4).
"""

import base64
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from pinbase import __version__
from pinbase.domain.deliveries import Delivery, DeliveryKind
from pinbase.domain.errors import InvalidPin
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.pins import parse_pin
from pinbase.domain.webhook_requests import Refusal
from pinbase.domain.webhooks import AuthKind, Status, Webhook, mask_secrets
from pinbase.services.bus import Bus, PinPushed
from pinbase.services.clock import Clock
from pinbase.services.reactions.outbound import BlockedTarget, OutboundError, OutboundHttp
from pinbase.services.reactions.outbox import Failed, Outcome, Retry, Sent, Wake
from pinbase.services.reactions.webhook_changes import WebhookSaved
from pinbase.services.reactions.webhook_triggers import RESPOND_TO
from pinbase.storage.base import Store, Transaction
from pinbase.storage.webhooks import LogStatus, WebhookLogEntry

logger = logging.getLogger(__name__)

USER_AGENT = f"Pinbase-Webhook/{__version__}"
"""§4.3's ``User-Agent``."""
SUCCESS_REDIRECTS = frozenset({302, 303})
"""Redirect answers that count as success, never followed (§4.8, §5.5)."""
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
"""Answers retried on the outbox's schedule (§5.1); any other non-success fails at once."""
TOKEN_EARLY_MS = 30_000
"""An OAuth 2.0 token is used until ``expires_in`` minus this (§4.4)."""
DEFAULT_TOKEN_TTL_S = 3600
"""Token lifetime when the token endpoint names none (RFC 6749 §5.1 makes it optional)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallResult:
    """What one HTTP attempt came to.

    ``status`` is the answer's status (None when none came); ``reason`` names a failure
    (``BLOCKED_TARGET``, ``NETWORK_ERROR``, ``HTTP_ERROR``, ``OAUTH_FAILED``) and is None on
    success; ``transient`` says whether the outbox may retry it.
    """

    status: int | None = None
    reason: str | None = None
    error: str | None = None
    transient: bool = False
    body: str = ""
    truncated: bool = False
    content_type: str | None = None
    retry_after: str | None = None
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        """Whether the receiver accepted the request."""
        return self.reason is None


@dataclass(frozen=True, slots=True, kw_only=True)
class FailureNotice:
    """What the failure e-mail says (§4.8): the webhook, its masked URL, the last status or
    error and how many deliveries failed in a row; ``disabled`` when it was just disabled."""

    webhook: Webhook
    masked_url: str
    last_error: str
    streak: int
    disabled: bool = False


FailureMail = Callable[[Transaction, FailureNotice], Awaitable[None]]
"""Queues the failure e-mail to the webhook's failure recipients in ``tx`` (helper ``notify``'s
``Notifications.queue_message`` with source ``WEBHOOK_FAILURE``; runtime.py wires it)."""


async def log_only(_tx: Transaction, notice: FailureNotice) -> None:
    """The failure e-mail's stand-in when no mailer is wired: a log line, no secret in it."""
    logger.warning(
        "webhook.failure_streak webhook_id=%d streak=%d disabled=%s",
        notice.webhook.id,
        notice.streak,
        notice.disabled,
    )


class WebhookSender:
    """Makes webhook requests for the outbox and for the test action."""

    def __init__(
        self,
        store: Store,
        bus: Bus,
        clock: Clock,
        http: OutboundHttp,
        *,
        find: Callable[[int], Webhook | None],
        failure_mail: FailureMail = log_only,
        disable_after_failures: int = 0,
        wake_outbox: Wake | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._http = http
        self._find = find
        self._failure_mail = failure_mail
        self._disable_after = disable_after_failures
        self._wake_outbox = wake_outbox
        self._tokens: dict[tuple[int, int], tuple[str, int]] = {}

    async def send(self, delivery: Delivery) -> Outcome:
        """One attempt of a ``WEBHOOK`` delivery (the outbox's sender)."""
        payload = delivery.payload
        webhook_id = payload.get("webhookId")
        if not isinstance(webhook_id, int) or (
            "request" not in payload and "refused" not in payload
        ):
            return Failed("MALFORMED_PAYLOAD", "not a webhook delivery")
        webhook = self._find(webhook_id)
        if webhook is None:
            return Failed("WEBHOOK_DELETED")
        refused = payload.get("refused")
        if refused is not None:
            entry = self._entry(delivery, webhook, str(payload["maskedUrl"]))
            async with self._store.transaction() as tx:
                await tx.save_webhook_log(entry)
            return Failed(str(refused), Refusal[str(refused)].value)
        request: dict[str, Any] = payload["request"]
        now = self._clock()
        result = await self.call(
            webhook,
            method=request["method"],
            url=request["url"],
            headers=[(str(k), str(v)) for k, v in request["headers"]],
            body=str(request["body"]).encode(),
            delivery_id=delivery.id,
        )
        entry = self._entry(delivery, webhook, str(request["maskedUrl"]), result)
        if result.ok:
            self._respond_to_pin(payload.get(RESPOND_TO), result)
            sent = replace(entry, status=LogStatus.OK, finished_at=self._clock())

            async def record_sent(tx: Transaction, finished: bool) -> None:
                # Sent is final: the log row is OK and the streak ends in the outbox's
                # finishing transaction, so ``on_final`` has nothing left to write.
                await tx.count_webhook_attempt(webhook.id, ts=now, real=True)
                await tx.save_webhook_log(sent if finished else entry)
                if finished:
                    await tx.record_webhook_outcome(webhook.id, ok=True)

            return Sent(str(result.status), record=record_sent)

        async def record(tx: Transaction, _finished: bool) -> None:
            await tx.count_webhook_attempt(webhook.id, ts=now, real=True)
            await tx.save_webhook_log(entry)

        error = result.error or ""
        if result.transient:
            return Retry(error, after_ms=_retry_after_ms(result.retry_after), record=record)
        return Failed(result.reason or "HTTP_ERROR", error, record=record)

    def _respond_to_pin(self, target: object, result: CallResult) -> None:
        """Write a successful answer to the triggering pin (``legacyResponseToPin``, §4.6)."""
        if not isinstance(target, dict) or not result.body or result.truncated:
            return
        try:
            pushed = PinPushed(
                device_id=DeviceId(int(target["deviceId"])),
                datastream_id=DatastreamId(int(target["dataStreamId"])),
                pin=parse_pin(str(target["pin"])),
                label=str(target["label"]),
                value=result.body,
                ts=self._clock(),
            )
        except (KeyError, TypeError, ValueError, InvalidPin):
            logger.warning("webhook.respond_to_pin_malformed")
            return
        self._bus.publish(pushed)

    async def on_final(self, delivery: Delivery, outcome: Sent | Failed) -> None:
        """Finish the log row and move the failure streak (the outbox's ``on_final``)."""
        webhook_id = delivery.payload.get("webhookId")
        if not isinstance(webhook_id, int):
            return
        if isinstance(outcome, Sent) and outcome.record is not None:
            return  # its record step already finished the row in the outbox's transaction
        ok = isinstance(outcome, Sent)
        now = self._clock()
        disabled: Webhook | None = None
        async with self._store.transaction() as tx:
            await tx.finish_webhook_log(
                delivery.id,
                status=LogStatus.OK if ok else LogStatus.FAILED,
                reason=None if isinstance(outcome, Sent) else outcome.reason,
                error=None if isinstance(outcome, Sent) else outcome.error or None,
                finished_at=now,
            )
            streak = await tx.record_webhook_outcome(webhook_id, ok=ok)
            webhook = self._find(webhook_id)
            if isinstance(outcome, Sent) or webhook is None:
                return
            spec = webhook.spec
            secrets = spec.auth.secrets
            request = delivery.payload.get("request") or {}
            masked = str(request.get("maskedUrl") or delivery.payload.get("maskedUrl") or "")
            last = outcome.reason + (f": {outcome.error}" if outcome.error else "")
            if self._disable_after and streak >= self._disable_after and webhook.is_enabled:
                await tx.set_webhook_status(webhook_id, Status.DISABLED, ts=now)
                stored = await tx.find_webhook(webhook_id)
                disabled = None if stored is None else stored.webhook
            mailed = streak == spec.failure_threshold or disabled is not None
            if mailed:
                await self._failure_mail(
                    tx,
                    FailureNotice(
                        webhook=webhook,
                        masked_url=mask_secrets(masked or spec.url, secrets),
                        last_error=mask_secrets(last, secrets),
                        streak=streak,
                        disabled=disabled is not None,
                    ),
                )
        if disabled is not None:
            logger.warning("webhook.auto_disabled webhook_id=%d streak=%d", webhook_id, streak)
            self._bus.publish(WebhookSaved(webhook=disabled))
        if mailed and self._wake_outbox is not None:
            self._wake_outbox(DeliveryKind.EMAIL)

    async def call(
        self,
        webhook: Webhook,
        *,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        delivery_id: str,
    ) -> CallResult:
        """Make one request with the webhook's auth; one token refresh after a ``401``."""
        started = time.monotonic()
        result = await self._call_once(webhook, method, url, headers, body, delivery_id)
        if result.status == 401 and webhook.spec.auth.kind is AuthKind.OAUTH2:
            self._tokens.pop((webhook.id, webhook.version), None)
            result = await self._call_once(webhook, method, url, headers, body, delivery_id)
        elapsed = round((time.monotonic() - started) * 1000)
        return replace(result, duration_ms=elapsed)

    async def _call_once(
        self,
        webhook: Webhook,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        delivery_id: str,
    ) -> CallResult:
        secrets = webhook.spec.auth.secrets
        sent = dict(headers)
        sent["User-Agent"] = USER_AGENT
        sent["X-Pinbase-Delivery"] = delivery_id
        auth = webhook.spec.auth
        if auth.kind is AuthKind.BASIC:
            sent["Authorization"] = _basic(auth.username, auth.password)
        elif auth.kind is AuthKind.OAUTH2:
            token = await self._token(webhook)
            if isinstance(token, CallResult):
                return token
            sent["Authorization"] = f"Bearer {token}"
        try:
            answer = await self._http.request(method, url, headers=sent, content=body)
        except BlockedTarget as blocked:
            return CallResult(reason="BLOCKED_TARGET", error=mask_secrets(str(blocked), secrets))
        except OutboundError as error:
            return CallResult(
                reason="NETWORK_ERROR", error=mask_secrets(str(error), secrets), transient=True
            )
        status = answer.status
        text = answer.body.decode("utf-8", errors="replace").replace("\0", "\ufffd")
        common: dict[str, Any] = {
            "status": status,
            "body": text,
            "truncated": answer.truncated,
            "content_type": _header(answer.headers, "content-type"),
            "retry_after": _header(answer.headers, "retry-after"),
        }
        if 200 <= status < 300 or status in SUCCESS_REDIRECTS:
            return CallResult(**common)
        return CallResult(
            reason="HTTP_ERROR",
            error=f"HTTP {status}",
            transient=status in TRANSIENT_STATUSES,
            **common,
        )

    async def _token(self, webhook: Webhook) -> str | CallResult:
        """A cached client-credentials token, or the failure of getting one (§4.4)."""
        key = (webhook.id, webhook.version)
        now = self._clock()
        cached = self._tokens.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        auth = webhook.spec.auth
        secrets = auth.secrets
        form = {"grant_type": "client_credentials"}
        attempts: tuple[tuple[dict[str, str], dict[str, str]], ...] = (
            ({"Authorization": _basic(auth.client_id, auth.client_secret, encode=True)}, form),
            ({}, {**form, "client_id": auth.client_id, "client_secret": auth.client_secret}),
        )
        last = CallResult(reason="OAUTH_FAILED", error="no token")
        for extra, fields in attempts:
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
                **extra,
            }
            try:
                answer = await self._http.request(
                    "POST", auth.token_url, headers=headers, content=urlencode(fields).encode()
                )
            except BlockedTarget as blocked:
                return CallResult(
                    reason="BLOCKED_TARGET", error=mask_secrets(str(blocked), secrets)
                )
            except OutboundError as error:
                return CallResult(
                    reason="OAUTH_FAILED",
                    error=mask_secrets(f"token URL: {error}", secrets),
                    transient=True,
                )
            token = _parse_token(answer.status, answer.body, answer.truncated)
            if token is not None:
                access, expires_in = token
                self._tokens[key] = (access, now + expires_in * 1000 - TOKEN_EARLY_MS)
                return access
            last = CallResult(
                reason="OAUTH_FAILED",
                error=f"token URL answered HTTP {answer.status}",
                transient=answer.status in TRANSIENT_STATUSES,
                status=answer.status,
            )
            if last.transient:
                break
        return last

    def _entry(
        self,
        delivery: Delivery,
        webhook: Webhook,
        masked_url: str,
        result: CallResult | None = None,
    ) -> WebhookLogEntry:
        payload = delivery.payload
        entry = WebhookLogEntry(
            delivery_id=delivery.id,
            webhook_id=webhook.id,
            version=int(payload.get("version", webhook.version)),
            status=LogStatus.WAITING,
            request_url=masked_url,
            created_at=int(payload.get("createdAt", delivery.due_at)),
            attempts=delivery.attempts,
        )
        if result is None:
            return entry
        return replace(
            entry,
            code=result.status,
            reason=result.reason,
            error=result.error,
            content_type=result.content_type,
            retry_after=result.retry_after,
            response_body=result.body or None,
            truncated=result.truncated,
        )


def _basic(user: str, password: str, *, encode: bool = False) -> str:
    """An RFC 7617 header; ``encode`` form-encodes both first (RFC 6749 §2.3.1, client auth)."""
    if encode:
        user, password = quote(user, safe=""), quote(password, safe="")
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _parse_token(status: int, body: bytes, truncated: bool) -> tuple[str, int] | None:
    if status != 200 or truncated:
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        return None
    expires_in = data.get("expires_in")
    if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
        expires_in = DEFAULT_TOKEN_TTL_S
    return token, expires_in


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value[:255]
    return None


def _retry_after_ms(text: str | None) -> int | None:
    """``Retry-After`` in seconds as milliseconds (an HTTP date is ignored)."""
    if text is None or not text.strip().isdigit():
        return None
    return int(text.strip()) * 1000
