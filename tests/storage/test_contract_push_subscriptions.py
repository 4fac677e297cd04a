"""Web Push subscriptions (migration 0012) on every backend: one row per endpoint, listed per
user, taken over by the last subscriber, and gone with their user or its organization.

Same rules as ``test_contract.py``: each test gets an empty, migrated database.
"""

from test_contract import T0
from test_contract_console_sessions import add_org
from test_contract_revocation import add_member

from pinbase.storage.push_subscriptions import NewPushSubscription
from pinbase.storage.sql import SqlStore


def subscription(user_id: int, endpoint: str, *, auth: str = "YXV0aA") -> NewPushSubscription:
    """A subscription of ``user_id`` to ``endpoint``."""
    return NewPushSubscription(
        user_id=user_id,
        endpoint=endpoint,
        p256dh="BPub",
        auth=auth,
        user_agent="Firefox",
        created_at=T0,
    )


async def test_subscriptions_are_listed_per_user_and_marked(store: SqlStore) -> None:
    """A user's subscriptions read back oldest first; a success is recorded on its row."""
    org = await add_org(store, "Acme")
    ann, bob = await add_member(store, org, "ann@x.io"), await add_member(store, org, "bob@x.io")
    async with store.transaction() as tx:
        first = await tx.save_push_subscription(subscription(ann.id, "https://push/1"))
        await tx.save_push_subscription(subscription(ann.id, "https://push/2"))
        await tx.save_push_subscription(subscription(bob.id, "https://push/3"))
        await tx.mark_push_success(first, ts=T0 + 5)
    async with store.transaction() as tx:
        listed = await tx.list_push_subscriptions(ann.id)
        assert [s.endpoint for s in listed] == ["https://push/1", "https://push/2"]
        assert (listed[0].id, listed[0].last_success_at, listed[1].last_success_at) == (
            first,
            T0 + 5,
            None,
        )
        assert (listed[0].p256dh, listed[0].auth, listed[0].user_agent) == (
            "BPub",
            "YXV0aA",
            "Firefox",
        )
        assert await tx.push_subscriber_ids() == {ann.id, bob.id}


async def test_an_endpoint_belongs_to_its_last_subscriber(store: SqlStore) -> None:
    """Subscribing an endpoint stored already moves it to the new user with the new keys."""
    org = await add_org(store, "Acme")
    ann, bob = await add_member(store, org, "ann@x.io"), await add_member(store, org, "bob@x.io")
    async with store.transaction() as tx:
        first = await tx.save_push_subscription(subscription(ann.id, "https://push/1"))
    async with store.transaction() as tx:
        again = await tx.save_push_subscription(subscription(bob.id, "https://push/1", auth="bmV3"))
    async with store.transaction() as tx:
        assert again == first
        assert await tx.list_push_subscriptions(ann.id) == []
        [moved] = await tx.list_push_subscriptions(bob.id)
        assert (moved.id, moved.auth) == (first, "bmV3")


async def test_unsubscribing_checks_the_user(store: SqlStore) -> None:
    """An endpoint is deleted only for its own user when one is named, or by endpoint alone."""
    org = await add_org(store, "Acme")
    ann, bob = await add_member(store, org, "ann@x.io"), await add_member(store, org, "bob@x.io")
    async with store.transaction() as tx:
        await tx.save_push_subscription(subscription(ann.id, "https://push/1"))
        await tx.save_push_subscription(subscription(ann.id, "https://push/2"))
    async with store.transaction() as tx:
        assert not await tx.delete_push_subscription("https://push/1", user_id=bob.id)
        assert await tx.delete_push_subscription("https://push/1", user_id=ann.id)
        assert await tx.delete_push_subscription("https://push/2")
        assert not await tx.delete_push_subscription("https://push/2")
        assert await tx.push_subscriber_ids() == set()


async def test_subscriptions_go_with_their_user_and_organization(store: SqlStore) -> None:
    """Deleting a user, or its whole organization, deletes its subscriptions with it."""
    acme, globex = await add_org(store, "Acme"), await add_org(store, "Globex")
    ann, bob = await add_member(store, acme, "ann@x.io"), await add_member(store, acme, "bob@x.io")
    carl = await add_member(store, globex, "carl@x.io")
    async with store.transaction() as tx:
        for n, user in enumerate((ann, bob, carl)):
            await tx.save_push_subscription(subscription(user.id, f"https://push/{n}"))
    async with store.transaction() as tx:
        assert await tx.delete_user(ann.id)
    async with store.transaction() as tx:
        assert await tx.push_subscriber_ids() == {bob.id, carl.id}
        assert await tx.delete_organization(globex) is not None
    async with store.transaction() as tx:
        assert await tx.push_subscriber_ids() == {bob.id}
