"""Deleting organizations, users and OAuth clients leaves nothing pointing at them, and no
deleted id is handed out again (migrations 0004 and 0006), on every backend.

Same rules as ``test_contract.py``: each test gets an empty, migrated database.
"""

from pathlib import Path

from alembic import command
from sqlalchemy import Connection, insert, select, text
from test_contract import T0, add_device, add_template
from test_contract_platform import token

from pinbase.domain.ids import OrgId, Token
from pinbase.runtime import open_store
from pinbase.settings import Settings
from pinbase.storage import schema
from pinbase.storage.engines import create_engine, database_url
from pinbase.storage.migrate import alembic_config
from pinbase.storage.sql import SqlStore
from pinbase.storage.users import NewUser, StoredUser


async def add_member(store: SqlStore, org_id: OrgId, email: str) -> StoredUser:
    """A user of ``org_id``."""
    async with store.transaction() as tx:
        return await tx.add_user(
            NewUser(org_id=org_id, name="U", email=email, role_id=3, status="Active"),
            created_at=T0,
        )


async def owners(store: SqlStore) -> dict[str, int | None]:
    """``owner_user_id`` of every device (by name) and tag (by name)."""
    async with store.transaction() as tx:
        rows = [
            *(await tx._db.execute(select(schema.devices.c.name, schema.devices.c.owner_user_id))),
            *(await tx._db.execute(select(schema.tags.c.name, schema.tags.c.owner_user_id))),
        ]
    return {name: owner for name, owner in rows}


async def test_deleting_a_user_disowns_its_devices_and_tags(store: SqlStore) -> None:
    """The user row goes; its devices and tags stay without an owner; others keep theirs."""
    template = await add_template(store)
    gone = await add_member(store, template.org_id, "gone@x.io")
    kept = await add_member(store, template.org_id, "kept@x.io")
    async with store.transaction() as tx:
        for name, owner in (("orphan", gone), ("owned", kept)):
            await tx.add_device(
                org_id=template.org_id,
                template=template,
                name=name,
                token=Token(f"token-{name}"),
                created_at=T0,
                owner_user_id=owner.id,
            )
            await tx._db.execute(
                insert(schema.tags).values(
                    org_id=template.org_id,
                    name=f"tag-{name}",
                    owner_user_id=owner.id,
                    created_at=T0,
                )
            )
    async with store.transaction() as tx:
        assert await tx.delete_user(gone.id) is True
    async with store.transaction() as tx:
        assert await tx.find_user(gone.id) is None
        assert await tx.delete_user(gone.id) is False
    assert await owners(store) == {
        "orphan": None,
        "owned": kept.id,
        "tag-orphan": None,
        "tag-owned": kept.id,
    }


async def test_deleting_an_organization_disowns_devices_its_users_owned_elsewhere(
    store: SqlStore,
) -> None:
    """A device of another organization owned by a member of the deleted one loses its owner;
    the deleted members' ids are returned."""
    template = await add_template(store)
    async with store.transaction() as tx:
        doomed = await tx.add_organization(
            name="Doomed", parent_id=template.org_id, description=None, created_at=T0
        )
    member = await add_member(store, doomed.id, "member@x.io")
    device = await add_device(store, template, "elsewhere")
    async with store.transaction() as tx:
        assert await tx.move_device(device.id, org_id=device.org_id, owner_user_id=member.id)
        assert await tx.delete_organization(doomed.id) == (member.id,)
        assert (await tx.find_device_by_id(device.id)) is not None
    assert await owners(store) == {device.name: None}


async def test_deleting_an_oauth_client_takes_its_tokens(store: SqlStore) -> None:
    """The client and every token issued to it go; another client's tokens stay."""
    template = await add_template(store)
    org_id = template.org_id
    async with store.transaction() as tx:
        for client_id in ("doomed", "kept"):
            await tx.add_oauth_client(
                org_id=org_id, name=client_id, client_id=client_id, secret_hash="h", created_at=T0
            )
        await tx.add_oauth_tokens(
            [
                token(org_id, "doomed", "d-access"),
                token(org_id, "doomed", "d-refresh", kind="refresh"),
                token(org_id, "kept", "k-access"),
            ]
        )
    async with store.transaction() as tx:
        assert await tx.delete_oauth_client("doomed") is True
    async with store.transaction() as tx:
        assert await tx.delete_oauth_client("doomed") is False
        assert await tx.delete_oauth_client("nul\0") is False
        assert await tx.find_oauth_client("doomed") is None
        assert await tx.find_oauth_token("d-access") is None
        assert await tx.find_oauth_token("d-refresh") is None
        assert await tx.find_oauth_token("k-access") is not None


async def test_deleted_ids_are_not_reused(store: SqlStore) -> None:
    """A new organization, user, template and OAuth client each get a higher id than the
    deleted newest one (migration 0006)."""
    template = await add_template(store)
    async with store.transaction() as tx:
        doomed = await tx.add_organization(
            name="Doomed", parent_id=template.org_id, description=None, created_at=T0
        )
        client = await tx.add_oauth_client(
            org_id=doomed.id, name="c", client_id="c1", secret_hash="h", created_at=T0
        )
        doomed_template = await tx.add_template(
            org_id=doomed.id,
            code="TMPLdoomed",
            name="Doomed",
            description=None,
            datastreams=[],
            events=(),
            metafields=[],
            created_at=T0,
        )
    member = await add_member(store, doomed.id, "member@x.io")
    async with store.transaction() as tx:
        assert await tx.delete_organization(doomed.id) == (member.id,)
    async with store.transaction() as tx:
        successor = await tx.add_organization(
            name="Successor", parent_id=template.org_id, description=None, created_at=T0
        )
        next_client = await tx.add_oauth_client(
            org_id=successor.id, name="c", client_id="c2", secret_hash="h", created_at=T0
        )
        next_template = await tx.add_template(
            org_id=successor.id,
            code="TMPLnext",
            name="Next",
            description=None,
            datastreams=[],
            events=(),
            metafields=[],
            created_at=T0,
        )
    next_member = await add_member(store, successor.id, "next@x.io")
    assert successor.id > doomed.id
    assert next_client.id > client.id
    assert next_template.id > doomed_template.id
    assert next_member.id > member.id


REBUILT = ("organizations", "users", "templates", "oauth_clients")
"""The tables migration 0006 gives AUTOINCREMENT on SQLite."""


def _upgrade_to_0005(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "0005")


async def test_migration_0006_keeps_rows_and_stops_id_reuse_on_sqlite(tmp_path: Path) -> None:
    """A database made before 0006 keeps its rows; afterwards a deleted organization's id is not
    handed out again."""
    settings = Settings(data_dir=tmp_path, database_url=None)
    engine = create_engine(database_url(tmp_path, None))
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()
            async with connection.begin():
                await connection.run_sync(_upgrade_to_0005)
                await connection.execute(
                    text(
                        "INSERT INTO organizations (name, parent_id, created_at)"
                        " VALUES ('Root', NULL, 0), ('Child', 1, 0)"
                    )
                )
    finally:
        await engine.dispose()
    store = await open_store(settings)  # migrates to the head, checking foreign keys
    try:
        async with store.transaction() as tx:
            rows = await tx._db.execute(text("SELECT name, sql FROM sqlite_master"))
            tables = {name: sql for name, sql in rows}
            assert all("AUTOINCREMENT" in tables[name] for name in REBUILT)
            assert [o.name for o in await tx.load_organizations()] == ["Root", "Child"]
            assert await tx.delete_organization(OrgId(2)) == ()
        async with store.transaction() as tx:
            successor = await tx.add_organization(
                name="Successor", parent_id=OrgId(1), description=None, created_at=0
            )
        assert successor.id == 3
    finally:
        await store.close()
