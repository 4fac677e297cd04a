"""User passwords at rest: argon2id over the hash the client sends (issue #8).

Theory of operation. A Platform API client never sends a password, only ``passwordHash`` =
``base64(sha256(password ‖ sha256(lower(email))))`` (PLT-USR-03, ``domain.users.password_hash``).
Kept as such it would be one fast SHA-256 per guess for whoever copies the database. So the
server keeps ``argon2id(client hash)`` as an encoded PHC string
(``$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>``), which carries its own salt and parameters:
verification reads them from the string, so stronger parameters later need no migration, only
``needs_rehash`` after a successful sign-in.

One hash costs about 0.1 s of CPU and 64 MiB (docs/decisions.md), so every function that hashes
runs in a worker thread: creating a user over the Platform API must not stall the devices that
the same event loop serves.

A sign-in with e-mail and password (the web console, issue #9) computes the client hash exactly
as a Platform API client does and verifies that: ``verify_password``.
"""

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

from pinbase.domain.users import password_hash

PARAMETERS = RFC_9106_LOW_MEMORY
"""argon2id, t=3, m=64 MiB, p=4, 16-byte salt, 32-byte hash: RFC 9106's second recommended
option and argon2-cffi's default, for hosts without 2 GiB to spare per sign-in."""


def _hasher() -> PasswordHasher:
    return PasswordHasher.from_parameters(PARAMETERS)


async def hash_password(client_hash: str) -> str:
    """The PHC string to store for ``client_hash``, with a fresh random salt. Off the loop."""
    return await asyncio.to_thread(_hasher().hash, client_hash)


async def verify_client_hash(stored: str | None, client_hash: str) -> bool:
    """Whether ``client_hash`` is the one ``stored`` was made from. Off the loop.

    A user without a password (``stored`` None: invited or registered) never matches, but the
    hash is computed anyway, so the time taken does not tell a caller which users have one. A
    stored value that is no argon2 string never matches either.
    """
    return await asyncio.to_thread(_verify, stored, client_hash)


async def verify_password(stored: str | None, *, email: str, password: str) -> bool:
    """Whether ``password`` signs in the user with ``email`` whose stored hash is ``stored``."""
    return await verify_client_hash(stored, password_hash(email, password))


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with other parameters than ``PARAMETERS``.

    Checked after a successful sign-in, the only moment the client hash is at hand: store
    ``hash_password`` of it then. Raises ``argon2.exceptions.InvalidHashError`` for a string
    that is not argon2's, which a successful verification rules out.
    """
    return _hasher().check_needs_rehash(stored)


def _verify(stored: str | None, client_hash: str) -> bool:
    hasher = _hasher()
    if stored is None:
        hasher.hash(client_hash)  # the same cost as a verification, for timing's sake
        return False
    try:
        return hasher.verify(stored, client_hash)
    except (VerificationError, InvalidHashError):
        return False
