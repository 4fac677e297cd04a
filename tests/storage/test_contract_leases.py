"""The leader lease and the time rules' slot claims on every backend (issue #11): one holder of
the lease per installation, freed when its holder's session ends; one winner per slot.

Same rules as ``test_contract.py``: each test gets an empty, migrated database.
"""

import asyncio

import pytest
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import create_async_engine
from test_contract import T0
from test_contract_automations import SPEC
from test_contract_console_sessions import add_org

from pinbase.runtime import open_store
from pinbase.settings import Settings
from pinbase.storage.leases import AdvisoryLease, SoleLease
from pinbase.storage.sql import SqlStore


async def test_a_slot_is_claimed_once_and_only_forward(store: SqlStore) -> None:
    """A slot is claimed by the first caller only; an older slot cannot be claimed after a
    newer one, and the claim is what ``last_slot_at`` reads back."""
    org = await add_org(store, "Acme")
    async with store.transaction() as tx:
        automation = await tx.add_automation(
            org_id=org, owner_id=None, name="Tick", is_active=True, spec=SPEC, created_at=T0
        )
    async with store.transaction() as tx:
        assert await tx.claim_automation_slot(automation, T0 + 60_000)
        assert not await tx.claim_automation_slot(automation, T0 + 60_000)
        assert not await tx.claim_automation_slot(automation, T0)
        assert not await tx.claim_automation_slot(automation + 1, T0 + 60_000)
    async with store.transaction() as tx:
        assert await tx.claim_automation_slot(automation, T0 + 120_000)
        found = await tx.find_automation(automation)
    assert found is not None
    assert found.last_slot_at == T0 + 120_000


async def test_concurrent_claims_of_one_slot_have_one_winner(
    store: SqlStore, settings: Settings
) -> None:
    """Two nodes (two stores on one database) claiming the same slot at once: exactly one wins."""
    org = await add_org(store, "Acme")
    async with store.transaction() as tx:
        automation = await tx.add_automation(
            org_id=org, owner_id=None, name="Tick", is_active=True, spec=SPEC, created_at=T0
        )
    other = await open_store(settings)

    async def claim(node: SqlStore) -> bool:
        async with node.transaction() as tx:
            return await tx.claim_automation_slot(automation, T0 + 60_000)

    try:
        results = await asyncio.gather(*(claim(node) for node in (store, other, store, other)))
    finally:
        await other.close()
    assert sorted(results) == [False, False, False, True]


async def test_sqlite_always_leads(store: SqlStore) -> None:
    """SQLite belongs to one process: its lease is always held."""
    if store.dialect != "sqlite":
        pytest.skip("the SQLite lease")
    lease = store.leader_lease()
    assert isinstance(lease, SoleLease)
    assert await lease.acquire()
    assert await lease.holds()
    await lease.release()


@pytest.fixture
async def stores(store: SqlStore, settings: Settings) -> list[SqlStore]:
    """Two more stores on the PostgreSQL database of ``store``: two more nodes."""
    if store.dialect != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    return [await open_store(settings), await open_store(settings)]


async def test_one_node_holds_the_lease_until_it_releases_it(stores: list[SqlStore]) -> None:
    """The first node takes the lease, the second cannot while it holds it; once released, the
    second takes it on its next try."""
    first, second = (node.leader_lease() for node in stores)
    try:
        assert await first.acquire()
        assert not await second.acquire()
        assert await first.holds()
        assert not await second.holds()
        assert await first.acquire()  # taking it again while held is harmless
        await first.release()
        assert not await first.holds()
        assert await second.acquire()
        assert not await first.acquire()
    finally:
        await first.release()
        await second.release()
        for node in stores:
            await node.close()


async def test_a_lost_session_frees_the_lease_and_its_holder_notices(
    stores: list[SqlStore], settings: Settings
) -> None:
    """When the holder's session ends (killed by the server here, as when its node dies), the
    other node takes the lease, and the old holder's check says it lost it."""
    first, second = (node.leader_lease() for node in stores)
    try:
        assert isinstance(first, AdvisoryLease)
        assert await first.acquire()
        assert settings.database_url is not None
        admin = create_async_engine(settings.database_url, poolclass=NullPool)
        try:
            async with admin.connect() as connection:
                killed = await connection.scalar(
                    text(
                        "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_locks"
                        " WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
                        # This test's database only: servers of other tests share the cluster.
                        " AND database = (SELECT oid FROM pg_database"
                        " WHERE datname = current_database())"
                    )
                )
        finally:
            await admin.dispose()
        assert killed == 1
        assert await second.acquire()
        assert not await first.holds()
        assert not await first.acquire()
    finally:
        await first.release()
        await second.release()
        for node in stores:
            await node.close()


async def test_a_firmware_file_being_deleted_is_not_held_for_a_new_shipment(
    store: SqlStore, settings: Settings
) -> None:
    """Node A deletes a firmware file (its row locked, no shipment found) while node B creates a
    shipment of it: B's hold waits for A's commit and then finds the file gone, instead of
    inserting a shipment the foreign key refuses. (SQLite: one process, one store, whose
    transactions take turns.)"""
    if store.dialect != "postgresql":
        pytest.skip("row locks between nodes are PostgreSQL's")
    org = await add_org(store, "Acme")
    async with store.transaction() as tx:
        firmware = await tx.add_firmware(
            org, filename="fw.bin", size=1, md5="0" * 32, sha256="0" * 44, tag=None, uploaded_at=T0
        )
    other = await open_store(settings)

    async def hold() -> bool:
        async with other.transaction() as tx:
            return await tx.hold_firmware(firmware.id)

    try:
        async with store.transaction() as tx:
            assert await tx.shipments_of_firmware(firmware.id) == []
            holding = asyncio.create_task(hold())
            await asyncio.sleep(0.2)
            assert not holding.done()
            assert await tx.delete_firmware(firmware.id)
        assert await holding is False
    finally:
        await other.close()
