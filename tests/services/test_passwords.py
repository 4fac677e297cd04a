"""``services.passwords``: argon2id over the client hash, and the checks a sign-in will make."""

import pytest
from argon2 import PasswordHasher

from pinbase.domain.users import password_hash
from pinbase.services.passwords import (
    hash_password,
    needs_rehash,
    verify_client_hash,
    verify_password,
)

EMAIL = "Ann@Example.com"
CLIENT_HASH = password_hash(EMAIL, "correct horse")


async def test_stored_value_is_an_argon2id_string_with_its_parameters() -> None:
    """The PHC string names argon2id and RFC 9106's low-memory parameters, and argon2-cffi
    itself verifies it against the client hash."""
    stored = await hash_password(CLIENT_HASH)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert CLIENT_HASH not in stored
    assert PasswordHasher().verify(stored, CLIENT_HASH)


async def test_each_hash_has_its_own_salt() -> None:
    """Two users with the same password get different stored values."""
    assert await hash_password(CLIENT_HASH) != await hash_password(CLIENT_HASH)


async def test_client_hash_verifies_and_others_do_not() -> None:
    """Only the client hash the value was made from matches."""
    stored = await hash_password(CLIENT_HASH)
    assert await verify_client_hash(stored, CLIENT_HASH)
    assert not await verify_client_hash(stored, password_hash(EMAIL, "wrong horse"))
    assert not await verify_client_hash(stored, password_hash("bob@example.com", "correct horse"))


async def test_sign_in_with_email_and_password() -> None:
    """A console sign-in computes the client hash (e-mail in any case) and verifies it."""
    stored = await hash_password(CLIENT_HASH)
    assert await verify_password(stored, email="ann@example.COM", password="correct horse")
    assert not await verify_password(stored, email=EMAIL, password="Correct horse")
    assert not await verify_password(stored, email="bob@example.com", password="correct horse")


@pytest.mark.parametrize("stored", [None, "", CLIENT_HASH, "$argon2id$v=19$m=65536,t=3,p=4$x$y"])
async def test_no_password_or_an_unreadable_one_never_matches(stored: str | None) -> None:
    """An invited user (None), the old SHA-256 form or a broken string refuse, never raise."""
    assert not await verify_client_hash(stored, CLIENT_HASH)


async def test_rehash_is_needed_only_for_other_parameters() -> None:
    """A value made with today's parameters is kept; one made with weaker ones is replaced."""
    assert not needs_rehash(await hash_password(CLIENT_HASH))
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(CLIENT_HASH)
    assert needs_rehash(weaker)
