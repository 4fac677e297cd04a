"""Migration 0007 on every backend: stored client hashes become argon2id of themselves, so users
sign in as before; users without a password keep none; the migration cannot be undone."""

from pathlib import Path

import pytest
from alembic import command
from alembic.migration import MigrationContext
from alembic.operations import Operations
from argon2 import PasswordHasher
from sqlalchemy import Connection, text

from pinbase.domain.ids import OrgId
from pinbase.domain.users import password_hash
from pinbase.runtime import open_store
from pinbase.services.passwords import verify_password
from pinbase.settings import Settings
from pinbase.storage.engines import create_engine, database_url
from pinbase.storage.migrate import alembic_config
from pinbase.storage.users import NewUser

USERS = [("ann@old.example", "Ann", "pä$$word"), ("bob@old.example", "Bob", None)]
"""E-mail, name and password of each user stored before 0007; Bob was only invited."""


def _migrate(connection: Connection, revision: str, *, down: bool = False) -> None:
    (command.downgrade if down else command.upgrade)(alembic_config(connection), revision)


def _autoincrement_users(connection: Connection) -> None:
    """Rebuild ``users`` with SQLite's AUTOINCREMENT, as a migration before 0007 may have."""
    with Operations(MigrationContext.configure(connection)).batch_alter_table(
        "users", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass


async def test_migration_hashes_stored_client_hashes_with_argon2id(settings: Settings) -> None:
    """Each stored client hash is replaced by argon2id of it, which verifies against the
    user's e-mail and password; a user without a password keeps none."""
    engine = create_engine(database_url(settings.data_dir, settings.database_url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "0005")
            await connection.execute(
                text("INSERT INTO organizations (id, name, created_at) VALUES (1, 'Old', 0)")
            )
            await connection.execute(
                text(
                    "INSERT INTO users (org_id, name, email, role_id, status, is_dev,"
                    " password_hash, registered_at, last_modified_ts, last_logged_at)"
                    " VALUES (1, :name, :email, 3, 'Active', false, :hash, 0, 0, 0)"
                ),
                [
                    {
                        "name": name,
                        "email": email,
                        "hash": None if password is None else password_hash(email, password),
                    }
                    for email, name, password in USERS
                ],
            )
    finally:
        await engine.dispose()
    store = await open_store(settings)  # migrates to the newest revision, as a start does
    try:
        async with store.transaction() as tx:
            ann = await tx.find_user_by_email("ann@old.example")
            bob = await tx.find_user_by_email("bob@old.example")
    finally:
        await store.close()
    assert ann is not None
    assert bob is not None
    assert ann.password_hash is not None
    assert ann.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PasswordHasher().verify(ann.password_hash, password_hash(ann.email, "pä$$word"))
    assert await verify_password(ann.password_hash, email="Ann@Old.example", password="pä$$word")
    assert not await verify_password(ann.password_hash, email=ann.email, password="pa$$word")
    assert bob.password_hash is None


async def test_migration_refuses_to_be_undone(settings: Settings) -> None:
    """Going below 0007 would need the client hashes back: the downgrade says so, changing
    nothing."""
    await (await open_store(settings)).close()  # a start migrates to the newest revision
    engine = create_engine(database_url(settings.data_dir, settings.database_url))
    try:
        async with engine.connect() as connection:
            with pytest.raises(NotImplementedError, match="cannot be undone"):
                await connection.run_sync(_migrate, "0005", down=True)
    finally:
        await engine.dispose()


async def test_sqlite_rebuild_keeps_autoincrement_and_the_highest_id_given(tmp_path: Path) -> None:
    """If ``users`` has AUTOINCREMENT when 0007 rebuilds it (SQLite), the new table keeps it
    and the id of a deleted last user is still never given again."""
    settings = Settings(data_dir=tmp_path, database_url=None)
    insert = text(
        "INSERT INTO users (id, org_id, name, email, role_id, status, is_dev, registered_at,"
        " last_modified_ts, last_logged_at) VALUES (:id, 1, 'U', :email, 3, 'Active', false,"
        " 0, 0, 0)"
    )
    engine = create_engine(database_url(settings.data_dir, settings.database_url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "0005")
            await connection.run_sync(_autoincrement_users)
            await connection.execute(
                text("INSERT INTO organizations (id, name, created_at) VALUES (1, 'Old', 0)")
            )
            await connection.execute(
                insert, [{"id": 1, "email": "a@x.io"}, {"id": 5, "email": "b@x.io"}]
            )
            await connection.execute(text("DELETE FROM users WHERE id = 5"))
    finally:
        await engine.dispose()
    store = await open_store(settings)
    try:
        async with store.transaction() as tx:
            user = await tx.add_user(
                NewUser(org_id=OrgId(1), name="New", email="new@x.io", role_id=3, status="Active"),
                created_at=0,
            )
    finally:
        await store.close()
    assert user.id == 6
