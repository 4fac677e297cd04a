"""Users and roles as values and rules (data-model.md §1.3, http-api.md §4.5): the password
hash formula, the predefined roles, the statuses Pinbase uses, and the field rules (lengths and
alphabets) that the Platform API's wire models and the provisioning file both enforce.
"""

import base64
import binascii
import hashlib

ROLES = {1: "Admin", 2: "Staff", 3: "User"}
"""The predefined roles (http-api.md §4.0); Pinbase has no custom roles."""

ADMIN = 1
STAFF = 2
USER = 3

ACTIVE = "Active"
PENDING = "Pending"
"""Registered (PLT-USR-05): the sign-up e-mail Blynk would send is not sent."""
INVITED = "Invited"
"""Invited (PLT-USR-06): the invitation e-mail Blynk would send is not sent."""

# Field rules of data-model.md §1.3. ``[^\W_]`` is a Unicode letter or digit, ``[^\W\d_]`` a
# letter; lengths are the documented maxima, which the ``users`` columns also hold.
NAME = r"^(?:[^\W\d_]|[ .'-]){1,50}$"
"""≤ 50 letters, hyphens, spaces, dots, apostrophes."""
TITLE = r"^(?:[^\W\d_]|[ -]){1,50}$"
"""≤ 50 letters, hyphens, spaces."""
NICK_NAME = r"^(?:[^\W_]|[ -]){1,50}$"
"""≤ 50 letters, digits, hyphens, spaces."""
PHONE = r"^\+[0-9 ()-]{1,31}$"
"""Starts with ``+``; 32 characters at most, the column's width (as for organizations)."""
ORGANIZATION_NAME = r"^(?:[^\W_]|[ .'-]){3,100}$"
"""3..100 letters, digits, dots, apostrophes, hyphens, spaces."""
LOCALE = r"^[a-z]{2}_[A-Z]{2}$"
"""``ll_CC``: ISO 639-1 language, ISO 3166-1 alpha-2 country."""
EMAIL = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
"""One ``@``, no spaces, a dot in the domain: loose on purpose, no mail is sent anyway."""
MAX_EMAIL = 255
PASSWORD_HASH = r"^[A-Za-z0-9+/]{43}=$"  # noqa: S105  # a pattern, not a credential
"""The shape ``is_password_hash`` accepts, for documents: padded Base64 of 32 bytes."""
MAX_TZ = 64
ADDRESS_LIMITS = {"fullAddress": 512, "city": 50, "country": 74, "state": 40, "zip": 12}
"""Maximum length of each address field (PLT-USR-03)."""

HASH_BYTES = 32
"""A SHA-256 digest; its standard Base64 with padding has 44 characters."""


def password_hash(email: str, password: str) -> str:
    """``base64(sha256(utf8(password) ‖ sha256(utf8(lower(email)))))`` (PLT-USR-03): what a
    client sends instead of a password; the server keeps only argon2id of it.
    """
    salt = hashlib.sha256(email.lower().encode()).digest()
    return base64.b64encode(hashlib.sha256(password.encode() + salt).digest()).decode()


def is_password_hash(text: str) -> bool:
    """Whether ``text`` is standard Base64 (with padding) of exactly 32 bytes."""
    try:
        return len(base64.b64decode(text, validate=True)) == HASH_BYTES
    except (binascii.Error, ValueError):
        return False
