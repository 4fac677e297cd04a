"""Web Push subscriptions' part of the storage contract (automations.md §5.3). No SQL here;
``storage.sql_push_subscriptions`` implements it."""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class NewPushSubscription:
    """What a browser's ``PushManager.subscribe`` gave the console, for one user."""

    user_id: int
    endpoint: str
    p256dh: str
    """The browser's P-256 public key, base64url (65 bytes uncompressed, RFC 8291)."""
    auth: str
    """The 16-byte authentication secret, base64url."""
    user_agent: str | None
    created_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredPushSubscription:
    """A stored subscription; times are epoch milliseconds."""

    id: int
    user_id: int
    endpoint: str
    p256dh: str
    auth: str
    user_agent: str | None
    created_at: int
    last_success_at: int | None


class PushSubscriptionRepository(Protocol):
    """Push subscription reads and writes inside one transaction."""

    async def save_push_subscription(self, subscription: NewPushSubscription) -> int:
        """Store a subscription and return its id. An endpoint stored already is taken over
        (its user and keys replaced): a browser has one subscription, and it belongs to the
        user who subscribed last."""
        ...

    async def list_push_subscriptions(self, user_id: int) -> list[StoredPushSubscription]:
        """The subscriptions of a user, oldest first."""
        ...

    async def delete_push_subscription(self, endpoint: str, *, user_id: int | None = None) -> bool:
        """Delete the subscription of ``endpoint`` (only if it is ``user_id``'s, when given);
        False when there was none."""
        ...

    async def mark_push_success(self, subscription_id: int, *, ts: int) -> None:
        """Record a push the service accepted."""
        ...

    async def push_subscriber_ids(self) -> set[int]:
        """The users with at least one subscription."""
        ...
