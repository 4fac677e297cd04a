"""Invitation links: how an invited user sets its password while Pinbase sends no e-mail.

Blynk mails an invited user a link to set its password, valid 30 days (console.md §1.2). Pinbase
has no mail server yet, so an Admin asks for the link (``invitation_link``, the Users page) and
hands it over by other means (console.md §1.2's recommendation). Following the link, the user
chooses a password (at least ``MIN_PASSWORD_CHARS``); it is stored as every password is
(``services.passwords``), the link is used up, and the user is signed in.

A link is 256 random bits; only its SHA-256 hex is stored, and a user has one link at a time (a
new one replaces the last). An Admin may make one for any user in its scope, including a user
who has a password already: that is the console's "change password" for someone who lost theirs.
Setting a password through a link ends the user's other sessions.
"""

import logging
from dataclasses import dataclass

from pinbase.domain.errors import PinbaseError
from pinbase.domain.users import ACTIVE, password_hash
from pinbase.services.bus import Bus, UserSaved
from pinbase.services.clock import Clock
from pinbase.services.console_caller import ConsoleCaller, Permission
from pinbase.services.console_sessions import (
    MAX_PASSWORD_CHARS,
    ConsoleSession,
    ConsoleSessions,
    hash_session_token,
    new_secret,
)
from pinbase.services.passwords import hash_password
from pinbase.storage.base import Store
from pinbase.storage.console_sessions import StoredInvitation
from pinbase.storage.users import StoredUser

logger = logging.getLogger(__name__)

MIN_PASSWORD_CHARS = 8
"""Blynk.Console's rule for a new password (console.md §1.1, profile menu)."""


class InvitationError(PinbaseError):
    """An invitation operation is refused."""


class InvitationNotFound(InvitationError):
    """The link is unknown, used up or expired."""


class InviteeNotFound(InvitationError):
    """No such user in the caller's scope, or the caller may not manage users."""


class PasswordRejected(InvitationError):
    """The new password is too short, too long, or its confirmation differs."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Invitation:
    """A fresh link's secret part (the HTTP layer builds the URL) and its expiry."""

    token: str
    user_id: int
    expires_at: int


class Invitations:
    """Hands out invitation links and redeems them."""

    def __init__(
        self,
        store: Store,
        sessions: ConsoleSessions,
        clock: Clock,
        *,
        ttl_ms: int,
        bus: Bus | None = None,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._clock = clock
        self._ttl_ms = ttl_ms
        self._bus = bus

    async def invitation_link(self, caller: ConsoleCaller, user_id: int) -> Invitation:
        """A new link for a user of the caller's scope, replacing the user's previous one.

        Raises:
            InviteeNotFound: the caller may not manage users, or the user is missing or outside
                its scope (the same answer).
        """
        if not caller.can(Permission.USERS_EDIT):
            raise InviteeNotFound(user_id)
        token = new_secret()
        now = self._clock()
        invitation = StoredInvitation(
            token_hash=hash_session_token(token),
            user_id=user_id,
            created_at=now,
            expires_at=now + self._ttl_ms,
        )
        async with self._store.transaction() as tx:
            user = await tx.find_user(user_id)
            if user is None or not caller.can_see(user.org_id):
                raise InviteeNotFound(user_id)
            await tx.replace_invitation(invitation)
        logger.info("console.invitation_made user=%d by=%d", user_id, caller.user_id)
        return Invitation(token=token, user_id=user_id, expires_at=invitation.expires_at)

    async def invitee(self, token: str) -> StoredUser:
        """The user a valid link is for (the page greets it by e-mail).

        Raises:
            InvitationNotFound: unknown, used up or expired.
        """
        async with self._store.transaction() as tx:
            invitation = await tx.find_invitation(hash_session_token(token))
            if invitation is None or invitation.expires_at <= self._clock():
                raise InvitationNotFound
            user = await tx.find_user(invitation.user_id)
        if user is None:  # deleted meanwhile (its link goes with it)
            raise InvitationNotFound
        return user

    async def accept(self, token: str, *, password: str, confirmation: str) -> ConsoleSession:
        """Set the password of the link's user, use the link up, and sign the user in.

        Raises:
            PasswordRejected: shorter than ``MIN_PASSWORD_CHARS``, too long, or not confirmed.
            InvitationNotFound: unknown, used up (by a concurrent request too) or expired.
        """
        if password != confirmation:
            raise PasswordRejected("The passwords do not match.")
        if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
            raise PasswordRejected(
                f"The password must have {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters."
            )
        user = await self.invitee(token)
        stored = await hash_password(password_hash(user.email, password))
        async with self._store.transaction() as tx:
            if not await tx.delete_invitation(hash_session_token(token)):
                raise InvitationNotFound
            if not await tx.set_user_password(user.id, stored, ts=self._clock()):
                raise InvitationNotFound
            await tx.delete_user_sessions(user.id)
        logger.info("console.invitation_accepted user=%d", user.id)
        if self._bus is not None and user.status != ACTIVE:
            # An invited or registered user finished signing up (webhook USER_SIGNED_UP).
            self._bus.publish(
                UserSaved(user_id=user.id, org_id=user.org_id, created=False, signed_up=True)
            )
        return await self._sessions.start(user)
