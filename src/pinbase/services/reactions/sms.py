"""The SMS channel: an SMS delivery POSTed to the configured HTTP gateway (automations.md §2.1).

§2.1 recommends a pluggable gateway, off by default. The one kind Pinbase ships needs no
vendor: ``PINBASE_SMS_GATEWAY_URL`` receives ``{"to": "+4917…", "text": "…"}`` as JSON (text
already cut to 160 characters), with ``Authorization: Bearer <PINBASE_SMS_GATEWAY_TOKEN>`` when
a token is set, and ``X-Pinbase-Delivery`` (the outbox id, stable across retries, for the
gateway to de-duplicate on, §5.1). The call goes through ``OutboundHttp`` like a webhook's: the
SSRF guard and its allow-lists, the timeouts, the response cap, no redirects.

Per answer: 2xx sent; 429, 5xx and network errors retried (``Retry-After`` honoured); a refused
target and any other status fail at once. Neither the number nor the text is logged.
"""

import logging
from typing import Protocol

import orjson

from pinbase.domain.deliveries import Delivery
from pinbase.services.reactions.outbound import BlockedTarget, OutboundError, OutboundResponse
from pinbase.services.reactions.outbox import Failed, Outcome, Retry, Sent
from pinbase.services.reactions.web_push import retry_after_ms

logger = logging.getLogger(__name__)


class GatewayClient(Protocol):
    """``OutboundHttp``'s request, as this sender uses it."""

    async def request(
        self, method: str, url: str, *, headers: dict[str, str], content: bytes
    ) -> OutboundResponse:
        """Send through the SSRF guard; raises ``BlockedTarget`` or ``OutboundError``."""
        ...


class HttpSmsSender:
    """Sends SMS deliveries to an HTTP gateway (the outbox's sender for ``SMS``)."""

    def __init__(self, url: str, *, client: GatewayClient, token: str = "") -> None:
        self._url = url
        self._client = client
        self._token = token

    async def send(self, delivery: Delivery) -> Outcome:
        """POST one SMS; the outcome the outbox applies."""
        to, text = delivery.payload.get("to"), delivery.payload.get("text")
        if not isinstance(to, str) or not isinstance(text, str) or not to:
            return Failed("INVALID_PAYLOAD", "to and text are required")
        headers = {"Content-Type": "application/json", "X-Pinbase-Delivery": delivery.id}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            response = await self._client.request(
                "POST", self._url, headers=headers, content=orjson.dumps({"to": to, "text": text})
            )
        except BlockedTarget as error:
            logger.warning("sms.blocked rule=%s", error.rule)
            return Failed("BLOCKED_TARGET", str(error))
        except OutboundError as error:
            return Retry(str(error))
        status = response.status
        if 200 <= status < 300:
            return Sent(f"HTTP {status}")
        if status == 429 or status >= 500:
            return Retry(f"HTTP {status}", after_ms=retry_after_ms(response))
        return Failed("PERMANENT_ERROR", f"HTTP {status}")
