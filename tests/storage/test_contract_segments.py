"""The segment repository (``storage.segments``, migration 0019) on every backend: each test
gets an empty, migrated database."""

import pytest
from test_contract import T0, add_devices

from pinbase.storage.segments import SegmentNameTaken
from pinbase.storage.sql import SqlStore


async def test_segments_keep_their_members_in_creation_order(store: SqlStore) -> None:
    """Segments list in creation order with sorted members; adding a member twice counts once;
    removing takes only members; another organization lists nothing."""
    devices = await add_devices(store, 3)
    org = devices[0].org_id
    async with store.transaction() as tx:
        first = await tx.add_segment(org, "Pumps", created_at=T0)
        second = await tx.add_segment(org, "Valves", created_at=T0 + 1)
        assert await tx.add_segment_devices(first, [devices[2].id, devices[0].id]) == 2
        assert await tx.add_segment_devices(first, [devices[0].id, devices[1].id]) == 1
        assert await tx.add_segment_devices(second, []) == 0
        other = await tx.add_organization(
            name="Other", parent_id=None, description=None, created_at=T0
        )
    async with store.transaction() as tx:
        listed = await tx.list_segments(org)
        assert [(s.name, s.device_ids) for s in listed] == [
            ("Pumps", tuple(sorted(d.id for d in devices))),
            ("Valves", ()),
        ]
        assert listed[0].created_at == T0
        assert await tx.list_segments(other.id) == []
        assert await tx.remove_segment_devices(first, [devices[1].id, 999_999]) == 1
        assert await tx.remove_segment_devices(first, []) == 0
        found = await tx.find_segment(first)
        assert found is not None
        assert found.device_ids == tuple(sorted((devices[0].id, devices[2].id)))
        assert await tx.find_segment(999_999) is None


async def test_rename_delete_and_unique_names(store: SqlStore) -> None:
    """Rename and delete answer whether the segment existed; a name taken in the organization
    is refused by the unique index."""
    devices = await add_devices(store, 1)
    org = devices[0].org_id
    async with store.transaction() as tx:
        segment = await tx.add_segment(org, "Pumps", created_at=T0)
        await tx.add_segment_devices(segment, [devices[0].id])
        assert await tx.rename_segment(segment, "Wells") is True
        assert await tx.rename_segment(999_999, "Nope") is False
    with pytest.raises(SegmentNameTaken):
        async with store.transaction() as tx:
            await tx.add_segment(org, "Wells", created_at=T0)
    async with store.transaction() as tx:
        assert await tx.delete_segment(segment) is True
        assert await tx.delete_segment(segment) is False
        assert await tx.list_segments(org) == []


async def test_deleting_a_device_or_organization_takes_member_rows_along(
    store: SqlStore,
) -> None:
    """A deleted device leaves its segments; a deleted organization takes its segments."""
    devices = await add_devices(store, 2)
    org = devices[0].org_id
    async with store.transaction() as tx:
        segment = await tx.add_segment(org, "All", created_at=T0)
        await tx.add_segment_devices(segment, [d.id for d in devices])
    async with store.transaction() as tx:
        assert await tx.delete_device(devices[0].id) is True
    async with store.transaction() as tx:
        found = await tx.find_segment(segment)
        assert found is not None
        assert found.device_ids == (devices[1].id,)
        await tx.delete_device(devices[1].id)
    async with store.transaction() as tx:
        templates = [t for t in (await tx.load_catalog()).templates if t.org_id == org]
        for template in templates:
            await tx.delete_template(template.id)
        assert await tx.delete_organization(org) is not None
        assert await tx.find_segment(segment) is None


async def test_a_dynamic_segment_keeps_its_filters(store: SqlStore) -> None:
    """A segment stored with a search text and status reads back dynamic; a static one reads
    back with no query and an empty status."""
    devices = await add_devices(store, 1)
    org = devices[0].org_id
    async with store.transaction() as tx:
        dynamic = await tx.add_segment(
            org, "Online pumps", created_at=T0, query="", status="ONLINE"
        )
        static = await tx.add_segment(org, "Chosen", created_at=T0)
    async with store.transaction() as tx:
        found = {s.id: s for s in await tx.list_segments(org)}
    assert (found[dynamic].is_dynamic, found[dynamic].query, found[dynamic].status) == (
        True,
        "",
        "ONLINE",
    )
    assert (found[static].is_dynamic, found[static].query, found[static].status) == (
        False,
        None,
        "",
    )
