"""The Web Push channel: a PUSH delivery to every browser of its user (automations.md §2.3,
§5.1, §5.3).

For each subscription of ``payload["userId"]``, the payload (less ``userId``) is encrypted for
that browser (``aes128gcm``, RFC 8291: a fresh P-256 key per message, the browser's ``p256dh``
and ``auth``), signed with the server's VAPID key (RFC 8292, ``aud`` = the endpoint's origin)
and posted to the endpoint through ``OutboundHttp``, the SSRF guard (§5.5: a user could
subscribe an internal URL). Headers (RFC 8030): ``TTL: 3600``; ``Urgency`` high for a Critical
or alert message, normal for Warning, low otherwise; ``Topic``, 32 base64url characters of a
hash of the message's ``tag``, so a push service keeps only the newest undelivered message per
device and event.

Per endpoint answer: 2xx delivered; 404/410 the subscription is gone and is deleted; 400, 401,
403, 413 (and a refused target) will not get better; 429, 5xx and network errors are worth a
retry. A retried delivery skips the browsers that already have it (remembered in memory; after
a restart a browser may see it twice, and the ``tag`` makes the second replace the first).
"""

import hashlib
import logging
from collections import OrderedDict
from typing import Any, Protocol

import http_ece
import orjson
from cryptography.hazmat.primitives.asymmetric import ec

from pinbase.domain.deliveries import Delivery
from pinbase.services.clock import Clock
from pinbase.services.reactions.outbound import BlockedTarget, OutboundError, OutboundResponse
from pinbase.services.reactions.outbox import Failed, Outcome, Retry, Sent
from pinbase.services.reactions.push_subscriptions import PushSubscriptions, decode_b64url
from pinbase.services.reactions.vapid import VapidKeys, b64url
from pinbase.storage.push_subscriptions import StoredPushSubscription

logger = logging.getLogger(__name__)

TTL_S = 3600
"""How long a push service keeps an undelivered message (§5.3): an alert older than an hour is
noise, and the inbox keeps it anyway."""
MAX_PAYLOAD_BYTES = 4096 - 86
"""RFC 8291 §4: push services must accept 4096 bytes of encrypted body; the aes128gcm header
(86 bytes with the key id), the padding delimiter and the tag take the rest."""
TOPIC_CHARS = 32
"""RFC 8030 §5.4: a Topic is at most 32 base64url characters."""
GONE = frozenset({404, 410})
REMEMBERED_DELIVERIES = 10_000
"""Deliveries in retry whose delivered browsers are remembered; past that the oldest are
forgotten (a browser may then get a message twice, collapsed by its tag)."""
BROWSER_FIELDS = ("v", "kind", "title", "body", "severity", "alert", "tag", "url", "ts")
"""What the service worker reads (§2.3); ``userId`` stays on the server."""


class PushClient(Protocol):
    """``OutboundHttp``'s request, as this sender uses it."""

    async def request(
        self, method: str, url: str, *, headers: dict[str, str], content: bytes
    ) -> OutboundResponse:
        """Send through the SSRF guard; raises ``BlockedTarget`` or ``OutboundError``."""
        ...


def urgency_of(payload: dict[str, Any]) -> str:
    """RFC 8030 ``Urgency`` for a message (§5.3)."""
    severity = str(payload.get("severity", "")).upper()
    if payload.get("alert") is True or severity == "CRITICAL":
        return "high"
    return "normal" if severity == "WARNING" else "low"


def topic_of(seed: str) -> str:
    """A ``Topic`` for ``seed`` (the message's tag): 32 base64url characters of its SHA-256."""
    return b64url(hashlib.sha256(seed.encode()).digest())[:TOPIC_CHARS]


def encrypt_for(body: bytes, subscription: StoredPushSubscription) -> bytes:
    """``body`` encrypted for one browser (RFC 8291, ``aes128gcm``)."""
    sender_key = ec.generate_private_key(ec.SECP256R1())
    encrypted: bytes = http_ece.encrypt(
        body,
        private_key=sender_key,
        dh=decode_b64url(subscription.p256dh),
        auth_secret=decode_b64url(subscription.auth),
        version="aes128gcm",
    )
    return encrypted


def retry_after_ms(response: OutboundResponse) -> int | None:
    """A ``Retry-After`` given in seconds, in milliseconds (an HTTP date is ignored)."""
    value = response.headers.get("retry-after", "").strip()
    return int(value) * 1000 if value.isdigit() else None


class WebPushSender:
    """Sends PUSH deliveries (the outbox's sender)."""

    def __init__(
        self,
        subscriptions: PushSubscriptions,
        *,
        vapid: VapidKeys,
        client: PushClient,
        clock: Clock,
    ) -> None:
        self._subscriptions = subscriptions
        self._vapid = vapid
        self._client = client
        self._clock = clock
        self._delivered: OrderedDict[str, set[int]] = OrderedDict()

    async def send(self, delivery: Delivery) -> Outcome:
        """Push one delivery to each browser of its user; the outcome the outbox applies."""
        payload = delivery.payload
        user_id = payload.get("userId")
        if not isinstance(user_id, int):
            return Failed("INVALID_PAYLOAD", "userId is missing")
        body = orjson.dumps({k: payload[k] for k in BROWSER_FIELDS if k in payload})
        if len(body) > MAX_PAYLOAD_BYTES:
            return Failed("INVALID_PAYLOAD", f"{len(body)} bytes is over {MAX_PAYLOAD_BYTES}")
        subscriptions = await self._subscriptions.subscriptions_of(user_id)
        done = self._delivered.get(delivery.id, set())
        pending = [s for s in subscriptions if s.id not in done]
        if not subscriptions:
            return Failed("NO_PUSH_TARGET", "the user has no push subscription")
        headers = {
            "TTL": str(TTL_S),
            "Urgency": urgency_of(payload),
            "Topic": topic_of(str(payload.get("tag") or delivery.id)),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
        }
        retry: list[str] = []
        final: list[str] = []
        after: int | None = None
        for subscription in pending:
            outcome = await self._push(subscription, body, headers)
            if outcome is None:
                done.add(subscription.id)
            elif isinstance(outcome, Retry):
                retry.append(outcome.error)
                if outcome.after_ms is not None:
                    after = max(after or 0, outcome.after_ms)
            else:
                final.append(outcome)
        if retry:
            self._remember(delivery.id, done)
            return Retry("; ".join(retry)[:500], after_ms=after)
        self._delivered.pop(delivery.id, None)
        if done:
            return Sent(f"{len(done)} of {len(subscriptions)} browsers")
        if all(reason == "gone" for reason in final):
            return Failed("NO_PUSH_TARGET", "every subscription has expired")
        return Failed("PERMANENT_ERROR", "; ".join(final)[:500])

    async def _push(
        self, subscription: StoredPushSubscription, body: bytes, headers: dict[str, str]
    ) -> Retry | str | None:
        """Push to one browser: None when delivered, a ``Retry``, or why it never will be
        (``gone`` for an expired subscription, which is deleted)."""
        sent = {
            **headers,
            "Authorization": self._vapid.authorization(subscription.endpoint, now_ms=self._clock()),
        }
        try:
            response = await self._client.request(
                "POST", subscription.endpoint, headers=sent, content=encrypt_for(body, subscription)
            )
        except BlockedTarget as error:
            logger.warning("push.blocked subscription=%d rule=%s", subscription.id, error)
            return f"BLOCKED_TARGET {error}"
        except OutboundError as error:
            return Retry(str(error))
        status = response.status
        if 200 <= status < 300:
            await self._subscriptions.delivered(subscription)
            return None
        if status in GONE:
            await self._subscriptions.expired(subscription)
            return "gone"
        if status == 429 or status >= 500:
            return Retry(f"HTTP {status}", after_ms=retry_after_ms(response))
        # 400, 401, 403, 413 (§5.1) and anything else unexpected (a redirect is not followed).
        return f"HTTP {status}"

    def _remember(self, delivery_id: str, done: set[int]) -> None:
        self._delivered[delivery_id] = done
        self._delivered.move_to_end(delivery_id)
        while len(self._delivered) > REMEMBERED_DELIVERIES:
            self._delivered.popitem(last=False)
