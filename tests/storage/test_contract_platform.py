"""The storage contract of the Platform API (migration 0002), on every backend.

Same rules as ``test_contract.py``: each test gets an empty, migrated database, and timestamps
sit past 2**31 milliseconds.
"""

from dataclasses import replace
from typing import Any

from sqlalchemy import Table
from test_contract import COUNTER, EVENTS, MESSAGE, T0, TEMPERATURE, add_device, add_devices

from pinbase.domain.ids import DatastreamId, DeviceId, OrgId
from pinbase.domain.points import Point
from pinbase.settings import Settings
from pinbase.storage import schema
from pinbase.storage.base import (
    HistoryRow,
    OrganizationCounts,
    OrganizationProfile,
    Store,
    StoredToken,
)
from pinbase.storage.engines import create_engine, database_url


async def add_client(store: Store, client_id: str = "client-1") -> tuple[OrgId, str]:
    """An organization with one OAuth client; returns the organization's id and the client id."""
    async with store.transaction() as tx:
        org = await tx.add_organization(name="Acme", parent_id=None, description=None, created_at=0)
        await tx.add_oauth_client(
            org_id=org.id, name="ci", client_id=client_id, secret_hash="h", created_at=T0
        )
    return org.id, client_id


def token(org_id: OrgId, client_id: str, name: str, **changes: Any) -> StoredToken:
    """An access token record named ``name`` (its hash), valid for five minutes from T0."""
    issued = StoredToken(
        token_hash=name,
        kind="access",
        client_id=client_id,
        org_id=org_id,
        expires_at=T0 + 300_000,
        created_at=T0,
    )
    return replace(issued, **changes)


async def test_tokens_round_trip_by_hash(store: Store) -> None:
    """Stored tokens come back by hash with every field; an unknown hash finds nothing."""
    org_id, client_id = await add_client(store)
    access = token(org_id, client_id, "a" * 64)
    refresh = token(org_id, client_id, "r" * 64, kind="refresh", expires_at=T0 + 86_400_000)
    async with store.transaction() as tx:
        await tx.add_oauth_tokens([access, refresh])
        await tx.add_oauth_tokens([])
    async with store.transaction() as tx:
        assert await tx.find_oauth_token("a" * 64) == access
        assert await tx.find_oauth_token("r" * 64) == refresh
        assert await tx.find_oauth_token("x" * 64) is None


async def test_revoking_a_token_succeeds_once(store: Store) -> None:
    """The first revocation answers True, every later one False; the record shows it."""
    org_id, client_id = await add_client(store)
    async with store.transaction() as tx:
        await tx.add_oauth_tokens([token(org_id, client_id, "r1", kind="refresh")])
    async with store.transaction() as tx:
        assert await tx.revoke_oauth_token("r1") is True
    async with store.transaction() as tx:
        assert await tx.revoke_oauth_token("r1") is False
        assert await tx.revoke_oauth_token("unknown") is False
        found = await tx.find_oauth_token("r1")
    assert found is not None
    assert found.revoked is True


async def test_expired_tokens_are_deleted_before_a_time(store: Store) -> None:
    """Tokens expiring before ``before`` go; the one expiring exactly then stays."""
    org_id, client_id = await add_client(store)
    async with store.transaction() as tx:
        await tx.add_oauth_tokens(
            [
                token(org_id, client_id, "old", expires_at=T0),
                token(org_id, client_id, "edge", expires_at=T0 + 10),
                token(org_id, client_id, "new", expires_at=T0 + 20),
            ]
        )
    async with store.transaction() as tx:
        assert await tx.delete_expired_oauth_tokens(before=T0 + 10) == 1
    async with store.transaction() as tx:
        assert await tx.find_oauth_token("old") is None
        assert await tx.find_oauth_token("edge") is not None
        assert await tx.find_oauth_token("new") is not None


async def test_oauth_clients_are_found_by_public_id_and_listed(store: Store) -> None:
    """``find_oauth_client`` looks up the public id; ``list_oauth_clients`` returns all by id."""
    await add_client(store, "first")
    async with store.transaction() as tx:
        org = await tx.add_organization(name="Beta", parent_id=None, description=None, created_at=0)
        second = await tx.add_oauth_client(
            org_id=org.id, name="ops", client_id="second", secret_hash="s", created_at=T0
        )
    async with store.transaction() as tx:
        assert await tx.find_oauth_client("second") == second
        assert await tx.find_oauth_client("nobody") is None
        assert [c.client_id for c in await tx.list_oauth_clients()] == ["first", "second"]


async def test_organizations_are_loaded_with_their_parents(store: Store) -> None:
    """``load_organizations`` returns every organization, as the catalog does."""
    async with store.transaction() as tx:
        root = await tx.add_organization(
            name="Root", parent_id=None, description=None, created_at=0
        )
        child = await tx.add_organization(
            name="Child", parent_id=root.id, description="Sub", created_at=T0
        )
    async with store.transaction() as tx:
        assert await tx.load_organizations() == [root, child]


async def test_device_is_found_by_id(store: Store) -> None:
    """``find_device_by_id`` returns what ``find_device`` returns; an unknown id finds nothing."""
    first, second = await add_devices(store, 2)
    async with store.transaction() as tx:
        assert await tx.find_device_by_id(second.id) == second
        assert await tx.find_device_by_id(first.id) == await tx.find_device(first.token)
        assert await tx.find_device_by_id(DeviceId(404)) is None


async def test_all_properties_are_grouped_by_device_and_datastream(store: Store) -> None:
    """Every stored property comes back per device and datastream; devices stay apart."""
    first, second = await add_devices(store, 2)
    async with store.transaction() as tx:
        await tx.set_property(first.id, COUNTER, name="label", value='"A"', ts=T0)
        await tx.set_property(first.id, COUNTER, name="color", value='"#FF0000"', ts=T0)
        await tx.set_property(first.id, MESSAGE, name="labels", value='["x","y"]', ts=T0)
        await tx.set_property(second.id, COUNTER, name="label", value='"B"', ts=T0)
    async with store.transaction() as tx:
        assert await tx.load_all_properties() == {
            first.id: {
                COUNTER: {"color": '"#FF0000"', "label": '"A"'},
                MESSAGE: {"labels": '["x","y"]'},
            },
            second.id: {COUNTER: {"label": '"B"'}},
        }


async def test_history_pages_are_newest_first_within_bounds(store: Store) -> None:
    """Pages run newest first, ``since`` inclusive, ``until`` exclusive, other series apart."""
    first, second = await add_devices(store, 2)
    points = [Point(first.id, COUNTER, T0 + n, n) for n in range(10)]
    points.append(Point(first.id, TEMPERATURE, T0 + 5, 2.5))
    points.append(Point(second.id, COUNTER, T0 + 5, 99))
    await store.append_points(points, current=[])

    async def page(offset: int, limit: int, since: int = T0, until: int = T0 + 100) -> list[int]:
        async with store.transaction() as tx:
            rows = await tx.read_history_page(
                first.id, COUNTER, since=since, until=until, offset=offset, limit=limit
            )
        return [row.ts - T0 for row in rows]

    assert await page(0, 3) == [9, 8, 7]
    assert await page(3, 3) == [6, 5, 4]
    assert await page(9, 3) == [0]
    assert await page(10, 3) == []
    assert await page(0, 100, since=T0 + 2, until=T0 + 5) == [4, 3, 2]
    async with store.transaction() as tx:
        assert await tx.count_history(first.id, COUNTER, since=T0, until=T0 + 100) == 10
        assert await tx.count_history(first.id, COUNTER, since=T0 + 2, until=T0 + 5) == 3
        assert await tx.count_history(first.id, DatastreamId(77), since=0, until=T0 * 2) == 0
        (row,) = await tx.read_history_page(
            first.id, TEMPERATURE, since=0, until=T0 * 2, offset=0, limit=5
        )
    assert row == HistoryRow(datastream_id=TEMPERATURE, ts=T0 + 5, num=2.5, text=None)


async def test_history_page_breaks_timestamp_ties_by_arrival(store: Store) -> None:
    """Points sharing a timestamp come back last written first."""
    (device,) = await add_devices(store, 1)
    await store.append_points([Point(device.id, MESSAGE, T0, "first")], current=[])
    await store.append_points([Point(device.id, MESSAGE, T0, "second")], current=[])
    async with store.transaction() as tx:
        rows = await tx.read_history_page(
            device.id, MESSAGE, since=0, until=T0 + 1, offset=0, limit=5
        )
    assert [row.text for row in rows] == ["second", "first"]


async def test_logged_events_start_unresolved(store: Store) -> None:
    """A new timeline entry is unresolved, with no resolution time or comment."""
    (device,) = await add_devices(store, 1)
    async with store.transaction() as tx:
        logged = await tx.add_device_event(device.id, EVENTS[0], description=None, ts=T0)
    async with store.transaction() as tx:
        (listed,) = await tx.list_device_events(device.id, since=0)
    assert listed == logged
    assert (listed.is_resolved, listed.resolved_at, listed.resolved_comment) == (False, None, None)


async def test_devices_of_a_second_template_are_found_by_id(store: Store) -> None:
    """A device added after others is found by id with its own template."""
    (first,) = await add_devices(store, 1)
    async with store.transaction() as tx:
        template = await tx.load_template(first.template_id)
    assert template is not None
    later = await add_device(store, template, "later-token")
    async with store.transaction() as tx:
        assert await tx.find_device_by_id(later.id) == later


async def insert_rows(settings: Settings, table: Table, rows: list[dict[str, Any]]) -> None:
    """Rows no contract method writes yet (users, tags), inserted straight into the database."""
    engine = create_engine(database_url(settings.data_dir, settings.database_url))
    try:
        async with engine.begin() as connection:
            await connection.execute(table.insert(), rows)
    finally:
        await engine.dispose()


async def test_created_organizations_keep_their_profile(store: Store) -> None:
    """``create_organization`` stores the profile columns; provisioned ones read defaults."""
    async with store.transaction() as tx:
        root = await tx.add_organization(
            name="Root", parent_id=None, description=None, created_at=0
        )
        child = await tx.create_organization(
            name="Child",
            parent_id=root.id,
            description="Sub",
            type="PERSONAL",
            tz="Europe/Kiev",
            unit_system="METRIC",
            phone_number="+3801234567",
            is_active=False,
            created_at=T0,
        )
    assert (child.last_modified_ts, child.address, child.is_active) == (T0, None, False)
    async with store.transaction() as tx:
        profiles = await tx.load_organization_profiles([child.id, root.id, OrgId(404)])
        assert await tx.load_organization_profiles([]) == []
        organizations = await tx.load_organizations()
    assert profiles == [
        OrganizationProfile(
            id=root.id,
            name="Root",
            parent_id=None,
            description=None,
            type=None,
            tz=None,
            unit_system=None,
            phone_number=None,
            address=None,
            is_active=True,
            last_modified_ts=0,
        ),
        child,
    ]
    assert [org.id for org in organizations] == [root.id, child.id]
    assert organizations[1].parent_id == root.id


async def test_organization_contents_are_counted(store: Store, settings: Settings) -> None:
    """Devices (own and built from the organization's templates) and users per organization."""
    first, second = await add_devices(store, 2)
    async with store.transaction() as tx:
        empty = await tx.add_organization(
            name="Empty", parent_id=first.org_id, description=None, created_at=T0
        )
        other = await tx.add_organization(
            name="Other", parent_id=None, description=None, created_at=T0
        )
    await insert_rows(
        settings, schema.users, [user(first.org_id, "a@x.io"), user(empty.id, "b@x.io")]
    )
    async with store.transaction() as tx:
        counts = await tx.count_organization_contents([first.org_id, empty.id, other.id])
        assert await tx.count_organization_contents([]) == {}
    assert counts == {
        first.org_id: OrganizationCounts(devices=2, users=1),
        empty.id: OrganizationCounts(devices=0, users=1),
        other.id: OrganizationCounts(),
    }
    assert second.org_id == first.org_id


def user(org_id: OrgId, email: str) -> dict[str, Any]:
    """A users row."""
    return {
        "org_id": org_id,
        "name": email,
        "email": email,
        "role_id": 3,
        "status": "Active",
        "is_dev": False,
        "registered_at": T0,
        "last_modified_ts": T0,
        "last_logged_at": T0,
    }


async def test_tags_are_listed_per_organization(store: Store, settings: Settings) -> None:
    """An organization's tags by id; other organizations' stay apart."""
    org_id, _ = await add_client(store)
    async with store.transaction() as tx:
        other = await tx.add_organization(
            name="Other", parent_id=None, description=None, created_at=T0
        )
    await insert_rows(settings, schema.users, [user(org_id, "owner@x.io")])
    await insert_rows(
        settings,
        schema.tags,
        [
            {"org_id": org_id, "name": "Kitchen", "owner_user_id": None, "created_at": T0},
            {"org_id": other.id, "name": "Garden", "owner_user_id": None, "created_at": T0},
        ],
    )
    async with store.transaction() as tx:
        tags = await tx.list_tags(org_id)
        assert await tx.list_tags(OrgId(404)) == []
    assert [(t.org_id, t.name, t.owner_user_id) for t in tags] == [(org_id, "Kitchen", None)]


async def test_deleting_an_organization_takes_what_it_holds(
    store: Store, settings: Settings
) -> None:
    """Users, tags, templates, OAuth clients and tokens go with it; others stay; a second
    delete finds nothing."""
    keep_id, keep_client = await add_client(store, "keep")
    async with store.transaction() as tx:
        doomed = await tx.add_organization(
            name="Doomed", parent_id=keep_id, description=None, created_at=T0
        )
        await tx.add_oauth_client(
            org_id=doomed.id, name="ci", client_id="doomed", secret_hash="h", created_at=T0
        )
        await tx.add_oauth_tokens(
            [token(doomed.id, "doomed", "d1"), token(keep_id, keep_client, "k1")]
        )
        await tx.add_template(
            org_id=doomed.id,
            code="TMPLdoomed",
            name="Doomed",
            description=None,
            datastreams=[],
            events=EVENTS,
            metafields=[],
            created_at=T0,
        )
    await insert_rows(settings, schema.users, [user(doomed.id, "gone@x.io")])
    await insert_rows(
        settings,
        schema.tags,
        [{"org_id": doomed.id, "name": "Gone", "owner_user_id": None, "created_at": T0}],
    )
    async with store.transaction() as tx:
        (gone,) = await tx.delete_organization(doomed.id) or ()
    async with store.transaction() as tx:
        assert await tx.find_user(gone) is None
        assert await tx.delete_organization(doomed.id) is None
        catalog = await tx.load_catalog()
        assert [org.id for org in catalog.organizations] == [keep_id]
        assert [c.client_id for c in catalog.oauth_clients] == ["keep"]
        assert catalog.templates == ()
        assert await tx.find_oauth_token("d1") is None
        assert await tx.find_oauth_token("k1") is not None
        assert await tx.list_tags(doomed.id) == []
        assert await tx.count_organization_contents([doomed.id]) == {
            doomed.id: OrganizationCounts()
        }
