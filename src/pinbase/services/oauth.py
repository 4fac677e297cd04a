"""OAuth2 clients and tokens of the Platform API (http-api.md §1.3, §3 AUTH-01).

Theory of operation. The token endpoint (``http/oauth.py``) runs Authlib's grant logic, which
is synchronous; this service gives it everything in memory (clients, a prefetched refresh
token) and persists what it issued afterwards. The Platform API then validates each
``Authorization: Bearer`` token here: an in-memory cache keyed by the token's hash answers the
hot path, the database answers the first use after a restart, and the services clock decides
expiry.

Revocation. Deleting an organization or an OAuth client deletes its tokens in the database and
announces the change; ``services.state.CachedState`` then drops the cached ones
(``forget_organization``, ``forget_client``), so the very next request is refused. As a second
line, a token whose client or organization the directory no longer knows is refused too. A
change made by another process (``pinbase oauth delete-client`` on the same database) cannot be
announced here yet, so a cached token is read from the database again once ``recheck_ms`` has
passed since it was last read: a token revoked elsewhere works for at most that long. The hot
path stays one dictionary lookup, one comparison and two more lookups.

Tokens are 30 random bytes, written as 40 URL-safe characters (Blynk's shape). Only their SHA-256
hex is stored. A fast hash is right here, unlike for passwords: a token carries 240 bits of
randomness, so there is no dictionary to try and no brute force to slow down, and a slow or
salted hash would forbid looking a token up by its hash. The same holds for client secrets
(``provisioning.hash_secret``). Lookups by hash (dictionary, unique index) compare digests, not
secrets: timing reveals nothing an attacker can steer toward a valid token. Where a secret itself
is checked against a stored hash, the comparison is ``hmac.compare_digest``.

Refresh tokens rotate: using one revokes it and issues a new pair. Revocation is a conditional
update that succeeds once, so of two requests racing with the same refresh token only one gets
new tokens.
"""

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from pinbase.domain.devices import Device
from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import OrgId
from pinbase.domain.organizations import OAuthClient
from pinbase.services.bus import Bus
from pinbase.services.changes import OAuthClientRemoved
from pinbase.services.clock import Clock
from pinbase.services.directory import Directory
from pinbase.services.provisioning import CLIENT_SECRET_BYTES, hash_secret, new_client_id
from pinbase.services.scope import Scoped
from pinbase.storage.base import Store, StoredToken

logger = logging.getLogger(__name__)

ACCESS = "access"
REFRESH = "refresh"

TOKEN_BYTES = 30
"""240 random bits; URL-safe Base64 makes them the 40 characters Blynk's tokens have."""

MAX_CACHED_TOKENS = 100_000
"""Access tokens kept in memory; past this, expired ones are dropped, then the oldest half."""

PURGE_INTERVAL_MS = 3_600_000
"""How often issuing tokens also deletes expired ones from the database."""


def new_token_text() -> str:
    """A fresh access or refresh token: 40 URL-safe characters."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The SHA-256 hex under which a token is stored and cached."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_secret_of(client: OAuthClient, secret: str) -> bool:
    """Whether ``secret`` is the client's secret, compared in constant time."""
    return hmac.compare_digest(hash_secret(secret), client.secret_hash)


@dataclass(frozen=True, slots=True, kw_only=True)
class Caller:
    """Who a valid access token acts for: its client's home organization and everything below.

    ``scope`` holds ``org_id`` and all of its sub-organizations (http-api.md §1.3); anything
    outside it is answered as missing.
    """

    client_id: str
    org_id: OrgId
    scope: frozenset[OrgId]

    def can_see(self, org_id: OrgId) -> bool:
        """Whether an object of ``org_id`` is within the caller's scope."""
        return org_id in self.scope

    def can_view_device(self, device: Device) -> bool:
        """Every device of the scope: a client acts for its organization, not for a person."""
        return self.can_see(device.org_id)

    def can_control_device(self, device: Device) -> bool:
        """Every device of the scope (PLT-DS-02, 03 write to any of them)."""
        return self.can_see(device.org_id)


class ClientGone(PinbaseError):
    """The client was deleted (by another process) after the request found it; nothing was
    stored. The token endpoint answers as for an unknown client."""


class RefreshRaceLost(PinbaseError):
    """Another request used the same refresh token first; nothing was issued."""


class ClientNotFound(PinbaseError):
    """No such OAuth client of the caller's organization (the same answer for another's)."""


MAX_CLIENT_NAME = 64
"""Blynk.Console's suggested limit for a client's name (console.md §1.8)."""


class OAuth:
    """Looks up clients, issues, persists and validates tokens."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        clock: Clock,
        *,
        bus: Bus,
        access_ttl_s: int,
        refresh_ttl_s: int,
        recheck_ms: int,
    ) -> None:
        """Bind the collaborators.

        Args:
            bus: where ``delete_client`` announces the deletion.
            recheck_ms: how long a cached access token is trusted before it is read from the
                database again (0: on every request).
        """
        self._store = store
        self._directory = directory
        self._clock = clock
        self._bus = bus
        self.access_ttl_s = access_ttl_s
        self._refresh_ttl_ms = refresh_ttl_s * 1000
        self._recheck_ms = recheck_ms
        self._access: dict[str, tuple[StoredToken, int]] = {}
        """Access token records by hash, each with the time from which it must be re-read."""
        self._next_purge = 0

    def client(self, client_id: str) -> OAuthClient | None:
        """A client already in memory (Authlib's synchronous ``query_client``)."""
        return self._directory.oauth_client(client_id)

    async def load_client(self, client_id: str) -> OAuthClient | None:
        """A client by public id, checked against the database before a token is issued.

        A client created by another process is found and indexed; one deleted by another
        process (``pinbase oauth delete-client``) is announced as removed, which revokes its
        cached tokens here too. Issuing tokens is rare enough for the query.
        """
        async with self._store.transaction() as tx:
            stored = await tx.find_oauth_client(client_id)
        if stored is None:
            if self._directory.oauth_client(client_id) is not None:
                self._bus.publish(OAuthClientRemoved(client_id=client_id))
            return None
        return await self._directory.find_oauth_client(client_id)

    async def find_refresh(self, token: str) -> StoredToken | None:
        """The stored record of a refresh token, fetched before Authlib runs; None if unknown."""
        async with self._store.transaction() as tx:
            record = await tx.find_oauth_token(hash_token(token))
        return record if record is not None and record.kind == REFRESH else None

    def is_usable_refresh(self, record: StoredToken, token: str) -> bool:
        """Whether ``record`` is ``token``'s, not revoked and not expired."""
        return (
            hmac.compare_digest(record.token_hash, hash_token(token))
            and record.kind == REFRESH
            and not record.revoked
            and record.expires_at > self._clock()
        )

    def records(
        self, client: OAuthClient, *, access: str, refresh: str | None
    ) -> tuple[StoredToken, ...]:
        """What to store for a token response: the access token and its refresh token."""
        now = self._clock()
        issued = [
            StoredToken(
                token_hash=hash_token(access),
                kind=ACCESS,
                client_id=client.client_id,
                org_id=client.org_id,
                expires_at=now + self.access_ttl_s * 1000,
                created_at=now,
            )
        ]
        if refresh is not None:
            issued.append(
                StoredToken(
                    token_hash=hash_token(refresh),
                    kind=REFRESH,
                    client_id=client.client_id,
                    org_id=client.org_id,
                    expires_at=now + self._refresh_ttl_ms,
                    created_at=now,
                )
            )
        return tuple(issued)

    async def persist(
        self, issued: tuple[StoredToken, ...], *, rotated: StoredToken | None = None
    ) -> None:
        """Store issued tokens, revoking the refresh token they replace, in one transaction.

        Raises:
            RefreshRaceLost: ``rotated`` was revoked meanwhile; nothing was stored.
            ClientGone: the client was deleted meanwhile; nothing was stored.
        """
        now = self._clock()
        async with self._store.transaction() as tx:
            if rotated is not None and not await tx.revoke_oauth_token(rotated.token_hash):
                raise RefreshRaceLost("refresh token already used")
            # Checked in the transaction that stores the tokens: a client deleted since the
            # request found it would otherwise fail the insert on its foreign key (a 500).
            if issued and await tx.find_oauth_client(issued[0].client_id) is None:
                raise ClientGone("client deleted")
            await tx.add_oauth_tokens(issued)
            if now >= self._next_purge:
                purged = await tx.delete_expired_oauth_tokens(before=now)
                self._next_purge = now + PURGE_INTERVAL_MS
                logger.info("oauth.tokens_purged count=%d", purged)
        for record in issued:
            if record.kind == ACCESS:
                self._remember(record, now)

    async def authenticate(self, token: str) -> Caller | None:
        """The caller an access token acts for; None if it is unknown, revoked or expired, or
        its client or organization was deleted."""
        token_hash = hash_token(token)
        now = self._clock()
        cached = self._access.get(token_hash)
        record: StoredToken | None
        if cached is not None and now < cached[1]:
            record = cached[0]
        else:
            async with self._store.transaction() as tx:
                record = await tx.find_oauth_token(token_hash)
            if record is None or record.kind != ACCESS:
                self._access.pop(token_hash, None)  # deleted elsewhere since it was cached
                return None
            self._remember(record, now)
        if record.revoked or record.expires_at <= now:
            self._access.pop(token_hash, None)
            return None
        directory = self._directory
        known = directory.oauth_client(record.client_id) is not None
        if (not known or directory.organization(record.org_id) is None) and not (
            await self._issuer_found(record)
        ):
            self._access.pop(token_hash, None)
            return None
        return Caller(
            client_id=record.client_id,
            org_id=record.org_id,
            scope=self._directory.subtree(record.org_id),
        )

    async def delete_client(self, client_id: str) -> bool:
        """Delete an OAuth client with every token issued to it, then announce it, so the next
        request with one of its tokens is refused; False when there is no such client."""
        if not await delete_client(self._store, client_id):
            return False
        self._bus.publish(OAuthClientRemoved(client_id=client_id))
        return True

    async def clients_of(self, caller: Scoped) -> list[OAuthClient]:
        """The OAuth clients of the caller's home organization, oldest first (the console's
        Developer page; a sub-organization's clients belong to its own Admins)."""
        return [c for c in await list_clients(self._store) if c.org_id == caller.org_id]

    async def add_client(self, caller: Scoped, name: str) -> tuple[OAuthClient, str]:
        """A new client of the caller's home organization and its secret, returned this once.

        Raises:
            ClientNotFound: the organization was deleted meanwhile.
        """
        created = await create_client(
            self._store, org_id=caller.org_id, name=name, clock=self._clock
        )
        if created is None:
            raise ClientNotFound(name)
        logger.info("oauth.client_created org_id=%d", caller.org_id)
        return created

    async def revoke_client(self, caller: Scoped, client_id: str) -> None:
        """Delete a client of the caller's home organization with its tokens
        (``delete_client``): its tokens are refused from the next request on.

        Raises:
            ClientNotFound: no such client of the caller's organization.
        """
        if not any(c.client_id == client_id for c in await self.clients_of(caller)):
            raise ClientNotFound(client_id)
        if not await self.delete_client(client_id):
            raise ClientNotFound(client_id)

    def forget_client(self, client_id: str) -> None:
        """Drop the cached tokens of a deleted client. Called by ``CachedState.apply`` only."""
        self._access = {h: c for h, c in self._access.items() if c[0].client_id != client_id}

    def forget_all(self) -> None:
        """Drop every cached token: each is read from the database again on its next use (the
        node may have missed revocations). Called by ``CachedState.reload`` only."""
        self._access = {}

    def forget_organization(self, org_id: OrgId) -> None:
        """Drop the cached tokens of a deleted organization's clients. Called by
        ``CachedState.apply`` only."""
        self._access = {h: c for h, c in self._access.items() if c[0].org_id != org_id}

    async def _issuer_found(self, record: StoredToken) -> bool:
        """Whether the token's client and organization exist, for a token whose client or
        organization the directory does not know: the second line behind revocation. Looking
        the client up in the database reloads the organizations too, so a client and
        organization made by another process are found; deleted ones are found nowhere."""
        if await self._directory.find_oauth_client(record.client_id) is None:
            return False
        return self._directory.organization(record.org_id) is not None

    def _remember(self, record: StoredToken, now: int) -> None:
        if len(self._access) >= MAX_CACHED_TOKENS:
            self._access = {h: c for h, c in self._access.items() if c[0].expires_at > now}
            if len(self._access) >= MAX_CACHED_TOKENS:
                # Dicts keep insertion order: keep the newer half; dropped ones reload on use.
                kept = list(self._access.items())[MAX_CACHED_TOKENS // 2 :]
                self._access = dict(kept)
        self._access[record.token_hash] = (record, now + self._recheck_ms)


async def create_client(
    store: Store, *, org_id: OrgId, name: str, clock: Clock
) -> tuple[OAuthClient, str] | None:
    """Create an OAuth client in an existing organization; return it and its secret.

    The secret is returned once and only its hash is stored. None when the organization does
    not exist.
    """
    secret = secrets.token_urlsafe(CLIENT_SECRET_BYTES)
    async with store.transaction() as tx:
        if not any(org.id == org_id for org in await tx.load_organizations()):
            return None
        client = await tx.add_oauth_client(
            org_id=org_id,
            name=name,
            client_id=new_client_id(),
            secret_hash=hash_secret(secret),
            created_at=clock(),
        )
    return client, secret


async def delete_client(store: Store, client_id: str) -> bool:
    """Delete an OAuth client with every token issued to it; False when there is no such client.

    A server on the same database learns of it within its ``access_token_recheck_s``; use
    ``OAuth.delete_client`` inside a server, which revokes at once.
    """
    async with store.transaction() as tx:
        deleted = await tx.delete_oauth_client(client_id)
    if deleted:
        logger.info("oauth.client_deleted")
    return deleted


async def list_clients(store: Store) -> list[OAuthClient]:
    """Every OAuth client, oldest first."""
    async with store.transaction() as tx:
        return await tx.list_oauth_clients()
