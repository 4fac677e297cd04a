"""The Web Push channel end to end (automations.md §5.3, §5.7): the test plays the browser and
the push service. It makes a P-256 key pair and a 16-byte auth secret, subscribes through the
console endpoint as the signed-in user, and runs a local HTTP receiver (allow-listed) as the
endpoint; a PUSH delivery then reaches it with a VAPID JWT that verifies against the server's
key for the endpoint's origin, a body that decrypts with ``http_ece`` to the message JSON, and
the RFC 8030 headers. A 410 deletes the subscription."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from console_site import ADMIN, USER, acme_and_other, sign_in
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pytest_httpserver import HTTPServer
from werkzeug import Request as ReceivedRequest

from inprocess import InProcessServer, user_id_of
from pinbase.domain.deliveries import Delivery, DeliveryKind, new_delivery
from pinbase.services.reactions.outbound import OutboundHttp
from pinbase.services.reactions.outbox import Failed, Retry, Sent
from pinbase.services.reactions.vapid import VapidKeys
from pinbase.services.reactions.web_push import WebPushSender
from pinbase.storage.data_folder import VAPID_KEY
from push_browser import PUSH_MESSAGE, Browser, unb64url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """Acme and Other Corp, in process."""
    with acme_and_other(tmp_path_factory.mktemp("web-push")) as server:
        yield server


def subscribe(site: InProcessServer, email: str, browser: Browser, endpoint: str) -> None:
    """Subscribe ``browser`` for ``email`` through the console endpoint, as its page does."""
    with site.client() as http:
        csrf = sign_in(http, email)
        answer = http.post(
            "/dashboard/api/push/subscriptions",
            json=browser.subscription(endpoint),
            headers={"X-CSRF-Token": csrf},
        )
    assert answer.status_code == 201, answer.text


def sender_for(
    site: InProcessServer, *, allowed: tuple[str, ...] = ("127.0.0.1/32",)
) -> WebPushSender:
    """The PUSH sender over the server's subscriptions and VAPID key; loopback allow-listed."""
    vapid = VapidKeys.from_pem(
        (site.data_dir / VAPID_KEY).read_bytes(), subject="mailto:ops@example.com"
    )
    return WebPushSender(
        site.services.push_subscriptions,
        vapid=vapid,
        client=OutboundHttp(allowed_networks=allowed),
        clock=site.services.clock,
    )


def push(user_id: int, **changes: Any) -> Delivery:
    """A PUSH delivery for ``user_id`` as the planner renders it (spec §2.3)."""
    return new_delivery(
        DeliveryKind.PUSH,
        {"userId": user_id, **PUSH_MESSAGE, **changes},
        due_at=0,
        source="EVENT",
        org_id=1,
    )


def verify_vapid(authorization: str, *, server_key: str, audience: str) -> dict[str, Any]:
    """Check ``vapid t=…, k=…`` (RFC 8292 §3): ``k`` is the server's key and signs ``t``
    (ES256); the JWT's claims."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == server_key
    header, claims, signature = fields["t"].split(".")
    assert orjson.loads(unb64url(header)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64url(signature)
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(server_key))
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    try:
        public.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:  # pragma: no cover - the assertion's message
        pytest.fail("the VAPID JWT does not verify against the server's key")
    decoded: dict[str, Any] = orjson.loads(unb64url(claims))
    assert decoded["aud"] == audience
    return decoded


def test_a_push_reaches_the_browser_encrypted_and_signed(
    site: InProcessServer, httpserver: HTTPServer
) -> None:
    """The endpoint receives one POST: VAPID for its origin, the §2.3 JSON once decrypted
    (without the user id), TTL 3600, Urgency high for an alert, a 32-character Topic."""
    browser = Browser.new()
    subscribe(site, USER, browser, httpserver.url_for("/push/user-1"))
    httpserver.expect_oneshot_request("/push/user-1", method="POST").respond_with_data(
        "", status=201
    )
    user_id = user_id_of(site, USER)
    outcome = site.run(lambda: sender_for(site).send(push(user_id)))
    assert isinstance(outcome, Sent)
    [(request, _)] = httpserver.log
    assert isinstance(request, ReceivedRequest)
    server_key = site.services.push_subscriptions.public_key
    claims = verify_vapid(
        request.headers["Authorization"],
        server_key=server_key,
        audience=f"http://{httpserver.host}:{httpserver.port}",
    )
    assert claims["sub"] == "mailto:ops@example.com"
    assert claims["exp"] > site.services.clock() // 1000
    assert browser.decrypt(request.get_data()) == PUSH_MESSAGE
    assert request.headers["TTL"] == "3600"
    assert request.headers["Urgency"] == "high"
    assert request.headers["Content-Encoding"] == "aes128gcm"
    topic = request.headers["Topic"]
    assert len(topic) == 32
    assert set(topic) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    [stored] = site.run(lambda: site.services.push_subscriptions.subscriptions_of(user_id))
    assert stored.last_success_at is not None


@pytest.mark.parametrize(
    ("severity", "alert", "urgency"),
    [
        ("CRITICAL", False, "high"),
        ("WARNING", True, "high"),
        ("WARNING", False, "normal"),
        ("INFO", False, "low"),
    ],
)
def test_urgency_follows_severity_and_alert(
    site: InProcessServer, httpserver: HTTPServer, severity: str, alert: bool, urgency: str
) -> None:
    """Critical or alert: high; Warning: normal; Info: low (spec §5.3)."""
    browser = Browser.new()
    path = f"/push/urgency-{severity}-{alert}"
    subscribe(site, ADMIN, browser, httpserver.url_for(path))
    httpserver.expect_request(path, method="POST").respond_with_data("", status=201)
    delivery = push(user_id_of(site, ADMIN), severity=severity, alert=alert)
    site.run(lambda: sender_for(site).send(delivery))
    urgencies = {r.headers["Urgency"] for r, _ in httpserver.log if r.path == path}
    assert urgencies == {urgency}


def test_a_410_deletes_the_subscription(site: InProcessServer, httpserver: HTTPServer) -> None:
    """The push service no longer knows the browser: the subscription is deleted, and with no
    browser left the delivery fails as NO_PUSH_TARGET (the planner then skips this user)."""
    browser = Browser.new()
    email = "gone@acme.test"
    site.provision(
        {
            "organization": {"name": "Gone Inc"},
            "users": [
                {"email": email, "name": "G", "roleId": 1, "password": "correct horse battery"}
            ],
        }
    )
    subscribe(site, email, browser, httpserver.url_for("/push/gone"))
    httpserver.expect_oneshot_request("/push/gone", method="POST").respond_with_data("", status=410)
    user_id = user_id_of(site, email)
    assert site.services.push_subscriptions.has_target(user_id)
    outcome = site.run(lambda: sender_for(site).send(push(user_id)))
    assert outcome == Failed("NO_PUSH_TARGET", "every subscription has expired")
    assert not site.services.push_subscriptions.has_target(user_id)
    assert site.run(lambda: site.services.push_subscriptions.subscriptions_of(user_id)) == []


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (429, {"Retry-After": "120"}, Retry("HTTP 429", after_ms=120_000)),
        (503, {}, Retry("HTTP 503")),
        (400, {}, Failed("PERMANENT_ERROR", "HTTP 400")),
        (413, {}, Failed("PERMANENT_ERROR", "HTTP 413")),
    ],
)
def test_push_service_answers_map_to_outcomes(
    tmp_path: Path,
    httpserver: HTTPServer,
    status: int,
    headers: dict[str, str],
    expected: object,
) -> None:
    """429 and 5xx are retried (Retry-After kept); 400/401/403/413 fail at once."""
    with acme_and_other(tmp_path) as site:
        subscribe(site, USER, Browser.new(), httpserver.url_for("/push/answer"))
        httpserver.expect_request("/push/answer").respond_with_data(
            "", status=status, headers=headers
        )
        user_id = user_id_of(site, USER)
        outcome = site.run(lambda: sender_for(site).send(push(user_id)))
        assert outcome == expected
        assert site.services.push_subscriptions.has_target(user_id)


def test_a_retry_skips_browsers_that_have_the_message(
    site: InProcessServer, httpserver: HTTPServer
) -> None:
    """Two browsers, one answering 503: the retry goes to that one only."""
    email = "two@acme.test"
    site.provision(
        {
            "organization": {"name": "Two Browsers"},
            "users": [
                {"email": email, "name": "T", "roleId": 1, "password": "correct horse battery"}
            ],
        }
    )
    subscribe(site, email, Browser.new(), httpserver.url_for("/push/ok"))
    subscribe(site, email, Browser.new(), httpserver.url_for("/push/busy"))
    httpserver.expect_request("/push/ok").respond_with_data("", status=201)
    httpserver.expect_oneshot_request("/push/busy").respond_with_data("", status=503)
    httpserver.expect_oneshot_request("/push/busy").respond_with_data("", status=201)
    sender = sender_for(site)
    delivery = push(user_id_of(site, email))
    assert isinstance(site.run(lambda: sender.send(delivery)), Retry)
    assert site.run(lambda: sender.send(delivery)) == Sent("2 of 2 browsers")
    assert [r.path for r, _ in httpserver.log] == ["/push/ok", "/push/busy", "/push/busy"]


def test_a_refused_endpoint_gets_no_request(site: InProcessServer, httpserver: HTTPServer) -> None:
    """Without the allow-list the guard refuses the loopback endpoint: nothing is sent."""
    email = "blocked@acme.test"
    site.provision(
        {
            "organization": {"name": "Blocked"},
            "users": [
                {"email": email, "name": "B", "roleId": 1, "password": "correct horse battery"}
            ],
        }
    )
    subscribe(site, email, Browser.new(), httpserver.url_for("/push/blocked"))
    sender = sender_for(site, allowed=())
    delivery = push(user_id_of(site, email))
    outcome = site.run(lambda: sender.send(delivery))
    assert isinstance(outcome, Failed)
    assert outcome.error.startswith("BLOCKED_TARGET")
    assert httpserver.log == []
