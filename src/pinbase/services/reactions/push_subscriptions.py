"""Which browsers may receive a user's Web Push notifications (automations.md §5.3).

A console user presses "Enable notifications on this device"; the browser's ``PushManager``
subscribes with the server's VAPID public key and the console posts the subscription here. The
Web Push sender reads a user's subscriptions for every PUSH delivery, records successes, and
deletes a subscription its push service says is gone (404/410).

``PushSubscriptions`` is also the ``PushTargets`` of the notification planner: ``has_target``
answers from a set of user ids loaded at start and changed only by this service's own writes, so
the planner asks it without a query. Another process of the same installation subscribing a
user is not seen until restart; the planner then logs ``NO_PUSH_TARGET`` for that user
(docs/decisions.md).
"""

import base64
import binascii
import logging
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from pinbase.domain.errors import PinbaseError
from pinbase.services.clock import Clock
from pinbase.services.reactions.vapid import VapidKeys
from pinbase.storage.base import Store
from pinbase.storage.push_subscriptions import NewPushSubscription, StoredPushSubscription

logger = logging.getLogger(__name__)

MAX_ENDPOINT_CHARS = 1024
"""The ``push_subscriptions.endpoint`` column. Browsers' endpoints (FCM, Mozilla autopush,
Apple) are under 300 characters."""
MAX_USER_AGENT_CHARS = 255
P256DH_BYTES = 65
"""An uncompressed P-256 point (RFC 8291 §3.1)."""
AUTH_BYTES = 16
"""The authentication secret (RFC 8291 §3.2)."""


class InvalidSubscription(PinbaseError):
    """A subscription the browser could not have made: bad endpoint, key or secret."""


def decode_b64url(text: str) -> bytes:
    """Base64url with or without padding.

    Raises:
        InvalidSubscription: not base64url.
    """
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise InvalidSubscription("keys are base64url") from error


def check_subscription(endpoint: str, p256dh: str, auth: str) -> None:
    """Refuse what no push service would accept.

    Raises:
        InvalidSubscription: the endpoint is not an http(s) URL of at most 1024 characters, the
            key is not a P-256 point, or the secret is not 16 bytes.
    """
    parts = urlsplit(endpoint)
    if (
        len(endpoint) > MAX_ENDPOINT_CHARS
        or parts.scheme not in ("https", "http")
        or not parts.hostname
        or not endpoint.isprintable()
    ):
        raise InvalidSubscription(
            f"endpoint is an https URL of at most {MAX_ENDPOINT_CHARS} characters"
        )
    key = decode_b64url(p256dh)
    if len(key) != P256DH_BYTES:
        raise InvalidSubscription("keys.p256dh is a P-256 public key")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
    except ValueError as error:
        raise InvalidSubscription("keys.p256dh is a P-256 public key") from error
    if len(decode_b64url(auth)) != AUTH_BYTES:
        raise InvalidSubscription("keys.auth is a 16-byte secret")


class PushSubscriptions:
    """Subscriptions per user, and the planner's ``PushTargets``."""

    def __init__(self, store: Store, clock: Clock, *, vapid: VapidKeys) -> None:
        self._store = store
        self._clock = clock
        self._vapid = vapid
        self._subscribers: set[int] = set()

    @property
    def public_key(self) -> str:
        """The VAPID public key browsers subscribe with (``applicationServerKey``)."""
        return self._vapid.public_key

    async def load(self) -> None:
        """Read which users have a subscription (at start)."""
        async with self._store.transaction() as tx:
            self._subscribers = await tx.push_subscriber_ids()

    def has_target(self, user_id: int) -> bool:
        """Whether a push to ``user_id`` reaches at least one browser (no query)."""
        return user_id in self._subscribers

    async def subscribe(
        self, user_id: int, *, endpoint: str, p256dh: str, auth: str, user_agent: str | None
    ) -> int:
        """Store the browser's subscription for ``user_id``; its id.

        Raises:
            InvalidSubscription: see ``check_subscription``.
        """
        check_subscription(endpoint, p256dh, auth)
        agent = None if user_agent is None else user_agent[:MAX_USER_AGENT_CHARS]
        subscription = NewPushSubscription(
            user_id=user_id,
            endpoint=endpoint,
            p256dh=p256dh,
            auth=auth,
            user_agent=agent,
            created_at=self._clock(),
        )
        async with self._store.transaction() as tx:
            subscription_id = await tx.save_push_subscription(subscription)
            subscribers = await tx.push_subscriber_ids()
        self._subscribers = subscribers
        logger.info("push.subscribed user=%d subscription=%d", user_id, subscription_id)
        return subscription_id

    async def unsubscribe(self, user_id: int, endpoint: str) -> bool:
        """Forget ``user_id``'s subscription of ``endpoint``; False when it had none."""
        async with self._store.transaction() as tx:
            deleted = await tx.delete_push_subscription(endpoint, user_id=user_id)
            subscribers = await tx.push_subscriber_ids()
        self._subscribers = subscribers
        return deleted

    async def subscriptions_of(self, user_id: int) -> list[StoredPushSubscription]:
        """The browsers of ``user_id``, oldest first."""
        async with self._store.transaction() as tx:
            return await tx.list_push_subscriptions(user_id)

    async def expired(self, subscription: StoredPushSubscription) -> None:
        """Delete a subscription its push service no longer knows (404/410)."""
        async with self._store.transaction() as tx:
            await tx.delete_push_subscription(subscription.endpoint)
            subscribers = await tx.push_subscriber_ids()
        self._subscribers = subscribers
        logger.info(
            "push.subscription_expired user=%d subscription=%d",
            subscription.user_id,
            subscription.id,
        )

    async def delivered(self, subscription: StoredPushSubscription) -> None:
        """Record that its push service accepted a push."""
        async with self._store.transaction() as tx:
            await tx.mark_push_success(subscription.id, ts=self._clock())
