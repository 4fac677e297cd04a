"""NUL (U+0000) in text bound for storage, on every backend alike (storage/text_columns.py).

PostgreSQL cannot hold NUL in ``text``, even as a query parameter; SQLite can. One column type
makes both engines answer the same: a write holding NUL raises ``TextHoldsNul`` and stores
nothing, a lookup by text holding NUL finds nothing.
"""

import pytest

from pinbase.domain.errors import TextHoldsNul
from pinbase.domain.ids import Token
from pinbase.storage.base import Store
from pinbase.storage.users import NewUser


async def test_a_write_holding_nul_is_refused_and_stores_nothing(store: Store) -> None:
    """An organization or user holding NUL raises ``TextHoldsNul``; the transaction rolls back."""
    with pytest.raises(TextHoldsNul):
        async with store.transaction() as tx:
            await tx.add_organization(name="a\0b", parent_id=None, description=None, created_at=0)
    async with store.transaction() as tx:
        org = await tx.add_organization(name="Org", parent_id=None, description=None, created_at=0)
    user = NewUser(org_id=org.id, name="Ann", email="a\0b@x.example", role_id=3, status="Active")
    with pytest.raises(TextHoldsNul):
        async with store.transaction() as tx:
            await tx.add_user(user, created_at=0)
    async with store.transaction() as tx:
        assert [o.name for o in await tx.load_organizations()] == ["Org"]
        assert await tx.count_users([org.id]) == 0


async def test_a_lookup_by_text_holding_nul_finds_nothing(store: Store) -> None:
    """E-mail, device token, OAuth client id and user search: no row, no error."""
    async with store.transaction() as tx:
        org = await tx.add_organization(name="Org", parent_id=None, description=None, created_at=0)
        user = NewUser(org_id=org.id, name="a", email="a@x.example", role_id=3, status="Active")
        await tx.add_user(user, created_at=0)
    async with store.transaction() as tx:
        assert await tx.find_user_by_email("a@x.example\0") is None
        assert await tx.find_device(Token("ab\0cd")) is None
        assert await tx.find_oauth_client("ab\0cd") is None
        args = {"sort": "id", "descending": False, "offset": 0, "limit": 10}
        assert await tx.search_users([org.id], "a\0", **args) == []
        assert await tx.count_matching_users([org.id], "a\0") == 0
        assert await tx.count_matching_users([org.id], "a") == 1
