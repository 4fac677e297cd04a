"""The e-mail channel against a real SMTP server (``aiosmtpd`` on loopback), through the real
outbox dispatcher on a hand clock (automations.md §5.1, §5.2, §5.7): the message and its
headers, a 451 retried into exactly one stored message, a 550 failed at once, STARTTLS and
implicit TLS with login, the relay guard, and a target the outbound guard refuses."""

import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from hand_clock import T0, HandClock

from pinbase.domain.deliveries import Delivery, DeliveryKind, new_delivery
from pinbase.runtime import open_store
from pinbase.services.reactions.email import EmailSender, SmtpConfig, mask_address
from pinbase.services.reactions.outbound import OutboundHttp
from pinbase.services.reactions.outbox import Failed, Outbox, Sent
from pinbase.settings import Settings
from pinbase.storage.sql import SqlStore
from pinbase.testing import free_port
from tls_certs import self_signed

LOOPBACK = ("127.0.0.1/32",)
FROM = "pinbase@example.com"
LOGIN = ("mailer", "s3cret")


@dataclass
class Mailbox:
    """An aiosmtpd handler: answers DATA with scripted replies (then 250), keeps what it took."""

    replies: list[str] = field(default_factory=list)
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = self.replies.pop(0) if self.replies else "250 Message accepted"
        if reply.startswith("250"):
            parsed = message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            self.messages.append(parsed)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return reply

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        """Accept only ``LOGIN``'s user and password."""
        user, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append(user)
        return AuthResult(success=(user, password) == LOGIN, handled=False)


def smtp_server(mailbox: Mailbox, **kwargs: Any) -> Controller:
    """A started aiosmtpd server on a free loopback port."""
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


def tls_pair(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a throwaway certificate for 127.0.0.1, and a client context that
    trusts it."""
    cert, key = self_signed(folder)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    return server_tls, ssl.create_default_context(cafile=str(cert))


def implicit_tls_login_server(mailbox: Mailbox, server_tls: ssl.SSLContext) -> Controller:
    """A started implicit-TLS server that takes the mailbox's login.

    aiosmtpd counts only STARTTLS as encryption, so AUTH over implicit TLS needs
    auth_require_tls off (and then not auth_required, which it warns about); the logins the
    mailbox records show the sender authenticated.
    """
    return smtp_server(
        mailbox, ssl_context=server_tls, authenticator=mailbox.authenticate, auth_require_tls=False
    )


@pytest.fixture
def mailbox() -> Mailbox:
    """A mailbox accepting everything."""
    return Mailbox()


@pytest.fixture
def plain_server(mailbox: Mailbox) -> Iterator[Controller]:
    """SMTP without TLS on loopback (``smtp_security = none``)."""
    controller = smtp_server(mailbox)
    yield controller
    controller.stop()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    """A migrated SQLite store for the outbox."""
    opened = await open_store(Settings(data_dir=tmp_path / "data"))
    try:
        yield opened
    finally:
        await opened.close()


def config(port: int, **changes: Any) -> SmtpConfig:
    """The sender's settings for the test server on ``port``."""
    base = SmtpConfig(
        host="127.0.0.1",
        port=port,
        security="none",
        username="",
        password="",
        from_address=FROM,
        from_name="Pinbase",
        reply_to="",
        timeout_s=5,
        validate_certs=True,
        max_per_minute=60,
    )
    return replace(base, **changes)


def email(to: str = "ann@example.org", **payload: Any) -> Delivery:
    """An EMAIL delivery as the planner renders it (spec §2.2)."""
    return new_delivery(
        DeliveryKind.EMAIL,
        {
            "to": to,
            "subject": "Critical: Freezer: Too warm",
            "text": "Freezer is at 12 °C.",
            "html": "<p>Freezer is at <b>12 °C</b>.</p>",
            "fromName": "Acme Cold Storage",
            "headers": {"X-Pinbase-Occurrence": "981"},
            **payload,
        },
        due_at=T0,
        source="EVENT",
        org_id=1,
    )


@dataclass
class Run:
    """An outbox with the e-mail sender registered, and how each delivery ended."""

    outbox: Outbox
    clock: HandClock
    final: list[tuple[str, Sent | Failed]]

    async def deliver(self, store: SqlStore, *deliveries: Delivery) -> None:
        async with store.transaction() as tx:
            await tx.add_deliveries(deliveries)
        await self.outbox.run_due()


def run_with(store: SqlStore, sender_config: SmtpConfig, **sender: Any) -> Run:
    """The dispatcher on a hand clock, without jitter, sending EMAIL with a new sender."""
    clock = HandClock()
    final: list[tuple[str, Sent | Failed]] = []

    async def on_final(delivery: Delivery, outcome: Sent | Failed) -> None:
        final.append((delivery.id, outcome))

    guard = sender.pop("guard", OutboundHttp(allowed_networks=LOOPBACK))
    email_sender = EmailSender(sender_config, guard=guard, clock=clock, **sender)
    outbox = Outbox(store, clock, random_source=lambda: 0.5)
    outbox.register(DeliveryKind.EMAIL, email_sender.send, on_final=on_final)
    return Run(outbox, clock, final)


async def test_one_message_arrives_with_its_headers(
    store: SqlStore, mailbox: Mailbox, plain_server: Controller
) -> None:
    """One multipart/alternative message: From with the payload's name, To, Subject,
    Message-ID from the delivery id, Auto-Submitted and the payload's own header."""
    run = run_with(store, config(plain_server.port, reply_to="ops@example.com"))
    delivery = email()
    await run.deliver(store, delivery)
    assert [outcome.__class__ for _, outcome in run.final] == [Sent]
    [message] = mailbox.messages
    assert mailbox.envelopes == [(FROM, ["ann@example.org"])]
    assert message["From"] == f"Acme Cold Storage <{FROM}>"
    assert message["To"] == "ann@example.org"
    assert message["Subject"] == "Critical: Freezer: Too warm"
    assert message["Message-ID"] == f"<{delivery.id}@example.com>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Reply-To"] == "ops@example.com"
    assert message["X-Pinbase-Occurrence"] == "981"
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    assert text.get_content().strip() == "Freezer is at 12 °C."
    assert html.get_content_type() == "text/html"
    assert "<b>12 °C</b>" in html.get_content()


async def test_a_451_is_retried_into_exactly_one_message(
    store: SqlStore, mailbox: Mailbox, plain_server: Controller
) -> None:
    """451 then 250: nothing stored after the first attempt, one message after the retry 30 s
    later, with the same Message-ID the first attempt carried."""
    mailbox.replies = ["451 Try again later"]
    run = run_with(store, config(plain_server.port))
    delivery = email()
    await run.deliver(store, delivery)
    assert (mailbox.messages, run.final) == ([], [])
    run.clock.now += 30_000
    await run.outbox.run_due()
    [message] = mailbox.messages
    assert message["Message-ID"] == f"<{delivery.id}@example.com>"
    assert [outcome.__class__ for _, outcome in run.final] == [Sent]
    run.clock.now += 3_600_000
    assert await run.outbox.run_due() == 0


async def test_a_550_fails_at_once(
    store: SqlStore, mailbox: Mailbox, plain_server: Controller
) -> None:
    """A 5xx reply is final: PERMANENT_ERROR with the server's words, never tried again."""
    mailbox.replies = ["550 No such user here"]
    run = run_with(store, config(plain_server.port))
    delivery = email()
    await run.deliver(store, delivery)
    assert run.final == [(delivery.id, Failed("PERMANENT_ERROR", "550 No such user here"))]
    run.clock.now += 86_400_000
    assert await run.outbox.run_due() == 0
    assert mailbox.messages == []


async def test_starttls_with_login(store: SqlStore, tmp_path: Path, mailbox: Mailbox) -> None:
    """STARTTLS on port 587's protocol, the certificate checked against the test's CA, then
    AUTH: the message arrives and the server saw the login."""
    server_tls, trust = tls_pair(tmp_path)
    controller = smtp_server(
        mailbox,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=mailbox.authenticate,
        auth_required=True,
    )
    try:
        smtp = config(controller.port, security="starttls", username=LOGIN[0], password=LOGIN[1])
        run = run_with(store, smtp, tls_context=trust)
        await run.deliver(store, email())
    finally:
        controller.stop()
    assert len(mailbox.messages) == 1
    assert mailbox.logins == ["mailer"]
    assert [outcome.__class__ for _, outcome in run.final] == [Sent]


async def test_implicit_tls_with_login(store: SqlStore, tmp_path: Path, mailbox: Mailbox) -> None:
    """Implicit TLS (port 465's protocol) with login: the message arrives."""
    server_tls, trust = tls_pair(tmp_path)
    controller = implicit_tls_login_server(mailbox, server_tls)
    try:
        smtp = config(controller.port, security="tls", username=LOGIN[0], password=LOGIN[1])
        run = run_with(store, smtp, tls_context=trust)
        await run.deliver(store, email())
    finally:
        controller.stop()
    assert len(mailbox.messages) == 1
    assert mailbox.logins == ["mailer"]


async def test_a_wrong_password_is_a_permanent_failure(
    store: SqlStore, tmp_path: Path, mailbox: Mailbox
) -> None:
    """535 to AUTH is a 5xx reply: the delivery fails without retrying."""
    server_tls, trust = tls_pair(tmp_path)
    controller = implicit_tls_login_server(mailbox, server_tls)
    try:
        smtp = config(controller.port, security="tls", username="mailer", password="wrong")
        run = run_with(store, smtp, tls_context=trust)
        await run.deliver(store, email())
    finally:
        controller.stop()
    [(_, outcome)] = run.final
    assert isinstance(outcome, Failed)
    assert (outcome.reason, outcome.error[:3]) == ("PERMANENT_ERROR", "535")
    assert "wrong" not in outcome.error


async def test_an_untrusted_certificate_is_retried(
    store: SqlStore, tmp_path: Path, mailbox: Mailbox
) -> None:
    """A certificate the system does not trust fails the TLS handshake: retried, no mail."""
    server_tls, _ = tls_pair(tmp_path)
    controller = smtp_server(mailbox, ssl_context=server_tls)
    try:
        run = run_with(store, config(controller.port, security="tls"))
        await run.deliver(store, email())
    finally:
        controller.stop()
    assert (mailbox.messages, run.final) == ([], [])


async def test_a_closed_port_is_retried(store: SqlStore) -> None:
    """Nobody listening: a connection error, retried on the e-mail schedule."""
    run = run_with(store, config(free_port()))
    await run.deliver(store, email())
    assert run.final == []
    run.clock.now += 30_000
    assert await run.outbox.run_due() == 1


async def test_the_relay_guard_holds_messages_past_the_minute(
    store: SqlStore, mailbox: Mailbox, plain_server: Controller
) -> None:
    """With 2 per minute, 3 deliveries send 2 now and the third once the minute has passed."""
    run = run_with(store, config(plain_server.port, max_per_minute=2))
    await run.deliver(store, email("a@example.org"), email("b@example.org"), email("c@example.org"))
    assert len(mailbox.messages) == 2
    run.clock.now += 60_000
    await run.outbox.run_due()
    assert sorted(m["To"] for m in mailbox.messages) == [
        "a@example.org",
        "b@example.org",
        "c@example.org",
    ]


async def test_a_refused_target_fails_without_a_connection(
    store: SqlStore, mailbox: Mailbox, plain_server: Controller
) -> None:
    """Without the loopback allow-list the guard refuses 127.0.0.1: BLOCKED_TARGET, no mail."""
    run = run_with(store, config(plain_server.port), guard=OutboundHttp())
    delivery = email()
    await run.deliver(store, delivery)
    [(_, outcome)] = run.final
    assert isinstance(outcome, Failed)
    assert outcome.reason == "BLOCKED_TARGET"
    assert mailbox.messages == []


async def test_a_header_injection_is_refused(
    store: SqlStore, mailbox: Mailbox, plain_server: Controller
) -> None:
    """A payload header with a line break, or one the sender writes itself, fails the delivery
    as INVALID_PAYLOAD; nothing is sent."""
    run = run_with(store, config(plain_server.port))
    await run.deliver(
        store,
        email(subject="Hi\r\nBcc: everyone@example.org"),
        email(headers={"Bcc": "everyone@example.org"}),
    )
    assert sorted(o.reason for _, o in run.final if isinstance(o, Failed)) == [
        "INVALID_PAYLOAD",
        "INVALID_PAYLOAD",
    ]
    assert mailbox.messages == []


def test_addresses_are_masked_for_logs() -> None:
    """A log line shows the first letter and the domain only."""
    assert mask_address("ann@example.org") == "a***@example.org"
    assert mask_address("nonsense") == "***"


async def test_the_start_up_check_logs_without_secrets(
    tmp_path: Path, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    """The start-up NOOP logs ``smtp.ready`` after logging in, and ``smtp.unavailable`` with the
    reason when the server is down; neither line holds the user name or password."""
    server_tls, trust = tls_pair(tmp_path)
    controller = smtp_server(
        mailbox, tls_context=server_tls, require_starttls=True, authenticator=mailbox.authenticate
    )
    guard = OutboundHttp(allowed_networks=LOOPBACK)
    smtp = config(controller.port, security="starttls", username=LOGIN[0], password=LOGIN[1])
    caplog.set_level("INFO", logger="pinbase.services.reactions.email")
    try:
        await EmailSender(
            smtp, guard=guard, clock=HandClock(), tls_context=trust
        ).check_connection()
    finally:
        controller.stop()
    await EmailSender(
        replace(smtp, port=free_port()), guard=guard, clock=HandClock()
    ).check_connection()
    await guard.close()
    ready, down = (r.getMessage() for r in caplog.records if r.name.startswith("pinbase"))
    assert ready == f"smtp.ready host=127.0.0.1 port={controller.port} security=starttls login=yes"
    assert down.startswith("smtp.unavailable host=127.0.0.1")
    assert mailbox.logins == ["mailer"]
    for line in (ready, down):
        assert LOGIN[0] not in line
        assert LOGIN[1] not in line
