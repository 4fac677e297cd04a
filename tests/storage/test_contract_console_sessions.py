"""Console sessions and invitation links (migration 0008) on every backend: stored by hash, used
up once, and gone with their user or its organization.

Same rules as ``test_contract.py``: each test gets an empty, migrated database.
"""

from test_contract import T0
from test_contract_revocation import add_member

from pinbase.domain.ids import OrgId
from pinbase.storage.console_sessions import StoredInvitation, StoredSession
from pinbase.storage.sql import SqlStore

DAY = 86_400_000


def session(user_id: int, name: str, *, expires_at: int = T0 + DAY) -> StoredSession:
    """A session of ``user_id`` whose token hash is ``name``."""
    return StoredSession(
        token_hash=name,
        user_id=user_id,
        csrf_token=f"csrf-{name}",
        created_at=T0,
        last_seen_at=T0,
        expires_at=expires_at,
    )


async def add_org(store: SqlStore, name: str, parent: OrgId | None = None) -> OrgId:
    """A new organization's id."""
    async with store.transaction() as tx:
        org = await tx.add_organization(
            name=name, parent_id=parent, description=None, created_at=T0
        )
    return org.id


async def test_sessions_are_found_touched_and_swept(store: SqlStore) -> None:
    """A session reads back as stored, a touch moves its times, sign-out deletes it, and the
    sweep takes only expired ones."""
    user = await add_member(store, await add_org(store, "Acme"), "a@x.io")
    async with store.transaction() as tx:
        await tx.add_console_session(session(user.id, "live"))
        await tx.add_console_session(session(user.id, "old", expires_at=T0 - 1))
        await tx.add_console_session(session(user.id, "out"))
    async with store.transaction() as tx:
        assert await tx.find_console_session("live") == session(user.id, "live")
        await tx.touch_console_session("live", last_seen_at=T0 + 5, expires_at=T0 + 2 * DAY)
        await tx.delete_console_session("out")
        assert await tx.delete_expired_console_sessions(T0) == 1
    async with store.transaction() as tx:
        live = await tx.find_console_session("live")
        assert live is not None
        assert (live.last_seen_at, live.expires_at) == (T0 + 5, T0 + 2 * DAY)
        assert await tx.find_console_session("out") is None
        assert await tx.find_console_session("old") is None


async def test_an_invitation_is_replaced_and_used_up_once(store: SqlStore) -> None:
    """A user's new link replaces its last; using one succeeds once."""
    user = await add_member(store, await add_org(store, "Acme"), "a@x.io")
    async with store.transaction() as tx:
        for name in ("first", "second"):
            await tx.replace_invitation(
                StoredInvitation(token_hash=name, user_id=user.id, created_at=T0, expires_at=T0)
            )
    async with store.transaction() as tx:
        assert await tx.find_invitation("first") is None
        assert await tx.delete_invitation("second")
        assert not await tx.delete_invitation("second")


async def test_deleting_a_user_or_organization_takes_its_sessions_and_links(
    store: SqlStore,
) -> None:
    """Deleting a user, and deleting an organization with its users, deletes their sessions and
    invitation links (the foreign keys hold on PostgreSQL)."""
    root = await add_org(store, "Acme")
    branch = await add_org(store, "Branch", root)
    alone = await add_member(store, root, "alone@x.io")
    member = await add_member(store, branch, "member@x.io")
    async with store.transaction() as tx:
        for user, name in ((alone, "s-alone"), (member, "s-member")):
            await tx.add_console_session(session(user.id, name))
            await tx.replace_invitation(
                StoredInvitation(
                    token_hash=f"i-{name}", user_id=user.id, created_at=T0, expires_at=T0 + DAY
                )
            )
    async with store.transaction() as tx:
        assert await tx.delete_user(alone.id)
        assert await tx.delete_organization(branch) == (member.id,)
    async with store.transaction() as tx:
        for name in ("s-alone", "s-member"):
            assert await tx.find_console_session(name) is None
            assert await tx.find_invitation(f"i-{name}") is None


async def test_signing_in_records_the_time_and_a_new_password(store: SqlStore) -> None:
    """``record_sign_in`` sets the last login and status; ``set_user_password`` the hash, and
    answers False for a missing user."""
    user = await add_member(store, await add_org(store, "Acme"), "a@x.io")
    async with store.transaction() as tx:
        await tx.record_sign_in(user.id, ts=T0 + 7, status="Active")
        assert await tx.set_user_password(user.id, "$argon2id$stored", ts=T0 + 8)
        assert not await tx.set_user_password(user.id + 1000, "$argon2id$x", ts=T0)
    async with store.transaction() as tx:
        found = await tx.find_user(user.id)
    assert found is not None
    assert (found.last_logged_at, found.status, found.password_hash) == (
        T0 + 7,
        "Active",
        "$argon2id$stored",
    )
