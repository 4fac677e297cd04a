"""The OAuth service, organization scopes and the rate limiter, in process with a fake clock."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hand_clock import T0, HandClock

from pinbase.domain.ids import OrgId
from pinbase.domain.organizations import OAuthClient
from pinbase.runtime import open_store
from pinbase.services.bus import Bus
from pinbase.services.changes import OAuthClientRemoved
from pinbase.services.directory import Directory
from pinbase.services.oauth import (
    ClientGone,
    OAuth,
    RefreshRaceLost,
    create_client,
    delete_client,
    hash_token,
    is_secret_of,
    new_token_text,
)
from pinbase.services.provisioning import new_client_id
from pinbase.services.rate_limit import RateLimiter
from pinbase.settings import Settings
from pinbase.storage.base import Catalog
from pinbase.storage.sql import SqlStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    """A migrated SQLite store."""
    opened = await open_store(Settings(data_dir=tmp_path, database_url=None))
    try:
        yield opened
    finally:
        await opened.close()


async def client_in_new_org(store: SqlStore, clock: HandClock) -> tuple[OAuthClient, str]:
    async with store.transaction() as tx:
        org = await tx.add_organization(name="Acme", parent_id=None, description=None, created_at=0)
    created = await create_client(store, org_id=org.id, name="ci", clock=clock)
    assert created is not None
    return created


def oauth(store: SqlStore, clock: HandClock) -> OAuth:
    return OAuth(
        store,
        Directory(store),
        clock,
        bus=Bus(),
        access_ttl_s=300,
        refresh_ttl_s=3600,
        recheck_ms=5_000,
    )


async def test_access_token_works_until_it_expires(store: SqlStore) -> None:
    """A persisted access token authenticates its org until ``expires_at``, then not."""
    clock = HandClock()
    service = oauth(store, clock)
    client, _secret = await client_in_new_org(store, clock)
    access, refresh = new_token_text(), new_token_text()
    await service.persist(service.records(client, access=access, refresh=refresh))
    caller = await service.authenticate(access)
    assert caller is not None
    assert (caller.org_id, caller.client_id, caller.scope) == (
        client.org_id,
        client.client_id,
        frozenset({client.org_id}),
    )
    assert await service.authenticate(refresh) is None  # not an access token
    assert await service.authenticate("unknown") is None
    clock.now = T0 + 299_999
    assert await service.authenticate(access) is not None
    clock.now = T0 + 300_000
    assert await service.authenticate(access) is None


async def test_tokens_survive_a_restart(store: SqlStore) -> None:
    """A new service instance (an empty cache) finds tokens in the database."""
    clock = HandClock()
    client, _secret = await client_in_new_org(store, clock)
    access = new_token_text()
    first = oauth(store, clock)
    await first.persist(first.records(client, access=access, refresh=None))
    assert await oauth(store, clock).authenticate(access) is not None


async def test_a_refresh_token_rotates_once(store: SqlStore) -> None:
    """Persisting with a rotated refresh token succeeds once; the second try stores nothing."""
    clock = HandClock()
    service = oauth(store, clock)
    client, _secret = await client_in_new_org(store, clock)
    refresh = new_token_text()
    await service.persist(service.records(client, access=new_token_text(), refresh=refresh))
    record = await service.find_refresh(refresh)
    assert record is not None
    assert service.is_usable_refresh(record, refresh)
    assert not service.is_usable_refresh(record, new_token_text())
    await service.persist(service.records(client, access="a1", refresh="r1"), rotated=record)
    with pytest.raises(RefreshRaceLost):
        await service.persist(service.records(client, access="a2", refresh="r2"), rotated=record)
    assert await service.authenticate("a2") is None
    used = await service.find_refresh(refresh)
    assert used is not None
    assert not service.is_usable_refresh(used, refresh)


async def test_refresh_tokens_expire(store: SqlStore) -> None:
    """A refresh token is unusable once its own lifetime has passed."""
    clock = HandClock()
    service = oauth(store, clock)
    client, _secret = await client_in_new_org(store, clock)
    await service.persist(service.records(client, access="a", refresh="r"))
    record = await service.find_refresh("r")
    assert record is not None
    assert record.token_hash == hash_token("r")
    clock.now = T0 + 3_600_000
    assert not service.is_usable_refresh(record, "r")
    assert await service.find_refresh("a") is None  # an access token is no refresh token


async def test_client_secret_is_checked_against_its_hash(store: SqlStore) -> None:
    """Only the printed secret matches the stored hash."""
    client, secret = await client_in_new_org(store, HandClock())
    assert is_secret_of(client, secret)
    assert not is_secret_of(client, secret + "x")


async def test_client_of_an_unknown_organization_is_not_created(store: SqlStore) -> None:
    """``create_client`` answers None for an organization that does not exist."""
    assert await create_client(store, org_id=OrgId(99), name="x", clock=HandClock()) is None


async def test_clients_created_elsewhere_are_found_with_their_organization(
    store: SqlStore,
) -> None:
    """A client unknown to the directory is loaded from the database with the organizations."""
    directory = Directory(store)
    directory.load(Catalog(organizations=(), oauth_clients=(), templates=(), devices=()))
    client, _secret = await client_in_new_org(store, HandClock())
    assert directory.oauth_client(client.client_id) is None
    assert await directory.find_oauth_client(client.client_id) == client
    assert directory.organization(client.org_id) is not None
    assert directory.oauth_client(client.client_id) == client
    assert await directory.find_oauth_client("nobody") is None


async def test_scope_is_the_organization_and_everything_below(store: SqlStore) -> None:
    """``subtree`` holds an organization, its children and theirs, never parents or siblings."""
    async with store.transaction() as tx:
        root = await tx.add_organization(
            name="Root", parent_id=None, description=None, created_at=0
        )
        child = await tx.add_organization(
            name="Child", parent_id=root.id, description=None, created_at=0
        )
        grandchild = await tx.add_organization(
            name="Grandchild", parent_id=child.id, description=None, created_at=0
        )
        sibling = await tx.add_organization(
            name="Sibling", parent_id=root.id, description=None, created_at=0
        )
        catalog = await tx.load_catalog()
    directory = Directory(store)
    directory.load(catalog)
    assert directory.subtree(root.id) == {root.id, child.id, grandchild.id, sibling.id}
    assert directory.subtree(child.id) == {child.id, grandchild.id}
    assert directory.subtree(sibling.id) == {sibling.id}
    assert directory.subtree(OrgId(999)) == {OrgId(999)}
    async with store.transaction() as tx:
        late = await tx.add_organization(
            name="Late", parent_id=sibling.id, description=None, created_at=0
        )
    directory.add_organization(late)
    assert directory.subtree(sibling.id) == {sibling.id, late.id}


def test_rate_limit_counts_per_organization_and_minute() -> None:
    """Past ``limit`` hits an organization waits for the next minute; others are unaffected."""
    clock = HandClock(now=60_000 * 1000 + 15_500)
    limiter: RateLimiter[OrgId] = RateLimiter(clock, limit=2, window_ms=60_000)
    first, second = OrgId(1), OrgId(2)
    assert [limiter.hit(first), limiter.hit(first)] == [0, 0]
    assert limiter.hit(first) == 45  # 44.5 s left, rounded up
    assert limiter.hit(second) == 0
    clock.now += 44_500
    assert limiter.hit(first) == 0


async def test_a_token_revoked_by_another_process_is_refused_after_the_recheck(
    store: SqlStore,
) -> None:
    """A client deleted straight in the database (another process, no announcement) keeps its
    cached token working until the recheck interval has passed, not a moment longer."""
    clock = HandClock()
    service = oauth(store, clock)
    client, _secret = await client_in_new_org(store, clock)
    await service.persist(service.records(client, access="a", refresh=None))
    assert await service.authenticate("a") is not None
    assert await delete_client(store, client.client_id)
    clock.now = T0 + 4_999
    assert await service.authenticate("a") is not None
    clock.now = T0 + 5_000
    assert await service.authenticate("a") is None
    assert await delete_client(store, client.client_id) is False


async def test_a_client_deleted_through_the_service_is_refused_at_once(store: SqlStore) -> None:
    """``OAuth.delete_client`` announces the deletion; once applied, the cached token is
    refused on the next call, long before any recheck."""
    clock = HandClock()
    bus, directory = Bus(), Directory(store)
    service = OAuth(
        store,
        directory,
        clock,
        bus=bus,
        access_ttl_s=300,
        refresh_ttl_s=3600,
        recheck_ms=60_000,
    )
    announced: list[OAuthClientRemoved] = []
    bus.subscribe(OAuthClientRemoved, announced.append)
    bus.subscribe(OAuthClientRemoved, lambda change: service.forget_client(change.client_id))
    client, _secret = await client_in_new_org(store, clock)
    await service.persist(service.records(client, access="a", refresh=None))
    assert await service.authenticate("a") is not None
    assert await service.delete_client(client.client_id)
    assert announced == [OAuthClientRemoved(client_id=client.client_id)]
    assert await service.authenticate("a") is None
    assert await service.delete_client(client.client_id) is False


async def test_a_token_whose_client_the_directory_lost_is_refused(store: SqlStore) -> None:
    """Defence in depth: a cached token of a client neither the directory nor the database
    knows any more is refused even before its recheck is due."""
    clock = HandClock()
    directory = Directory(store)
    service = OAuth(
        store,
        directory,
        clock,
        bus=Bus(),
        access_ttl_s=300,
        refresh_ttl_s=3600,
        recheck_ms=60_000,
    )
    client, _secret = await client_in_new_org(store, clock)
    await service.persist(service.records(client, access="a", refresh=None))
    assert await service.authenticate("a") is not None
    assert await delete_client(store, client.client_id)
    directory.remove_oauth_client(client.client_id)
    assert await service.authenticate("a") is None


async def test_tokens_of_a_client_deleted_meanwhile_are_not_stored(store: SqlStore) -> None:
    """A client deleted by another process after the token request found it: persisting its
    tokens raises ``ClientGone`` (the endpoint's ``invalid_client``) and stores nothing."""
    clock = HandClock()
    service = oauth(store, clock)
    client, _secret = await client_in_new_org(store, clock)
    issued = service.records(client, access="late", refresh="late-refresh")
    assert await delete_client(store, client.client_id)
    with pytest.raises(ClientGone):
        await service.persist(issued)
    assert await service.authenticate("late") is None


def test_client_ids_never_start_with_a_dash() -> None:
    """A client id is typed on command lines (``pinbase oauth delete-client ID``), where a
    leading ``-`` reads as an option; one random id in 64 used to start with one."""
    ids = [new_client_id() for _ in range(2_000)]
    assert not [client_id for client_id in ids if client_id.startswith("-")]
    assert {len(client_id) for client_id in ids} == {20}
