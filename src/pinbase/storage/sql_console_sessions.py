"""``SqlConsoleSessions``: the ``ConsoleSessionRepository`` half of ``SqlTransaction``. A mixin:
it uses the transaction's connection."""

from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.storage import schema
from pinbase.storage.console_sessions import StoredInvitation, StoredSession
from pinbase.storage.sql_push_subscriptions import delete_user_push_subscriptions

_SESSIONS = schema.console_sessions
_INVITATIONS = schema.invitations


class SqlConsoleSessions:
    """Session and invitation reads and writes over ``self._db``."""

    _db: AsyncConnection

    async def add_console_session(self, session: StoredSession) -> None:
        """Record a new session."""
        await self._db.execute(
            _SESSIONS.insert().values(
                token_hash=session.token_hash,
                user_id=session.user_id,
                csrf_token=session.csrf_token,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                expires_at=session.expires_at,
            )
        )

    async def find_console_session(self, token_hash: str) -> StoredSession | None:
        """The session whose token hashes to ``token_hash``, or None."""
        query = select(_SESSIONS).where(_SESSIONS.c.token_hash == token_hash)
        row = (await self._db.execute(query)).first()
        return None if row is None else _session(row)

    async def touch_console_session(
        self, token_hash: str, *, last_seen_at: int, expires_at: int
    ) -> None:
        """Record a use of the session and move its expiry."""
        await self._db.execute(
            update(_SESSIONS)
            .where(_SESSIONS.c.token_hash == token_hash)
            .values(last_seen_at=last_seen_at, expires_at=expires_at)
        )

    async def delete_console_session(self, token_hash: str) -> None:
        """End one session."""
        await self._db.execute(delete(_SESSIONS).where(_SESSIONS.c.token_hash == token_hash))

    async def delete_user_sessions(self, user_id: int) -> None:
        """End every session of a user."""
        await self._db.execute(delete(_SESSIONS).where(_SESSIONS.c.user_id == user_id))

    async def delete_expired_console_sessions(self, now: int) -> int:
        """Delete sessions that expired before ``now``."""
        result = await self._db.execute(delete(_SESSIONS).where(_SESSIONS.c.expires_at < now))
        return int(result.rowcount)

    async def replace_invitation(self, invitation: StoredInvitation) -> None:
        """Store the user's invitation link, replacing the one it had."""
        await self._db.execute(
            delete(_INVITATIONS).where(_INVITATIONS.c.user_id == invitation.user_id)
        )
        await self._db.execute(
            _INVITATIONS.insert().values(
                token_hash=invitation.token_hash,
                user_id=invitation.user_id,
                created_at=invitation.created_at,
                expires_at=invitation.expires_at,
            )
        )

    async def find_invitation(self, token_hash: str) -> StoredInvitation | None:
        """The invitation whose token hashes to ``token_hash``, or None."""
        query = select(_INVITATIONS).where(_INVITATIONS.c.token_hash == token_hash)
        row = (await self._db.execute(query)).first()
        if row is None:
            return None
        return StoredInvitation(
            token_hash=row.token_hash,
            user_id=int(row.user_id),
            created_at=int(row.created_at),
            expires_at=int(row.expires_at),
        )

    async def delete_invitation(self, token_hash: str) -> bool:
        """Use up an invitation; True only for the one call that found it."""
        result = await self._db.execute(
            delete(_INVITATIONS).where(_INVITATIONS.c.token_hash == token_hash)
        )
        return bool(result.rowcount)

    async def set_user_password(self, user_id: int, password_hash: str, *, ts: int) -> bool:
        """Store a user's new password hash; False when the user is gone."""
        users = schema.users
        result = await self._db.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(password_hash=password_hash, last_modified_ts=ts)
        )
        return bool(result.rowcount)

    async def record_sign_in(self, user_id: int, *, ts: int, status: str) -> None:
        """Set the user's last login time and status."""
        users = schema.users
        await self._db.execute(
            update(users).where(users.c.id == user_id).values(last_logged_at=ts, status=status)
        )


async def delete_user_credentials(db: AsyncConnection, user_ids: Any) -> None:
    """Delete the sessions, invitation links and push subscriptions of ``user_ids`` (ids, or a
    subquery of them): deleting a user ends its sessions in the same transaction
    (THREAT_MODEL.md)."""
    await db.execute(delete(_SESSIONS).where(_SESSIONS.c.user_id.in_(user_ids)))
    await db.execute(delete(_INVITATIONS).where(_INVITATIONS.c.user_id.in_(user_ids)))
    await delete_user_push_subscriptions(db, user_ids)


def _session(row: Row[Any]) -> StoredSession:
    return StoredSession(
        token_hash=row.token_hash,
        user_id=int(row.user_id),
        csrf_token=row.csrf_token,
        created_at=int(row.created_at),
        last_seen_at=int(row.last_seen_at),
        expires_at=int(row.expires_at),
    )
