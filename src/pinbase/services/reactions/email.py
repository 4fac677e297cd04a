"""The e-mail channel: one SMTP message per EMAIL delivery (automations.md §2.2, §5.1, §5.2).

The notification planner renders everything (``payload``: ``to``, ``subject``, ``text``,
``html``, ``fromName``, ``headers``); this sender only frames it: ``multipart/alternative``
(text, then HTML), ``From: fromName <smtp_from_address>``, a ``Message-ID`` made from the
delivery's id (the same on every retry, so a receiver can drop a duplicate of an at-least-once
delivery), ``Auto-Submitted: auto-generated`` (RFC 3834: no vacation replies) and the payload's
own headers.

Outcomes (§5.1): connection and TLS errors, timeouts and 4xx replies are retried; a 5xx reply
fails the delivery at once (``PERMANENT_ERROR``); a target the outbound guard refuses fails it
(``BLOCKED_TARGET``). The relay guard caps messages per minute for the whole server
(``smtp_max_per_minute``): a message past the cap is retried when the minute has room.
"""

import logging
import re
import ssl
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any, Protocol

import aiosmtplib

from pinbase.domain.deliveries import Delivery
from pinbase.services.clock import Clock
from pinbase.services.reactions.outbound import BlockedTarget, OutboundError
from pinbase.services.reactions.outbox import Failed, Outcome, Retry, Sent
from pinbase.settings import Settings

logger = logging.getLogger(__name__)

MINUTE_MS = 60_000
HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,75}")
"""A header name a payload may add: RFC 5322 allows more, the planner needs no more (``X-…``)."""
FRAMED_HEADERS = frozenset(
    name.lower()
    for name in (
        "From", "To", "Cc", "Bcc", "Sender", "Subject", "Date", "Message-ID", "Reply-To",
        "Auto-Submitted", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
        "Return-Path",
    )
)  # fmt: skip
"""Headers this sender writes itself: a payload cannot replace them."""


class TargetGuard(Protocol):
    """The outbound guard's check of a host this server is about to connect to (§5.5)."""

    async def check_host(self, host: str, port: int) -> str:
        """The vetted address of ``host``; raises ``BlockedTarget`` when one is refused."""
        ...


class InvalidPayload(ValueError):
    """An EMAIL payload this sender cannot frame (a planner bug, not a reason to retry)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpConfig:
    """The ``smtp_*`` settings the sender uses (``password`` already read from its file)."""

    host: str
    port: int
    security: str
    username: str
    password: str
    from_address: str
    from_name: str
    reply_to: str
    timeout_s: float
    validate_certs: bool
    max_per_minute: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "SmtpConfig | None":
        """The configuration, or None when ``smtp_host`` is empty (no e-mail channel)."""
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_secret(),
            from_address=settings.smtp_from_address,
            from_name=settings.smtp_from_name,
            reply_to=settings.smtp_reply_to,
            timeout_s=settings.smtp_timeout_s,
            validate_certs=settings.smtp_validate_certs,
            max_per_minute=settings.smtp_max_per_minute,
        )

    def describe(self) -> str:
        """Where mail goes, for log lines: never the password, nor the user name."""
        login = " login=yes" if self.username else ""
        return f"host={self.host} port={self.port} security={self.security}{login}"


def build_message(delivery: Delivery, config: SmtpConfig, *, now_ms: int) -> EmailMessage:
    """The message of an EMAIL delivery.

    Raises:
        InvalidPayload: a field is missing or not text, a header name is not allowed, or a value
            holds a line break.
    """
    payload = delivery.payload
    to, subject = _text(payload, "to"), _text(payload, "subject")
    text, html = _text(payload, "text"), _text(payload, "html")
    from_name = payload.get("fromName") or config.from_name
    if not isinstance(from_name, str):
        raise InvalidPayload("fromName is text")
    headers = payload.get("headers") or {}
    if not isinstance(headers, dict):
        raise InvalidPayload("headers is an object")
    domain = config.from_address.rpartition("@")[2]
    message = EmailMessage()
    try:
        message["From"] = formataddr((from_name, config.from_address))
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(datetime.fromtimestamp(now_ms / 1000, UTC))
        message["Message-ID"] = f"<{delivery.id}@{domain}>"
        message["Auto-Submitted"] = "auto-generated"
        if config.reply_to:
            message["Reply-To"] = config.reply_to
        for name, value in headers.items():
            if not HEADER_NAME.fullmatch(str(name)) or name.lower() in FRAMED_HEADERS:
                raise InvalidPayload(f"header {name!r} is not one a payload may set")
            if not isinstance(value, str):
                raise InvalidPayload(f"header {name} is text")
            message[name] = value
        message.set_content(text)
        message.add_alternative(html, subtype="html")
    except (ValueError, TypeError) as error:  # a line break in a header value, a bad address
        raise InvalidPayload(str(error)) from error
    return message


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or (key == "to" and "@" not in value):
        raise InvalidPayload(f"{key} is missing or not text")
    return value


def mask_address(address: str) -> str:
    """``a***@example.com``: enough to tell recipients apart in a log line, not to collect them."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else "***"


class RelayGuard:
    """At most ``per_minute`` messages in any 60 s (0: no limit), on the injected clock."""

    def __init__(self, clock: Clock, *, per_minute: int) -> None:
        self._clock = clock
        self._per_minute = per_minute
        self._sent: deque[int] = deque()

    def wait_ms(self) -> int:
        """0 and count a message when the minute has room; else how long until it has."""
        if not self._per_minute:
            return 0
        now = self._clock()
        while self._sent and self._sent[0] <= now - MINUTE_MS:
            self._sent.popleft()
        if len(self._sent) >= self._per_minute:
            return self._sent[0] + MINUTE_MS - now
        self._sent.append(now)
        return 0


class EmailSender:
    """Sends EMAIL deliveries through the configured SMTP server (the outbox's sender)."""

    def __init__(
        self,
        config: SmtpConfig,
        *,
        guard: TargetGuard,
        clock: Clock,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        """``tls_context`` replaces the system's trust store (tests trust their own CA)."""
        self._config = config
        self._guard = guard
        self._clock = clock
        self._tls_context = tls_context
        self._relay = RelayGuard(clock, per_minute=config.max_per_minute)

    async def send(self, delivery: Delivery) -> Outcome:
        """Send one delivery; the outcome the outbox applies (module docstring)."""
        try:
            message = build_message(delivery, self._config, now_ms=self._clock())
        except InvalidPayload as error:
            logger.error("email.invalid_payload delivery=%s error=%s", delivery.id, error)
            return Failed("INVALID_PAYLOAD", str(error))
        wait = self._relay.wait_ms()
        if wait:
            return Retry("smtp_max_per_minute reached", after_ms=wait)
        try:
            await self._guard.check_host(self._config.host, self._config.port)
        except BlockedTarget as error:
            return Failed("BLOCKED_TARGET", str(error))
        except OutboundError as error:  # the name did not resolve
            return Retry(str(error))
        try:
            client = self._client()
            async with client:
                response = await client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as refused:
            return _reply_outcome(refused.recipients[0].code, refused.recipients[0].message)
        except aiosmtplib.SMTPResponseException as error:
            return _reply_outcome(error.code, error.message)
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as error:
            # Connection refused or lost, TLS handshake, timeouts: the server may be back later.
            return Retry(f"{type(error).__name__}: {error}")
        logger.info(
            "email.sent delivery=%s to=%s", delivery.id, mask_address(delivery.payload["to"])
        )
        return Sent(str(response[1])[:200])

    async def check_connection(self) -> None:
        """Connect, log in and ``NOOP`` (at start-up): log whether mail can go out. Never
        raises: the server starts anyway, and deliveries retry until the SMTP server works."""
        try:
            await self._guard.check_host(self._config.host, self._config.port)
            async with self._client() as client:
                await client.noop()
        except (BlockedTarget, OutboundError, aiosmtplib.SMTPException, OSError) as error:
            logger.warning(
                "smtp.unavailable %s error=%s: %s",
                self._config.describe(),
                type(error).__name__,
                error,
            )
            return
        logger.info("smtp.ready %s", self._config.describe())

    def _client(self) -> aiosmtplib.SMTP:
        config = self._config
        return aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username or None,
            password=(config.password if config.username else None),
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            validate_certs=config.validate_certs,
            tls_context=self._tls_context if config.validate_certs else None,
            timeout=config.timeout_s,
        )


def _reply_outcome(code: int, text: str) -> Outcome:
    """§5.1: a 4xx reply is retried, a 5xx one is final."""
    error = f"{code} {text}"[:500]
    if 500 <= code < 600:
        return Failed("PERMANENT_ERROR", error)
    return Retry(error)
