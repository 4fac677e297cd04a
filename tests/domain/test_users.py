"""The password hash of PLT-USR-03 and its shape check (``pinbase.domain.users``)."""

import base64
import hashlib

import pytest

from pinbase.domain.users import is_password_hash, password_hash

# (printf %s 'My$ecret pässword'; printf %s john@example.com | openssl dgst -sha256 -binary)
#   | openssl dgst -sha256 -binary | openssl base64
KNOWN = "Yslw9uZWzgjYF/H5+bSkvnT1bvxcLG+zaSKeGY9f/2s="


def test_password_hash_matches_the_documented_formula() -> None:
    """The e-mail is lower-cased and digested; the password bytes come first."""
    assert password_hash("John@Example.COM", "My$ecret pässword") == KNOWN
    inner = hashlib.sha256(b"a@b.example").digest()
    expected = base64.b64encode(hashlib.sha256(b"pw" + inner).digest()).decode()
    assert password_hash("A@B.example", "pw") == expected


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        (KNOWN, True),
        (KNOWN.rstrip("="), False),  # padding is required
        (base64.b64encode(b"x" * 31).decode(), False),
        (base64.b64encode(b"x" * 33).decode(), False),
        (hashlib.sha256(b"x").hexdigest(), False),  # hex, not Base64
        (KNOWN[:-2] + "!=", False),
        (" " + KNOWN, False),
        ("é" * 44, False),  # not ASCII
        ("", False),
    ],
)
def test_is_password_hash_wants_base64_of_32_bytes(text: str, valid: bool) -> None:
    """Standard Base64 with padding of exactly a SHA-256 digest, nothing else."""
    assert is_password_hash(text) is valid
