"""Migration 0007 on every backend: stored client hashes become argon2id of themselves, so users
sign in as before; users without a password keep none; a downgrade keeps what it cannot undo."""

from pathlib import Path

from alembic import command
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


SELECT_ANN = text("SELECT password_hash FROM users WHERE email = 'ann@old.example'")


async def insert_users(settings: Settings) -> None:
    """A database at revision 0005 holding ``USERS`` as that revision stored them."""
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


async def test_migration_hashes_stored_client_hashes_with_argon2id(settings: Settings) -> None:
    """Each stored client hash is replaced by argon2id of it, which verifies against the
    user's e-mail and password; a user without a password keeps none."""
    await insert_users(settings)
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


async def test_downgrade_keeps_argon2id_and_a_new_upgrade_hashes_only_newer_rows(
    settings: Settings,
) -> None:
    """Client hashes cannot come back: a downgrade keeps the argon2id values; upgrading again
    leaves them as they are and hashes a client hash stored in between."""
    await insert_users(settings)
    await (await open_store(settings)).close()
    engine = create_engine(database_url(settings.data_dir, settings.database_url))
    try:
        async with engine.connect() as connection:
            if engine.dialect.name == "sqlite":  # as storage.migrate: rebuilds (0006) need it
                await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                await connection.commit()
            await connection.begin()
            await connection.run_sync(_migrate, "0005", down=True)
            ann = (await connection.execute(SELECT_ANN)).scalar_one()
            await connection.execute(
                text("UPDATE users SET password_hash = :hash WHERE email = 'bob@old.example'"),
                {"hash": password_hash("bob@old.example", "new")},
            )
            await connection.run_sync(_migrate, "head")
            assert (await connection.execute(SELECT_ANN)).scalar_one() == ann
            bob = (
                await connection.execute(
                    text("SELECT password_hash FROM users WHERE email = 'bob@old.example'")
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert ann.startswith("$argon2id$")
    assert await verify_password(bob, email="bob@old.example", password="new")


async def test_sqlite_rebuild_keeps_autoincrement_and_the_highest_id_given(tmp_path: Path) -> None:
    """``users`` has AUTOINCREMENT when 0007 rebuilds it (SQLite, since 0006): the new table
    keeps it, and the id of a deleted last user is still never given again."""
    settings = Settings(data_dir=tmp_path, database_url=None)
    insert = text(
        "INSERT INTO users (id, org_id, name, email, role_id, status, is_dev, registered_at,"
        " last_modified_ts, last_logged_at) VALUES (:id, 1, 'U', :email, 3, 'Active', false,"
        " 0, 0, 0)"
    )
    engine = create_engine(database_url(settings.data_dir, settings.database_url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, "0006")  # users got AUTOINCREMENT there
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
