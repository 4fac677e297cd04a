"""The console's part of the storage contract: signed-in sessions and invitation links, both
known only by the SHA-256 hex of their random token (``services.console_sessions`` says why a
fast hash is right), and the two user writes that signing in makes. No SQL here;
``storage.sql_console_sessions`` implements it.
"""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSession:
    """A console session. Times are epoch milliseconds; ``expires_at`` slides forward as the
    session is used (``services.console_sessions``)."""

    token_hash: str
    user_id: int
    csrf_token: str
    """The per-session secret every state-changing request must echo (forms, ``X-CSRF-Token``)."""
    created_at: int
    last_seen_at: int
    expires_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredInvitation:
    """A link that lets a user set its password; one per user at a time."""

    token_hash: str
    user_id: int
    created_at: int
    expires_at: int


class ConsoleSessionRepository(Protocol):
    """Session, invitation and sign-in writes inside one transaction."""

    async def add_console_session(self, session: StoredSession) -> None:
        """Record a new session."""
        ...

    async def find_console_session(self, token_hash: str) -> StoredSession | None:
        """The session whose token hashes to ``token_hash`` (expired ones included), or None."""
        ...

    async def touch_console_session(
        self, token_hash: str, *, last_seen_at: int, expires_at: int
    ) -> None:
        """Record a use of the session and move its expiry."""
        ...

    async def delete_console_session(self, token_hash: str) -> None:
        """End one session (signing out); nothing happens when it is gone already."""
        ...

    async def delete_user_sessions(self, user_id: int) -> None:
        """End every session of a user (its password changed)."""
        ...

    async def delete_expired_console_sessions(self, now: int) -> int:
        """Delete sessions that expired before ``now``; how many went."""
        ...

    async def replace_invitation(self, invitation: StoredInvitation) -> None:
        """Store the user's invitation link, replacing the one it had."""
        ...

    async def find_invitation(self, token_hash: str) -> StoredInvitation | None:
        """The invitation whose token hashes to ``token_hash`` (expired ones included), or None."""
        ...

    async def delete_invitation(self, token_hash: str) -> bool:
        """Use up an invitation; True only for the one call that found it."""
        ...

    async def set_user_password(self, user_id: int, password_hash: str, *, ts: int) -> bool:
        """Store a user's new password hash (argon2id PHC string); False when the user is gone."""
        ...

    async def record_sign_in(self, user_id: int, *, ts: int, status: str) -> None:
        """Set the user's last login time and status (Pending and Invited become Active)."""
        ...
