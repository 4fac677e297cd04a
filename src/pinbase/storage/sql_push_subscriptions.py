"""``SqlPushSubscriptions``: the ``PushSubscriptionRepository`` half of ``SqlTransaction``. A
mixin: it uses the transaction's connection."""

from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.storage import schema
from pinbase.storage.push_subscriptions import NewPushSubscription, StoredPushSubscription

_SUBSCRIPTIONS = schema.push_subscriptions


class SqlPushSubscriptions:
    """Push subscription reads and writes over ``self._db``."""

    _db: AsyncConnection

    async def save_push_subscription(self, subscription: NewPushSubscription) -> int:
        """Store a subscription, taking over the row of an endpoint stored already."""
        values = {
            "user_id": subscription.user_id,
            "p256dh": subscription.p256dh,
            "auth": subscription.auth,
            "user_agent": subscription.user_agent,
            "created_at": subscription.created_at,
            "last_success_at": None,
        }
        # Read, then write: both engines serialize writers of one row inside the transaction,
        # and a race between two first subscriptions of one endpoint ends in the unique
        # constraint, which the caller reports as a conflict.
        found = await self._db.scalar(
            select(_SUBSCRIPTIONS.c.id).where(_SUBSCRIPTIONS.c.endpoint == subscription.endpoint)
        )
        if found is not None:
            await self._db.execute(
                update(_SUBSCRIPTIONS).where(_SUBSCRIPTIONS.c.id == found).values(**values)
            )
            return int(found)
        inserted = await self._db.scalar(
            _SUBSCRIPTIONS.insert()
            .values(endpoint=subscription.endpoint, **values)
            .returning(_SUBSCRIPTIONS.c.id)
        )
        return int(inserted)

    async def list_push_subscriptions(self, user_id: int) -> list[StoredPushSubscription]:
        """The subscriptions of a user, oldest first."""
        query = (
            select(_SUBSCRIPTIONS)
            .where(_SUBSCRIPTIONS.c.user_id == user_id)
            .order_by(_SUBSCRIPTIONS.c.id)
        )
        return [_subscription(row) for row in await self._db.execute(query)]

    async def delete_push_subscription(self, endpoint: str, *, user_id: int | None = None) -> bool:
        """Delete the subscription of ``endpoint`` (only ``user_id``'s, when given)."""
        query = delete(_SUBSCRIPTIONS).where(_SUBSCRIPTIONS.c.endpoint == endpoint)
        if user_id is not None:
            query = query.where(_SUBSCRIPTIONS.c.user_id == user_id)
        return bool((await self._db.execute(query)).rowcount)

    async def mark_push_success(self, subscription_id: int, *, ts: int) -> None:
        """Record a push the service accepted."""
        await self._db.execute(
            update(_SUBSCRIPTIONS)
            .where(_SUBSCRIPTIONS.c.id == subscription_id)
            .values(last_success_at=ts)
        )

    async def push_subscriber_ids(self) -> set[int]:
        """The users with at least one subscription."""
        rows = await self._db.execute(select(_SUBSCRIPTIONS.c.user_id).distinct())
        return {int(user_id) for (user_id,) in rows}


async def delete_user_push_subscriptions(db: AsyncConnection, user_ids: Any) -> None:
    """Delete the push subscriptions of ``user_ids`` (ids, or a subquery of them)."""
    await db.execute(delete(_SUBSCRIPTIONS).where(_SUBSCRIPTIONS.c.user_id.in_(user_ids)))


def _subscription(row: Row[Any]) -> StoredPushSubscription:
    return StoredPushSubscription(
        id=int(row.id),
        user_id=int(row.user_id),
        endpoint=row.endpoint,
        p256dh=row.p256dh,
        auth=row.auth,
        user_agent=row.user_agent,
        created_at=int(row.created_at),
        last_success_at=None if row.last_success_at is None else int(row.last_success_at),
    )
