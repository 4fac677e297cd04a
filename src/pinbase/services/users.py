"""Platform API users (http-api.md §4.5, data-model.md §1.3): the rules behind PLT-USR-01..09.

Theory of operation. Clients never send passwords, only ``passwordHash`` (see
``pinbase.domain.users.password_hash``); what is stored is argon2id of it (``services.passwords``),
computed before the transaction begins, off the event loop. A caller (``services.scope.Scoped``:
the Platform API's OAuth client or a console user) acts within its scope (its home organization
and everything below): a user or organization outside it is reported exactly like a missing
one. Pinbase sends no e-mail, so a registered user is stored ``Pending`` and an invited one
``Invited`` (docs/platform-api.md); the console shows the inviting Admin a link instead.

A user "with its own client organization" (PLT-USR-03, -05) gets a new ``PERSONAL``
organization below the caller's "Clients" group organization, a direct child of the caller's
home organization named ``Clients``, when there is one, and directly below the home organization
otherwise. The field rules themselves live in ``pinbase.domain.users``.
"""

import logging
from dataclasses import dataclass

from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import OrgId
from pinbase.domain.users import ACTIVE, ADMIN, INVITED, PENDING, ROLES
from pinbase.services.bus import Bus, UserSaved
from pinbase.services.changes import OrganizationSaved, UserRemoved
from pinbase.services.clock import Clock
from pinbase.services.directory import Directory
from pinbase.services.passwords import hash_password
from pinbase.services.scope import Scoped
from pinbase.storage.base import OrganizationProfile, Store, Transaction
from pinbase.storage.users import EmailTaken, NewUser, StoredUser, UserSort

logger = logging.getLogger(__name__)

CLIENTS = "Clients"
"""The group organization client organizations go under (data-model.md §1.2), when present."""

CLIENT_ORGANIZATION_TYPE = "PERSONAL"


def user_full(user: StoredUser) -> dict[str, object]:
    """The UserFull object of http-api.md §4.0 (PLT-USR-08), also a webhook's ``{user_object}``."""
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "title": user.title,
        "nickName": user.nick_name,
        "phoneNumber": user.phone_number,
        "roleId": user.role_id,
        "orgId": user.org_id,
        "tz": user.tz,
        "locale": user.locale,
        "status": user.status,
        "lastModifiedTs": user.last_modified_ts,
        "lastLoggedAt": user.last_logged_at,
        "registeredAt": user.registered_at,
        "isDev": user.is_dev,
    }


class UserError(PinbaseError):
    """A user operation is refused; the HTTP layer picks the endpoint's message."""


class UserNotFound(UserError):
    """No such user in the caller's scope."""


class OrganizationNotFound(UserError):
    """No such organization in the caller's scope."""


class RoleNotFound(UserError):
    """A role id other than 1..3."""


class EmailInUse(UserError):
    """Another user already has that address."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """The optional profile fields a creating request may carry, already validated."""

    title: str | None = None
    nick_name: str | None = None
    phone_number: str | None = None
    tz: str | None = None
    locale: str | None = None
    address: str | None = None


class Users:
    """The use cases of PLT-USR-01..09 over the store, with the directory's organization tree."""

    def __init__(self, store: Store, directory: Directory, bus: Bus, clock: Clock) -> None:
        self._store = store
        self._directory = directory
        self._bus = bus
        self._clock = clock

    async def page(
        self, caller: Scoped, *, include_sub_orgs: bool, offset: int, limit: int
    ) -> tuple[list[StoredUser], int]:
        """A page of the users of the caller's organization (and those below), with the total."""
        org_ids = caller.scope if include_sub_orgs else {caller.org_id}
        async with self._store.transaction() as tx:
            return (
                await tx.list_users(org_ids, offset=offset, limit=limit),
                await tx.count_users(org_ids),
            )

    async def search(
        self,
        caller: Scoped,
        query: str,
        *,
        sort: UserSort,
        descending: bool,
        offset: int,
        limit: int,
    ) -> tuple[list[StoredUser], int]:
        """A page of the users in scope whose name or e-mail contains ``query``, with the total."""
        async with self._store.transaction() as tx:
            found = await tx.search_users(
                caller.scope, query, sort=sort, descending=descending, offset=offset, limit=limit
            )
            return found, await tx.count_matching_users(caller.scope, query)

    async def get(self, caller: Scoped, user_id: int) -> StoredUser:
        """The user, if in scope.

        Raises:
            UserNotFound: missing or outside the caller's scope.
        """
        async with self._store.transaction() as tx:
            return await _user_in_scope(tx, caller, user_id)

    async def set_role(self, caller: Scoped, user_id: int, role_id: int) -> StoredUser:
        """Give a user in scope another role (PLT-USR-09).

        Raises:
            UserNotFound: missing or outside the caller's scope (checked first).
            RoleNotFound: ``role_id`` is not 1..3.
        """
        async with self._store.transaction() as tx:
            user = await _user_in_scope(tx, caller, user_id)
            _check_role(role_id)
            updated = await _update(tx, user, org_id=user.org_id, role_id=role_id, ts=self._clock())
        self._announce(updated, created=False)
        return updated

    async def transfer(
        self, caller: Scoped, user_id: int, *, target_org_id: int, role_id: int
    ) -> StoredUser:
        """Move a user in scope to another organization in scope, with a role (PLT-USR-07).

        Raises:
            OrganizationNotFound: the target is missing or outside the scope (checked first).
            RoleNotFound: ``role_id`` is not 1..3.
            UserNotFound: the user is missing or outside the scope.
        """
        target = self._organization_in_scope(caller, target_org_id)
        _check_role(role_id)
        async with self._store.transaction() as tx:
            user = await _user_in_scope(tx, caller, user_id)
            moved = await _update(tx, user, org_id=target, role_id=role_id, ts=self._clock())
        self._announce(moved, created=False)
        return moved

    async def create_in_org(
        self,
        caller: Scoped,
        *,
        org_id: int,
        role_id: int,
        email: str,
        name: str,
        client_hash: str,
        profile: Profile,
    ) -> StoredUser:
        """Create an active user in an organization of the caller's scope (PLT-USR-04);
        ``client_hash`` is the ``passwordHash`` the client sent.

        Raises:
            OrganizationNotFound: missing or outside the scope (checked first).
            RoleNotFound: ``role_id`` is not 1..3.
            EmailInUse: the address is taken.
        """
        target = self._organization_in_scope(caller, org_id)
        _check_role(role_id)
        return await self._add(
            target,
            email=email,
            name=name,
            role_id=role_id,
            status=ACTIVE,
            password_hash=await hash_password(client_hash),
            profile=profile,
        )

    async def invite(
        self,
        caller: Scoped,
        *,
        org_id: int | None,
        role_id: int,
        email: str,
        name: str,
        locale: str | None,
    ) -> StoredUser:
        """Store an invited user (PLT-USR-06); ``org_id`` defaults to the home organization.

        Raises:
            OrganizationNotFound: missing or outside the scope (checked first).
            RoleNotFound: ``role_id`` is not 1..3.
            EmailInUse: the address is taken.
        """
        target = caller.org_id if org_id is None else self._organization_in_scope(caller, org_id)
        _check_role(role_id)
        return await self._add(
            target,
            email=email,
            name=name,
            role_id=role_id,
            status=INVITED,
            password_hash=None,
            profile=Profile(locale=locale),
        )

    async def create_with_client_org(
        self,
        caller: Scoped,
        *,
        email: str,
        name: str,
        client_hash: str | None,
        organization_name: str | None,
        profile: Profile,
    ) -> StoredUser | None:
        """Create a user as the admin of a new client organization (PLT-USR-03, -05).

        A registered user (no ``client_hash``) is ``Pending``, one created with a hash is
        ``Active``. Returns None, creating nothing, when the address is already taken: Blynk
        answers both cases alike (and the hash is computed either way, so the time taken does
        not tell the address is taken either).
        """
        parent = self._clients_parent(caller)
        password_hash = None if client_hash is None else await hash_password(client_hash)
        try:
            async with self._store.transaction() as tx:
                if await tx.find_user_by_email(email) is not None:
                    return None
                org, user = await self._add_client(
                    tx,
                    parent,
                    email=email,
                    name=name,
                    password_hash=password_hash,
                    organization_name=organization_name,
                    profile=profile,
                )
        except EmailTaken:  # by a concurrent request: the same answer, nothing created
            return None
        self._bus.publish(OrganizationSaved(organization=org.organization(), created=True))
        self._announce(user, created=True)
        return user

    async def delete(self, caller: Scoped, user_id: int) -> None:
        """Delete a user in scope; the devices and tags it owned lose their owner.

        No Platform API endpoint deletes a user (Blynk has none); the console (issue #9) calls
        this. The change is announced, so the directory's devices lose the owner at once.

        Raises:
            UserNotFound: missing or outside the caller's scope.
        """
        async with self._store.transaction() as tx:
            user = await _user_in_scope(tx, caller, user_id)
            if not await tx.delete_user(user_id):
                raise UserNotFound(user_id)
        self._bus.publish(
            UserRemoved(user_id=user_id, org_id=user.org_id, email=user.email, name=user.name)
        )
        logger.info("user_deleted id=%s", user_id)

    async def _add_client(
        self,
        tx: Transaction,
        parent: OrgId,
        *,
        email: str,
        name: str,
        password_hash: str | None,
        organization_name: str | None,
        profile: Profile,
    ) -> tuple[OrganizationProfile, StoredUser]:
        """A new client organization below ``parent``, and the user as its admin."""
        org = await tx.create_organization(
            name=organization_name or f"{name}'s organization",
            parent_id=parent,
            description=None,
            type=CLIENT_ORGANIZATION_TYPE,
            tz=profile.tz,
            unit_system=None,
            phone_number=profile.phone_number,
            is_active=True,
            created_at=self._clock(),
        )
        user = await add_member(
            tx,
            org.id,
            email=email,
            name=name,
            role_id=ADMIN,
            status=PENDING if password_hash is None else ACTIVE,
            password_hash=password_hash,
            profile=profile,
            created_at=self._clock(),
        )
        return org, user

    def _clients_parent(self, caller: Scoped) -> OrgId:
        """The caller's "Clients" group organization if it has one, else its home organization."""
        children = self._directory.organizations_in(caller.scope)
        clients = [o.id for o in children if o.parent_id == caller.org_id and o.name == CLIENTS]
        return min(clients, default=caller.org_id)

    def _organization_in_scope(self, caller: Scoped, org_id: int) -> OrgId:
        if not caller.can_see(OrgId(org_id)) or self._directory.organization(OrgId(org_id)) is None:
            raise OrganizationNotFound(org_id)
        return OrgId(org_id)

    async def _add(
        self,
        org_id: OrgId,
        *,
        email: str,
        name: str,
        role_id: int,
        status: str,
        password_hash: str | None,
        profile: Profile,
    ) -> StoredUser:
        try:
            async with self._store.transaction() as tx:
                if await tx.find_user_by_email(email) is not None:
                    raise EmailInUse(email)
                user = await add_member(
                    tx,
                    org_id,
                    email=email,
                    name=name,
                    role_id=role_id,
                    status=status,
                    password_hash=password_hash,
                    profile=profile,
                    created_at=self._clock(),
                )
        except EmailTaken:  # by a concurrent request, between the lookup and the insert
            raise EmailInUse(email) from None
        self._announce(user, created=True)
        return user

    def _announce(self, user: StoredUser, *, created: bool) -> None:
        """Tell the bus a user was stored (committed)."""
        self._bus.publish(UserSaved(user_id=user.id, org_id=user.org_id, created=created))


async def add_member(
    tx: Transaction,
    org_id: OrgId,
    *,
    email: str,
    name: str,
    role_id: int,
    status: str,
    password_hash: str | None,
    profile: Profile,
    created_at: int,
) -> StoredUser:
    """Store a user of ``org_id``; the first user of an organization is its developer
    (data-model.md §1.3). The caller has checked that the address is free.
    """
    user = await tx.add_user(
        NewUser(
            org_id=org_id,
            name=name,
            email=email,
            role_id=role_id,
            status=status,
            is_dev=await tx.count_users([org_id]) == 0,
            title=profile.title,
            nick_name=profile.nick_name,
            phone_number=profile.phone_number,
            tz=profile.tz,
            locale=profile.locale,
            password_hash=password_hash,
            address=profile.address,
        ),
        created_at=created_at,
    )
    logger.info("user_created id=%s org=%s status=%s", user.id, org_id, status)
    return user


async def _user_in_scope(tx: Transaction, caller: Scoped, user_id: int) -> StoredUser:
    user = await tx.find_user(user_id)
    if user is None or not caller.can_see(user.org_id):
        raise UserNotFound(user_id)
    return user


def _check_role(role_id: int) -> None:
    if role_id not in ROLES:
        raise RoleNotFound(role_id)


async def _update(
    tx: Transaction, user: StoredUser, *, org_id: OrgId, role_id: int, ts: int
) -> StoredUser:
    updated = await tx.update_user(user.id, org_id=org_id, role_id=role_id, ts=ts)
    if updated is None:  # deleted meanwhile (with its organization)
        raise UserNotFound(user.id)
    return updated
