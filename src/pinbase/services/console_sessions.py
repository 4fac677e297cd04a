"""Signing in to the web console with a user's e-mail and password, and the sessions that follow.

Theory of operation. ``sign_in`` verifies the password exactly as the Platform API stores it
(``services.passwords``: argon2id of the client hash, in a worker thread), then records a
session in the database and hands back its token, which the HTTP layer puts in the
``pinbase_session`` cookie. The token is 256 random bits; only its SHA-256 hex is stored, for the
reason ``services.oauth`` gives for access tokens (nothing to brute-force, and the row must be
found by its hash). Each session carries a CSRF secret of its own, which every state-changing
console request must echo.

Sessions live in the database, not in memory, so that a restart keeps people signed in and every
process of one installation sees the same sessions. ``resolve`` reads the session and its user on
each request (two primary-key reads; console traffic is a person clicking, not a device loop), so
a deleted user, whose sessions go in the deleting transaction (``storage.delete_user``,
``delete_organization``), is refused from its very next request, in every process. There is no
session cache, so ``CachedState`` has nothing to drop for them; a changed role or organization
applies at the next request too. Expiry slides: a session unused for ``ttl_ms`` expires, and a
use moves the expiry, written at most once per ``TOUCH_INTERVAL_MS`` so that browsing does not
write on every page.

Who may sign in: any user with a password, whatever its status. A registered (Pending) or
invited user has none until it sets one through an invitation link (``services.invitations``);
its first sign-in makes it Active (console.md §1.2: *Pending* until the first login).

Throttling. Failures are counted by ``LoginThrottle``, the rule of the device listeners: per
address and per e-mail address, answered after a delay that grows past ``free_failures``
failures; a right password always signs in at once. The delay is returned to the HTTP layer,
which holds the answer (``SignInRefused.delay_s``).
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass

from pinbase.domain.errors import PinbaseError
from pinbase.domain.users import ACTIVE, MAX_EMAIL
from pinbase.services.clock import Clock
from pinbase.services.console_caller import ConsoleCaller, permissions_of
from pinbase.services.directory import Directory
from pinbase.services.login_throttle import LoginThrottle
from pinbase.services.passwords import verify_password
from pinbase.storage.base import Store
from pinbase.storage.console_sessions import StoredSession
from pinbase.storage.users import StoredUser

logger = logging.getLogger(__name__)

TOKEN_BYTES = 32
"""256 random bits per session and per CSRF secret: 43 URL-safe characters."""

TOUCH_INTERVAL_MS = 5 * 60_000
"""How stale a session's recorded last use may get before a request writes it again: a sliding
expiry of days loses nothing to five minutes, and browsing does not write on every page."""

MAX_PASSWORD_CHARS = 1024
"""Longer passwords are refused unread: hashing one costs SHA-256 over it before argon2."""


def hash_session_token(token: str) -> str:
    """The SHA-256 hex under which a session or invitation token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret() -> str:
    """A fresh session token, invitation token or CSRF secret."""
    return secrets.token_urlsafe(TOKEN_BYTES)


class SignInRefused(PinbaseError):
    """Wrong e-mail or password (never which); the answer should wait ``delay_s`` seconds."""

    def __init__(self, delay_s: float) -> None:
        super().__init__("wrong e-mail or password")
        self.delay_s = delay_s


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsoleSession:
    """A valid session: who it acts for and the CSRF secret its requests must echo.

    ``token`` is the cookie value, set right after signing in and when a use moved the expiry
    (the cookie is then sent again with a new lifetime); None otherwise.
    """

    caller: ConsoleCaller
    csrf_token: str
    expires_at: int
    token: str | None = None


class ConsoleSessions:
    """Signs users in and out and turns a session token into a ``ConsoleCaller``."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        clock: Clock,
        *,
        throttle: LoginThrottle,
        ttl_ms: int,
    ) -> None:
        """``ttl_ms``: how long an unused session stays valid (the expiry slides on use)."""
        self._store = store
        self._directory = directory
        self._clock = clock
        self._throttle = throttle
        self._ttl_ms = ttl_ms

    async def sign_in(self, email: str, password: str, *, address: str) -> ConsoleSession:
        """A new session for the user with ``email`` and ``password``, coming from ``address``.

        Raises:
            SignInRefused: no such user, no password set, or a wrong password (one answer for
                all, after the same argon2 work).
        """
        email = email.strip().lower()
        user = None
        if 0 < len(email) <= MAX_EMAIL and "\x00" not in email:
            async with self._store.transaction() as tx:
                user = await tx.find_user_by_email(email)
        valid = len(password) <= MAX_PASSWORD_CHARS and await verify_password(
            None if user is None else user.password_hash, email=email, password=password
        )
        if user is None or not valid:
            delay = self._throttle.failed(address, email)
            logger.info("console.sign_in_refused delay_s=%.1f", delay)
            raise SignInRefused(delay)
        session = await self.start(user)
        logger.info("console.signed_in user=%d", user.id)
        return session

    async def start(self, user: StoredUser) -> ConsoleSession:
        """Open a session for ``user`` (password checked by the caller); it is now Active and
        its last login is now. Expired sessions of anyone are swept out on the way."""
        now = self._clock()
        token, csrf = new_secret(), new_secret()
        stored = StoredSession(
            token_hash=hash_session_token(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self._ttl_ms,
        )
        async with self._store.transaction() as tx:
            await tx.delete_expired_console_sessions(now)
            await tx.add_console_session(stored)
            await tx.record_sign_in(user.id, ts=now, status=ACTIVE)
        return ConsoleSession(
            caller=self._caller(user), csrf_token=csrf, expires_at=stored.expires_at, token=token
        )

    async def resolve(self, token: str) -> ConsoleSession | None:
        """The session of a cookie's ``token``, or None when it is unknown, expired, or its user
        is gone. A use moves the expiry (``TOUCH_INTERVAL_MS``)."""
        token_hash = hash_session_token(token)
        now = self._clock()
        async with self._store.transaction() as tx:
            stored = await tx.find_console_session(token_hash)
            if stored is None or stored.expires_at <= now:
                return None
            user = await tx.find_user(stored.user_id)
            if user is None:
                return None
            expires_at, renewed = stored.expires_at, None
            if now - stored.last_seen_at >= TOUCH_INTERVAL_MS:
                expires_at, renewed = now + self._ttl_ms, token
                await tx.touch_console_session(token_hash, last_seen_at=now, expires_at=expires_at)
        return ConsoleSession(
            caller=self._caller(user),
            csrf_token=stored.csrf_token,
            expires_at=expires_at,
            token=renewed,
        )

    async def sign_out(self, token: str) -> None:
        """End the session of ``token`` (nothing happens for an unknown one)."""
        async with self._store.transaction() as tx:
            await tx.delete_console_session(hash_session_token(token))

    def _caller(self, user: StoredUser) -> ConsoleCaller:
        """The caller ``user`` acts as: its organization's subtree, its role's permissions."""
        return ConsoleCaller(
            user_id=user.id,
            email=user.email,
            name=user.name,
            role_id=user.role_id,
            org_id=user.org_id,
            scope=self._directory.subtree(user.org_id),
            permissions=permissions_of(user.role_id),
        )
