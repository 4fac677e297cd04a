"""The user repository (``storage.users``) on every backend: each test gets an empty, migrated
database. Sorting by country reads JSON text, which each dialect does its own way.
"""

from dataclasses import replace

import pytest

from pinbase.domain.ids import OrgId, Token
from pinbase.storage.base import Store
from pinbase.storage.users import EmailTaken, NewUser, StoredUser, UserSort

T0 = 2**31 + 5
"""Past 2**31 milliseconds, where a 32-bit column would overflow."""


async def add_org(store: Store, name: str) -> OrgId:
    """An organization named ``name``."""
    async with store.transaction() as tx:
        org = await tx.add_organization(name=name, parent_id=None, description=None, created_at=0)
    return org.id


async def add_users(store: Store) -> tuple[OrgId, OrgId, list[StoredUser]]:
    """Ann, bob and Cid in organization "B org", Dee in "A org"; Ann owns a device."""
    org_b, org_a = await add_org(store, "B org"), await add_org(store, "a org")
    rows = [
        (org_b, "Ann", "Ann@X.example", 1, "Active", None, None),
        (org_b, "bob", "bob@x.example", 3, "Invited", "+2", '{"country":"Zambia"}'),
        (org_b, "Cid_%", "cid@y.example", 2, "Active", "+1", '{"country":"austria"}'),
        (org_a, "Dee", "dee@y.example", 3, "Pending", None, '{"city":"Rome"}'),
    ]
    users = []
    async with store.transaction() as tx:
        for number, (org, name, email, role, status, phone, address) in enumerate(rows):
            user = NewUser(
                org_id=org,
                name=name,
                email=email,
                role_id=role,
                status=status,
                phone_number=phone,
                address=address,
            )
            users.append(await tx.add_user(user, created_at=T0 + number))
    return org_b, org_a, users


async def test_add_and_find_users(store: Store) -> None:
    """A user reads back whole; e-mails are stored and looked up lower-cased."""
    _, _, users = await add_users(store)
    ann = users[0]
    assert (ann.email, ann.registered_at, ann.last_modified_ts, ann.last_logged_at) == (
        "ann@x.example",
        T0,
        T0,
        0,
    )
    async with store.transaction() as tx:
        assert await tx.find_user(ann.id) == ann
        assert await tx.find_user_by_email("ANN@x.EXAMPLE") == ann
        assert await tx.find_user(ann.id + 100) is None
        assert await tx.find_user_by_email("nobody@x.example") is None


async def test_an_email_is_unique_in_any_case(store: Store) -> None:
    """A second user with the same address, however spelled, is refused by the unique index."""
    org = await add_org(store, "Solo")
    user = NewUser(org_id=org, name="A", email="a@x.example", role_id=1, status="Active")
    async with store.transaction() as tx:
        await tx.add_user(user, created_at=T0)
    with pytest.raises(EmailTaken):
        async with store.transaction() as tx:
            await tx.add_user(replace(user, email="A@X.example"), created_at=T0)


async def test_count_and_list_pages_by_id(store: Store) -> None:
    """Users of some organizations, counted, and listed by id in pages."""
    org_b, org_a, users = await add_users(store)
    async with store.transaction() as tx:
        assert await tx.count_users([org_b]) == 3
        assert await tx.count_users([org_a, org_b]) == 4
        assert await tx.count_users([]) == 0
        page = await tx.list_users([org_a, org_b], offset=1, limit=2)
    assert page == users[1:3]


@pytest.mark.parametrize(
    ("sort", "ascending"),
    [
        ("id", "abcd"),
        ("name", "abcd"),
        ("email", "abcd"),
        ("status", "acbd"),
        ("role", "acbd"),
        ("organization_name", "dabc"),
        ("devices_count", "bcda"),
        ("country", "adcb"),
        ("registered_at", "abcd"),
        ("phone_number", "adcb"),
    ],
)
async def test_search_sorts_either_way_with_ties_by_id(
    store: Store, sort: UserSort, ascending: str
) -> None:
    """Every sort key, both directions; equal keys always ascend by id."""
    org_b, org_a, users = await add_users(store)
    by_letter = dict(zip("abcd", users, strict=True))
    async with store.transaction() as tx:
        template = await tx.add_template(
            org_id=org_b,
            code="TMPLusers",
            name="T",
            description=None,
            datastreams=[],
            events=[],
            metafields=[],
            created_at=T0,
        )
        device = await tx.add_device(
            org_id=org_b,
            template=template,
            name="D",
            token=Token("tok-users-1"),
            created_at=T0,
            owner_user_id=users[0].id,
        )
        assert device.owner_user_id == users[0].id
        up = await tx.search_users(
            [org_a, org_b], "", sort=sort, descending=False, offset=0, limit=10
        )
        down = await tx.search_users(
            [org_a, org_b], "", sort=sort, descending=True, offset=0, limit=10
        )
    assert up == [by_letter[c] for c in ascending]
    groups: dict[object, list[StoredUser]] = {}
    for user in up:
        groups.setdefault(_key(sort, user, org_a), []).append(user)
    assert down == [user for key in reversed(list(groups)) for user in groups[key]]


async def test_search_matches_name_or_email_literally(store: Store) -> None:
    """Case-insensitive substring of name or e-mail; ``%`` and ``_`` match only themselves."""
    org_b, org_a, users = await add_users(store)
    async with store.transaction() as tx:

        async def ids(query: str) -> list[int]:
            found = await tx.search_users(
                [org_a, org_b], query, sort="id", descending=False, offset=0, limit=10
            )
            assert await tx.count_matching_users([org_a, org_b], query) == len(found)
            return [user.id for user in found]

        assert await ids("Y.EXAMPLE") == [users[2].id, users[3].id]
        assert await ids("BOB") == [users[1].id]
        assert await ids("_%") == [users[2].id]
        assert await ids("%") == [users[2].id]
        assert await ids("a_n") == []
        assert await tx.count_matching_users([org_a], "example") == 1


async def test_update_user_moves_and_changes_role(store: Store) -> None:
    """A new organization and role, and ``lastModifiedTs``; a missing user is None."""
    _, org_a, users = await add_users(store)
    async with store.transaction() as tx:
        moved = await tx.update_user(users[0].id, org_id=org_a, role_id=2, ts=T0 + 99)
        assert moved == replace(users[0], org_id=org_a, role_id=2, last_modified_ts=T0 + 99)
        assert await tx.find_user(users[0].id) == moved
        assert await tx.update_user(users[0].id + 100, org_id=org_a, role_id=2, ts=T0) is None


def _key(sort: UserSort, user: StoredUser, org_a: OrgId) -> object:
    """What ``sort`` compares, computed in Python for the expected descending order."""
    country = {"b": "zambia", "c": "austria"}.get(user.name[0].lower(), "")
    keys: dict[str, object] = {
        "id": user.id,
        "name": user.name.lower(),
        "email": user.email,
        "status": user.status,
        "role": user.role_id,
        "organization_name": "a org" if user.org_id == org_a else "b org",
        "devices_count": int(user.name == "Ann"),
        "country": country,
        "registered_at": user.registered_at,
        "phone_number": user.phone_number or "",
    }
    return keys[sort]
