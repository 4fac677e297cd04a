"""Device tokens recently found in no database row: the directory's negative cache.

Without it every request carrying a wrong token costs a database query, since a token the
directory does not know may belong to a device another process provisioned meanwhile. A flood of
wrong tokens would then load the database with one query per request. Remembering each miss for
a few seconds bounds that to one query per distinct token per TTL, and a device provisioned by
another process answers at the latest one TTL after its first refused request. Devices this
server creates or re-indexes leave the cache at once (``Directory.add_device``).

Entries all live for the same TTL, so insertion order is expiry order: when full, the oldest
entry goes first. Tokens longer than any issued one are kept as a digest, so the memory per entry
stays bounded whatever a client sends.
"""

import hashlib

from pinbase.domain.ids import Token
from pinbase.services.clock import Clock

MAX_KEPT_TOKEN_CHARS = 64
"""Issued tokens have 32 characters (http-api.md §1.3); longer ones are kept as a 16-byte digest."""


class UnknownTokens:
    """A bounded set of tokens, each forgotten ``ttl_ms`` after it was added."""

    def __init__(self, clock: Clock, *, capacity: int, ttl_ms: int) -> None:
        self._clock = clock
        self._capacity = capacity
        self._ttl_ms = ttl_ms
        self._expiry: dict[str | bytes, int] = {}

    def __contains__(self, token: Token) -> bool:
        key = _key(token)
        expiry = self._expiry.get(key)
        if expiry is None:
            return False
        if expiry > self._clock():
            return True
        del self._expiry[key]
        return False

    def add(self, token: Token) -> None:
        """Remember ``token`` as unknown, evicting the oldest entry when full."""
        if not self._capacity or not self._ttl_ms:
            return
        key = _key(token)
        self._expiry.pop(key, None)
        while len(self._expiry) >= self._capacity:
            del self._expiry[next(iter(self._expiry))]
        self._expiry[key] = self._clock() + self._ttl_ms

    def discard(self, token: Token) -> None:
        """Forget ``token``: a device owning it exists now."""
        self._expiry.pop(_key(token), None)


def _key(token: Token) -> str | bytes:
    if len(token) <= MAX_KEPT_TOKEN_CHARS:
        return token
    return hashlib.blake2b(token.encode(), digest_size=16).digest()
