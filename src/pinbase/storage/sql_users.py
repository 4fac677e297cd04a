"""``SqlUserQueries``: the ``UserRepository`` half of ``SqlTransaction``, kept apart so that
``sql.py`` stays one concept long. A mixin: it uses the transaction's connection and dialect.
"""

from collections.abc import Collection
from typing import Any

from sqlalchemy import JSON, ColumnElement, Row, cast, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.domain.ids import OrgId
from pinbase.storage import schema
from pinbase.storage.sql_console_sessions import delete_user_credentials
from pinbase.storage.users import EmailTaken, NewUser, StoredUser, UserSort

_USERS = schema.users


class SqlUserQueries:
    """User reads and writes over ``self._db`` (see ``storage.users.UserRepository``)."""

    _db: AsyncConnection
    _dialect: str

    async def find_user(self, user_id: int) -> StoredUser | None:
        """The user with ``user_id``, or None."""
        row = (await self._db.execute(select(_USERS).where(_USERS.c.id == user_id))).first()
        return None if row is None else _user(row)

    async def find_user_by_email(self, email: str) -> StoredUser | None:
        """The user whose address is ``email`` (compared lower-cased), or None."""
        row = (
            await self._db.execute(select(_USERS).where(_USERS.c.email == email.lower()))
        ).first()
        return None if row is None else _user(row)

    async def add_user(self, user: NewUser, *, created_at: int) -> StoredUser:
        """Create a user (e-mail lower-cased), registered and last changed at ``created_at``."""
        values: dict[str, Any] = {
            "org_id": user.org_id,
            "name": user.name,
            "email": user.email.lower(),
            "title": user.title,
            "nick_name": user.nick_name,
            "phone_number": user.phone_number,
            "role_id": user.role_id,
            "tz": user.tz,
            "locale": user.locale,
            "status": user.status,
            "is_dev": user.is_dev,
            "password_hash": user.password_hash,
            "address": user.address,
            "registered_at": created_at,
            "last_modified_ts": created_at,
            "last_logged_at": 0,
        }
        try:
            result = await self._db.execute(_USERS.insert().values(**values).returning(_USERS.c.id))
        except IntegrityError as error:
            # The only constraint a caller cannot check first: the e-mail's unique index,
            # against a concurrent transaction.
            raise EmailTaken(user.email) from error
        return StoredUser(id=int(result.scalar_one()), **values)

    async def count_users(self, org_ids: Collection[OrgId]) -> int:
        """How many users belong to one of ``org_ids``."""
        return await self._count(_USERS.c.org_id.in_(list(org_ids)))

    async def list_users(
        self, org_ids: Collection[OrgId], *, offset: int, limit: int
    ) -> list[StoredUser]:
        """A page of the users of ``org_ids``, by id."""
        rows = await self._db.execute(
            select(_USERS)
            .where(_USERS.c.org_id.in_(list(org_ids)))
            .order_by(_USERS.c.id)
            .offset(offset)
            .limit(limit)
        )
        return [_user(row) for row in rows]

    async def count_matching_users(self, org_ids: Collection[OrgId], query: str) -> int:
        """How many users of ``org_ids`` have ``query`` in their name or e-mail (any case)."""
        return await self._count(_matching(org_ids, query))

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
        ordered by ``sort`` and then by id.
        """
        key = self._sort_key(sort)
        rows = await self._db.execute(
            select(_USERS)
            .where(_matching(org_ids, query))
            .order_by(key.desc() if descending else key.asc(), _USERS.c.id)
            .offset(offset)
            .limit(limit)
        )
        return [_user(row) for row in rows]

    async def update_user(
        self, user_id: int, *, org_id: OrgId, role_id: int, ts: int
    ) -> StoredUser | None:
        """Move a user to ``org_id`` with ``role_id`` (either may be unchanged); None if missing."""
        result = await self._db.execute(
            update(_USERS)
            .where(_USERS.c.id == user_id)
            .values(org_id=org_id, role_id=role_id, last_modified_ts=ts)
        )
        return await self.find_user(user_id) if result.rowcount else None

    async def delete_user(self, user_id: int) -> bool:
        """Delete a user with its console sessions and invitation link; the devices and tags it
        owned lose their owner. False if missing."""
        await delete_user_credentials(self._db, [user_id])
        for owned in (schema.devices, schema.tags):
            await self._db.execute(
                update(owned).where(owned.c.owner_user_id == user_id).values(owner_user_id=None)
            )
        result = await self._db.execute(delete(_USERS).where(_USERS.c.id == user_id))
        return bool(result.rowcount)

    async def _count(self, condition: ColumnElement[bool]) -> int:
        return int(await self._db.scalar(select(func.count()).where(condition)) or 0)

    def _sort_key(self, sort: UserSort) -> ColumnElement[Any]:
        """The SQL expression ``sort`` orders by; NULLs sort as empty text or zero."""
        if sort == "organization_name":
            orgs = schema.organizations
            return (
                select(func.lower(orgs.c.name))
                .where(orgs.c.id == _USERS.c.org_id)
                .scalar_subquery()
            )
        if sort == "devices_count":
            devices = schema.devices
            return (
                select(func.count()).where(devices.c.owner_user_id == _USERS.c.id).scalar_subquery()
            )
        if sort == "country":
            country: ColumnElement[Any] = (
                func.json_extract(_USERS.c.address, "$.country")
                if self._dialect == "sqlite"
                else cast(_USERS.c.address, JSON)["country"].as_string()
            )
            return func.lower(func.coalesce(country, ""))
        columns: dict[str, ColumnElement[Any]] = {
            "id": _USERS.c.id,
            "name": func.lower(_USERS.c.name),
            "email": _USERS.c.email,
            "status": _USERS.c.status,
            "role": _USERS.c.role_id,
            "registered_at": _USERS.c.registered_at,
            "phone_number": func.coalesce(_USERS.c.phone_number, ""),
        }
        return columns[sort]


def _matching(org_ids: Collection[OrgId], query: str) -> ColumnElement[bool]:
    """Users of ``org_ids`` whose name or e-mail contains ``query``, ignoring case.

    ``autoescape`` makes ``%`` and ``_`` in the query match themselves. ``lower`` keeps the
    column's type, so a query holding NUL matches nothing (storage/text_columns.py).
    """
    needle = query.lower()
    return _USERS.c.org_id.in_(list(org_ids)) & or_(
        func.lower(_USERS.c.name, type_=_USERS.c.name.type).contains(needle, autoescape=True),
        _USERS.c.email.contains(needle, autoescape=True),
    )


def _user(row: Row[Any]) -> StoredUser:
    return StoredUser(
        id=int(row.id),
        org_id=OrgId(row.org_id),
        name=row.name,
        email=row.email,
        title=row.title,
        nick_name=row.nick_name,
        phone_number=row.phone_number,
        role_id=int(row.role_id),
        tz=row.tz,
        locale=row.locale,
        status=row.status,
        is_dev=bool(row.is_dev),
        password_hash=row.password_hash,
        address=row.address,
        registered_at=int(row.registered_at),
        last_modified_ts=int(row.last_modified_ts),
        last_logged_at=int(row.last_logged_at),
    )
