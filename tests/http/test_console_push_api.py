"""The console's Web Push endpoints (automations.md §5.3), in process: the VAPID key, and a
signed-in user subscribing and unsubscribing its browser, never another user's."""

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from console_site import ADMIN, OTHER, USER, acme_and_other, sign_in
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from inprocess import InProcessServer, in_process_server, user_id_of
from pinbase.storage.data_folder import VAPID_KEY
from pinbase.storage.push_subscriptions import NewPushSubscription

KEY_URL = "/dashboard/api/push/key"
SUBSCRIPTIONS_URL = "/dashboard/api/push/subscriptions"


def b64url(raw: bytes) -> str:
    """Unpadded base64url, as a browser's ``PushSubscription.toJSON()`` writes keys."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def browser_subscription(endpoint: str) -> dict[str, object]:
    """What ``PushSubscription.toJSON()`` gives: a fresh P-256 key and 16-byte secret."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {
        "endpoint": endpoint,
        "expirationTime": None,
        "keys": {"p256dh": b64url(point), "auth": b64url(os.urandom(16))},
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """Acme and Other Corp, in process."""
    with acme_and_other(tmp_path_factory.mktemp("push")) as server:
        yield server


def signed_in(site: InProcessServer, email: str) -> tuple[httpx.Client, dict[str, str]]:
    """A client signed in as ``email`` and the CSRF header its scripts send."""
    http = site.client()
    return http, {"X-CSRF-Token": sign_in(http, email)}


def test_the_key_is_the_data_folders_p256_key(site: InProcessServer) -> None:
    """The public key is the uncompressed point of the 0600 key file made at first start."""
    http, _ = signed_in(site, USER)
    key = http.get(KEY_URL).json()["publicKey"]
    pem = (site.data_dir / VAPID_KEY).read_bytes()
    private = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    point = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert key == b64url(point)
    assert (site.data_dir / VAPID_KEY).stat().st_mode & 0o777 == 0o600


def test_subscribe_and_unsubscribe_the_signed_in_user(site: InProcessServer) -> None:
    """A subscription is stored for the caller; the planner's target check sees it; only its
    own user can remove it."""
    http, csrf = signed_in(site, USER)
    other, other_csrf = signed_in(site, OTHER)
    body = browser_subscription("https://push.example.com/send/abc")
    answer = http.post(SUBSCRIPTIONS_URL, json=body, headers=csrf)
    assert answer.status_code == 201, answer.text
    assert isinstance(answer.json()["id"], int)
    user_id = user_id_of(site, USER)
    subscriptions = site.services.push_subscriptions
    [stored] = site.run(lambda: subscriptions.subscriptions_of(user_id))
    assert subscriptions.has_target(user_id)
    assert not subscriptions.has_target(user_id_of(site, OTHER))
    assert (stored.endpoint, stored.id) == (body["endpoint"], answer.json()["id"])
    refused = other.request(
        "DELETE", SUBSCRIPTIONS_URL, json={"endpoint": body["endpoint"]}, headers=other_csrf
    )
    assert refused.status_code == 404
    gone = http.request(
        "DELETE", SUBSCRIPTIONS_URL, json={"endpoint": body["endpoint"]}, headers=csrf
    )
    assert gone.status_code == 204
    assert not subscriptions.has_target(user_id)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "Send the browser's PushSubscription"),
        ({"endpoint": "https://push.example.com/x"}, "Send the browser's PushSubscription"),
        ({**browser_subscription("ftp://push.example.com/x")}, "endpoint is an https URL"),
        (
            {**browser_subscription("https://p/x"), "keys": {"p256dh": "AAAA", "auth": "x"}},
            "p256dh",
        ),
        (
            {**browser_subscription("https://p/x"), "keys": {"p256dh": "B" * 87, "auth": "AAAA"}},
            "p256dh",
        ),
    ],
)
def test_bad_subscriptions_answer_400(site: InProcessServer, body: object, message: str) -> None:
    """Junk, a missing key, a non-http endpoint or a key off the curve: 400 with a reason."""
    http, csrf = signed_in(site, ADMIN)
    content = body if isinstance(body, str) else None
    answer = http.post(
        SUBSCRIPTIONS_URL,
        content=content,
        json=None if content else body,
        headers={**csrf, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert message in answer.json()["error"]["message"]


def test_signed_out_and_forged_requests_are_refused(site: InProcessServer) -> None:
    """Without a session: 401; a write without the CSRF secret: 403."""
    anonymous = site.client()
    assert anonymous.get(KEY_URL).status_code == 401
    http, _ = signed_in(site, ADMIN)
    body = browser_subscription("https://push.example.com/send/forged")
    assert http.post(SUBSCRIPTIONS_URL, json=body).status_code == 403


def test_a_data_folder_keeps_its_key(tmp_path: Path) -> None:
    """A second start on the same folder serves the same key."""
    keys = []
    for _ in range(2):
        with in_process_server(tmp_path) as server:
            keys.append(server.services.push_subscriptions.public_key)
    assert keys[0] == keys[1]


def test_subscriptions_stored_by_another_process_are_read_again(site: InProcessServer) -> None:
    """A subscription written straight to the database (as another process would) is not a
    push target until the subscriber set is read again, then it is."""
    user_id = user_id_of(site, ADMIN)
    subscriptions = site.services.push_subscriptions
    body = browser_subscription("https://push.example.com/send/elsewhere")
    keys = body["keys"]
    assert isinstance(keys, dict)

    async def store_directly() -> None:
        async with site.services.store.transaction() as tx:
            await tx.save_push_subscription(
                NewPushSubscription(
                    user_id=user_id,
                    endpoint=str(body["endpoint"]),
                    p256dh=keys["p256dh"],
                    auth=keys["auth"],
                    user_agent=None,
                    created_at=0,
                )
            )

    site.run(store_directly)
    assert not subscriptions.has_target(user_id)
    site.run(subscriptions.load)
    assert subscriptions.has_target(user_id)
