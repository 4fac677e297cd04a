"""The user part of the storage contract (data-model.md §1.3): records and the repository
``Protocol`` that ``Transaction`` extends. No SQL here; ``storage.sql_users`` implements it.

E-mail addresses are stored lower-cased: the password hash is computed over the lower-cased
address (data-model.md §1.3), so two spellings of one address must be one account.
"""

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, Protocol

from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import OrgId

UserSort = Literal[
    "id",
    "name",
    "email",
    "status",
    "role",
    "organization_name",
    "devices_count",
    "country",
    "registered_at",
    "phone_number",
]
"""Sort keys of a user search; PLT-USR-02's ``sortBy`` labels map onto these one to one."""


class EmailTaken(PinbaseError):
    """Another user already has the address (the database's unique index said so)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewUser:
    """What creating a user needs; the database assigns the id.

    ``address`` is the JSON text of ``{fullAddress, city, country, state, zip}``;
    ``password_hash`` is argon2id of the client-computed Base64 hash as a PHC string
    (``services.passwords``), or None for an invited or registered user.
    """

    org_id: OrgId
    name: str
    email: str
    role_id: int
    status: str
    is_dev: bool = False
    title: str | None = None
    nick_name: str | None = None
    phone_number: str | None = None
    tz: str | None = None
    locale: str | None = None
    password_hash: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredUser:
    """A user with every UserFull field of http-api.md §4.0, plus its password hash and address.

    Timestamps are epoch milliseconds; ``last_logged_at`` is 0 for a user who never logged in.
    """

    id: int
    org_id: OrgId
    name: str
    email: str
    title: str | None
    nick_name: str | None
    phone_number: str | None
    role_id: int
    tz: str | None
    locale: str | None
    status: str
    is_dev: bool
    password_hash: str | None
    address: str | None
    registered_at: int
    last_modified_ts: int
    last_logged_at: int


class UserRepository(Protocol):
    """Reads and writes of users inside one transaction."""

    async def find_user(self, user_id: int) -> StoredUser | None:
        """The user with ``user_id``, or None."""
        ...

    async def find_user_by_email(self, email: str) -> StoredUser | None:
        """The user whose address is ``email`` (compared lower-cased), or None."""
        ...

    async def add_user(self, user: NewUser, *, created_at: int) -> StoredUser:
        """Create a user (its e-mail lower-cased); registration and last change at ``created_at``.

        Raises:
            EmailTaken: the address is already taken (by a concurrent transaction, typically:
                callers look the address up first). The transaction must be abandoned.
        """
        ...

    async def count_users(self, org_ids: Collection[OrgId]) -> int:
        """How many users belong to one of ``org_ids``."""
        ...

    async def list_users(
        self, org_ids: Collection[OrgId], *, offset: int, limit: int
    ) -> list[StoredUser]:
        """A page of the users of ``org_ids``, by id."""
        ...

    async def count_matching_users(self, org_ids: Collection[OrgId], query: str) -> int:
        """How many users of ``org_ids`` have ``query`` in their name or e-mail (any case)."""
        ...

    async def search_users(
        self,
        org_ids: Collection[OrgId],
        query: str,
        *,
        sort: UserSort,
        descending: bool,
        offset: int,
        limit: int,
    ) -> list[StoredUser]:
        """A page of the users of ``org_ids`` with ``query`` in their name or e-mail (any case),
        ordered by ``sort`` and then by id (ties always ascend by id).
        """
        ...

    async def update_user(
        self, user_id: int, *, org_id: OrgId, role_id: int, ts: int
    ) -> StoredUser | None:
        """Move a user to ``org_id`` with ``role_id`` (either may be unchanged); None if missing."""
        ...

    async def delete_user(self, user_id: int) -> bool:
        """Delete a user with its console sessions and invitation link; the devices and tags it
        owned lose their owner. False if missing."""
        ...
