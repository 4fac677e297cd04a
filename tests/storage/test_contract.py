"""The storage contract of ``storage.base``, run against every backend (SQLite and PostgreSQL).

Each test gets an empty, migrated database (see ``conftest.py``). Timestamps sit past 2**31
milliseconds, as real ones do, so a 32-bit column would show.
"""

import contextlib
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import NullPool, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from pinbase.domain.datastreams import Datastream, DataType, EnumOption
from pinbase.domain.devices import Device, HardwareInfo
from pinbase.domain.ids import DatastreamId, DeviceId, EventId, MetafieldId, TemplateId, Token
from pinbase.domain.pins import Pin, PinType
from pinbase.domain.points import Point
from pinbase.domain.templates import Metafield, Template, TemplateEvent
from pinbase.runtime import open_store
from pinbase.settings import Settings
from pinbase.storage.base import HistoryRow, Store, StoredFile
from pinbase.storage.engines import SQLITE_FILE

T0 = 1_760_000_000_000
"""A millisecond timestamp in 2025: beyond what a 32-bit integer column holds."""

DATASTREAMS = (
    Datastream(
        id=DatastreamId(1),
        label="Counter",
        pin=Pin(PinType.VIRTUAL, 1),
        type=DataType.INT,
        min=0,
        max=100,
        default_value=5,
        save_raw=True,
        sync_with_latest=True,
    ),
    Datastream(
        id=DatastreamId(2),
        label="Temperature",
        alias="Temp",
        pin=Pin(PinType.VIRTUAL, 2),
        type=DataType.DOUBLE,
        min=-40.5,
        max=85.25,
        default_value=21.5,
        decimals="#.00",
        units="Celsius",
    ),
    Datastream(
        id=DatastreamId(3),
        label="Message",
        pin=Pin(PinType.VIRTUAL, 3),
        type=DataType.STRING,
        default_value="hello",
    ),
    Datastream(
        id=DatastreamId(4),
        label="Position",
        pin=Pin(PinType.VIRTUAL, 4),
        type=DataType.LOCATION,
        default_value=(-73.987, 40.725),
    ),
    Datastream(
        id=DatastreamId(5),
        label="Mode",
        pin=Pin(PinType.DIGITAL, 5),
        type=DataType.ENUM,
        default_value=2,
        enum_options=(
            EnumOption(value=0, label="Off", color="#000000"),
            EnumOption(value=1, label="On"),
            EnumOption(value=2, label="Auto", color="#00FF00"),
        ),
        fallback_value=0,
    ),
    Datastream(
        id=DatastreamId(6),
        label="Switch",
        pin=Pin(PinType.ANALOG, 6),
        type=DataType.BOOL,
        default_value=True,
    ),
    Datastream(
        id=DatastreamId(7),
        label="Idle",
        pin=Pin(PinType.VIRTUAL, 7),
        type=DataType.BOOL,
        default_value=False,
    ),
    Datastream(
        id=DatastreamId(8),
        label="Humidity",
        pin=Pin(PinType.VIRTUAL, 255),
        type=DataType.DOUBLE,
    ),
)
COUNTER, TEMPERATURE, MESSAGE, POSITION, MODE, SWITCH = (DatastreamId(n) for n in range(1, 7))

EVENTS = (
    TemplateEvent(
        id=EventId(1), code="overheat", name="Overheat", type="WARNING", description="Too hot"
    ),
    TemplateEvent(id=EventId(2), code="door_open", name="Door open"),
)
METAFIELDS = (
    Metafield(id=MetafieldId(1), name="Serial Number", type="Text", default_value="SN-0001"),
    Metafield(id=MetafieldId(2), name="Room"),
    Metafield(id=MetafieldId(3), name="Rated Power", type="Number", default_value="60"),
)

Append = Callable[[Store, Sequence[Point], Sequence[Point]], Awaitable[None]]


async def append_with_store(
    store: Store, points: Sequence[Point], current: Sequence[Point]
) -> None:
    """The group-commit writer's path: ``Store.append_points``."""
    await store.append_points(points, current=current)


async def append_in_transaction(
    store: Store, points: Sequence[Point], current: Sequence[Point]
) -> None:
    """The other path: ``Transaction.append_points`` inside an explicit transaction."""
    async with store.transaction() as tx:
        await tx.append_points(points, current=current)


@pytest.fixture(params=[append_with_store, append_in_transaction], ids=["store", "transaction"])
def append(request: pytest.FixtureRequest) -> Append:
    """Each of the two ways to append points."""
    chosen: Append = request.param
    return chosen


async def add_template(store: Store) -> Template:
    """An organization with the full test template."""
    async with store.transaction() as tx:
        org = await tx.add_organization(
            name="Acme", parent_id=None, description=None, created_at=T0
        )
        return await tx.add_template(
            org_id=org.id,
            code="TMPLcontract1",
            name="Sensor",
            description="Every datastream type",
            datastreams=DATASTREAMS,
            events=EVENTS,
            metafields=METAFIELDS,
            created_at=T0,
        )


async def add_device(store: Store, template: Template, token: str) -> Device:
    """A device of ``template``."""
    async with store.transaction() as tx:
        return await tx.add_device(
            org_id=template.org_id,
            template=template,
            name=f"Device {token}",
            token=Token(token),
            created_at=T0 + 1,
        )


async def add_devices(store: Store, count: int) -> list[Device]:
    """``count`` devices of one fresh template."""
    template = await add_template(store)
    return [await add_device(store, template, f"token-{n}") for n in range(count)]


async def test_new_database_is_empty(store: Store) -> None:
    """A freshly migrated database has no catalog entries, current values or points."""
    async with store.transaction() as tx:
        catalog = await tx.load_catalog()
        assert (catalog.organizations, catalog.oauth_clients) == ((), ())
        assert (catalog.templates, catalog.devices) == ((), ())
        assert await tx.load_current_values() == []
        assert await tx.count_points() == 0


async def test_dialect_names_the_backend(store: Store, settings: Settings) -> None:
    """``dialect`` is "sqlite" for the embedded database and "postgresql" otherwise."""
    assert store.dialect == ("sqlite" if settings.database_url is None else "postgresql")


async def test_organizations_round_trip_with_their_parent(store: Store) -> None:
    """Organizations come back from the catalog as created, a child naming its parent."""
    async with store.transaction() as tx:
        root = await tx.add_organization(
            name="Root", parent_id=None, description="Top", created_at=T0
        )
        child = await tx.add_organization(
            name="Child", parent_id=root.id, description=None, created_at=T0 + 1
        )
    async with store.transaction() as tx:
        catalog = await tx.load_catalog()
    assert catalog.organizations == (root, child)
    assert child.parent_id == root.id != child.id


async def test_oauth_clients_round_trip(store: Store) -> None:
    """OAuth clients come back from the catalog with their secret hash and organization."""
    async with store.transaction() as tx:
        org = await tx.add_organization(name="Acme", parent_id=None, description=None, created_at=0)
        first = await tx.add_oauth_client(
            org_id=org.id, name="tests", client_id="c1", secret_hash="h" * 128, created_at=T0
        )
        second = await tx.add_oauth_client(
            org_id=org.id, name="ops", client_id="c2", secret_hash="x", created_at=T0 + 1
        )
    async with store.transaction() as tx:
        assert (await tx.load_catalog()).oauth_clients == (first, second)


async def test_template_with_every_datastream_type_round_trips(store: Store) -> None:
    """Every data type, enum option, default (bool and location included) and event comes back."""
    created = await add_template(store)
    async with store.transaction() as tx:
        loaded = await tx.load_template(created.id)
        catalog = await tx.load_catalog()
    assert loaded == created
    assert loaded is not None
    assert loaded.datastreams == DATASTREAMS
    assert loaded.events == EVENTS
    assert loaded.metafields == METAFIELDS
    assert catalog.templates == (created,)
    defaults = [ds.default_value for ds in loaded.datastreams]
    assert defaults == [5, 21.5, "hello", (-73.987, 40.725), 2, True, False, None]
    assert [type(value) for value in defaults[:7]] == [int, float, str, tuple, int, bool, bool]


async def test_template_without_children_round_trips(store: Store) -> None:
    """A template with no datastreams, events or metafields loads back empty-handed."""
    async with store.transaction() as tx:
        org = await tx.add_organization(name="Acme", parent_id=None, description=None, created_at=0)
        created = await tx.add_template(
            org_id=org.id,
            code="TMPLbare",
            name="Bare",
            description=None,
            datastreams=(),
            events=(),
            metafields=(),
            created_at=T0,
        )
    async with store.transaction() as tx:
        assert await tx.load_template(created.id) == created


async def test_unknown_template_loads_as_none(store: Store) -> None:
    """``load_template`` of an id nobody created answers None."""
    async with store.transaction() as tx:
        assert await tx.load_template(TemplateId(404)) is None


async def test_device_starts_with_the_template_metafield_defaults(store: Store) -> None:
    """A new device holds the metafields that have a default, and is found by its token."""
    template = await add_template(store)
    device = await add_device(store, template, "token-1")
    assert device.metafield_values == ((1, "SN-0001"), (3, "60"))
    async with store.transaction() as tx:
        assert await tx.find_device(Token("token-1")) == device
        assert (await tx.load_catalog()).devices == (device,)


async def test_unknown_token_finds_no_device(store: Store) -> None:
    """``find_device`` with a token nobody holds answers None."""
    await add_devices(store, 1)
    async with store.transaction() as tx:
        assert await tx.find_device(Token("nope")) is None


async def test_appended_points_become_history_and_current_values(
    store: Store, append: Append
) -> None:
    """Points of every value type land in history columns and round-trip as current values."""
    (device,) = await add_devices(store, 1)
    points = [
        Point(device.id, COUNTER, T0, 33),
        Point(device.id, TEMPERATURE, T0 + 1, 21.25),
        Point(device.id, MESSAGE, T0 + 2, "hello world"),
        Point(device.id, POSITION, T0 + 3, (-73.987, 40.725)),
        Point(device.id, MODE, T0 + 4, 2),
        Point(device.id, SWITCH, T0 + 5, True),
    ]
    await append(store, points, points)
    async with store.transaction() as tx:
        assert await tx.count_points() == 6
        assert sorted(await tx.load_current_values(), key=lambda p: p.datastream_id) == points
        history = await tx.read_history(
            device.id, [p.datastream_id for p in points], since=0, until=T0 + 10, limit=100
        )
    assert history == [
        HistoryRow(datastream_id=COUNTER, ts=T0, num=33.0, text=None),
        HistoryRow(datastream_id=TEMPERATURE, ts=T0 + 1, num=21.25, text=None),
        HistoryRow(datastream_id=MESSAGE, ts=T0 + 2, num=None, text="hello world"),
        HistoryRow(datastream_id=POSITION, ts=T0 + 3, num=None, text="[-73.987,40.725]"),
        HistoryRow(datastream_id=MODE, ts=T0 + 4, num=2.0, text=None),
        HistoryRow(datastream_id=SWITCH, ts=T0 + 5, num=1.0, text=None),
    ]


async def test_current_value_types_survive_the_round_trip(store: Store, append: Append) -> None:
    """A false bool stays a bool and a whole float stays a float in current values."""
    (device,) = await add_devices(store, 1)
    current = [Point(device.id, SWITCH, T0, False), Point(device.id, TEMPERATURE, T0, 21.0)]
    await append(store, [], current)
    async with store.transaction() as tx:
        loaded = {p.datastream_id: p.value for p in await tx.load_current_values()}
    assert loaded == {SWITCH: False, TEMPERATURE: 21.0}
    assert (type(loaded[SWITCH]), type(loaded[TEMPERATURE])) == (bool, float)


async def test_newer_current_value_replaces_the_stored_one(store: Store, append: Append) -> None:
    """A current value with a later timestamp overwrites the earlier one."""
    (device,) = await add_devices(store, 1)
    await append(store, [], [Point(device.id, COUNTER, T0, 1)])
    await append(store, [], [Point(device.id, COUNTER, T0 + 1, 2)])
    async with store.transaction() as tx:
        assert await tx.load_current_values() == [Point(device.id, COUNTER, T0 + 1, 2)]


async def test_older_current_value_does_not_replace_a_newer_one(
    store: Store, append: Append
) -> None:
    """A late-arriving older value leaves the newer current value in place (history keeps it)."""
    (device,) = await add_devices(store, 1)
    newer = Point(device.id, COUNTER, T0 + 10, 2)
    older = Point(device.id, COUNTER, T0, 1)
    await append(store, [newer], [newer])
    await append(store, [older], [older])
    async with store.transaction() as tx:
        assert await tx.load_current_values() == [newer]
        assert await tx.count_points() == 2


async def test_current_value_with_the_same_timestamp_replaces(store: Store, append: Append) -> None:
    """Two values with one timestamp: the one written last is current."""
    (device,) = await add_devices(store, 1)
    await append(store, [], [Point(device.id, COUNTER, T0, 1)])
    await append(store, [], [Point(device.id, COUNTER, T0, 2)])
    async with store.transaction() as tx:
        assert await tx.load_current_values() == [Point(device.id, COUNTER, T0, 2)]


async def test_current_values_are_kept_per_device_and_datastream(
    store: Store, append: Append
) -> None:
    """Each (device, datastream) pair has its own current value."""
    first, second = await add_devices(store, 2)
    current = [
        Point(first.id, COUNTER, T0, 1),
        Point(first.id, TEMPERATURE, T0, 2.5),
        Point(second.id, COUNTER, T0, 3),
    ]
    await append(store, [], current)
    async with store.transaction() as tx:
        assert set(await tx.load_current_values()) == set(current)


async def test_history_only_append_leaves_current_values_alone(
    store: Store, append: Append
) -> None:
    """Points appended with no current values (an import) only grow history."""
    (device,) = await add_devices(store, 1)
    await append(store, [Point(device.id, COUNTER, T0, 1)], [])
    await append(store, [], [])
    async with store.transaction() as tx:
        assert await tx.count_points() == 1
        assert await tx.load_current_values() == []


async def test_count_points_counts_every_device(store: Store, append: Append) -> None:
    """``count_points`` adds up history points of all devices and datastreams."""
    first, second = await add_devices(store, 2)
    points = [Point(first.id, COUNTER, T0 + n, n) for n in range(5)]
    points += [Point(second.id, TEMPERATURE, T0 + n, n / 2) for n in range(3)]
    await append(store, points, [])
    async with store.transaction() as tx:
        assert await tx.count_points() == 8


async def test_read_history_keeps_since_and_drops_until(store: Store, append: Append) -> None:
    """History reads include ``since``, exclude ``until``, and skip other series and devices."""
    first, second = await add_devices(store, 2)
    await append(
        store,
        [
            Point(first.id, COUNTER, T0, 1),
            Point(first.id, COUNTER, T0 + 1, 2),
            Point(first.id, TEMPERATURE, T0 + 2, 2.5),
            Point(first.id, MESSAGE, T0 + 2, "not asked"),
            Point(second.id, COUNTER, T0 + 2, 99),
            Point(first.id, COUNTER, T0 + 3, 3),
            Point(first.id, COUNTER, T0 + 4, 4),
        ],
        [],
    )
    async with store.transaction() as tx:
        rows = await tx.read_history(
            first.id, [COUNTER, TEMPERATURE], since=T0 + 1, until=T0 + 4, limit=100
        )
    assert rows == [
        HistoryRow(datastream_id=COUNTER, ts=T0 + 1, num=2.0, text=None),
        HistoryRow(datastream_id=TEMPERATURE, ts=T0 + 2, num=2.5, text=None),
        HistoryRow(datastream_id=COUNTER, ts=T0 + 3, num=3.0, text=None),
    ]


async def test_read_history_is_oldest_first_and_limited(store: Store, append: Append) -> None:
    """Points come back by timestamp, not by insertion order, and ``limit`` keeps the oldest."""
    (device,) = await add_devices(store, 1)
    stamps = [T0 + 5, T0 + 1, T0 + 4, T0 + 2, T0 + 3]
    await append(store, [Point(device.id, COUNTER, ts, ts - T0) for ts in stamps], [])
    async with store.transaction() as tx:
        everything = await tx.read_history(device.id, [COUNTER], since=T0, until=T0 + 9, limit=10)
        oldest = await tx.read_history(device.id, [COUNTER], since=T0, until=T0 + 9, limit=2)
    assert [row.ts for row in everything] == sorted(stamps)
    assert [row.ts for row in oldest] == [T0 + 1, T0 + 2]


async def test_read_history_of_no_datastream_is_empty(store: Store, append: Append) -> None:
    """Asking for no datastream answers no rows."""
    (device,) = await add_devices(store, 1)
    await append(store, [Point(device.id, COUNTER, T0, 1)], [])
    async with store.transaction() as tx:
        assert await tx.read_history(device.id, [], since=0, until=T0 + 1, limit=10) == []


async def test_properties_are_stored_and_overwritten(store: Store) -> None:
    """``set_property`` stores JSON text by name; setting it again overwrites it."""
    (device,) = await add_devices(store, 1)
    async with store.transaction() as tx:
        await tx.set_property(device.id, COUNTER, name="label", value='"Kitchen"', ts=T0)
        await tx.set_property(device.id, COUNTER, name="color", value='"#FF0000"', ts=T0)
    async with store.transaction() as tx:
        await tx.set_property(device.id, COUNTER, name="label", value='"Hall"', ts=T0 + 1)
    async with store.transaction() as tx:
        assert await tx.load_properties(device.id, COUNTER) == {
            "label": '"Hall"',
            "color": '"#FF0000"',
        }
        assert await tx.load_properties(device.id, TEMPERATURE) == {}


async def test_device_events_are_listed_and_counted_since_a_time(store: Store) -> None:
    """Logged events come back oldest first; ``since`` is inclusive; devices are kept apart."""
    first, second = await add_devices(store, 2)
    async with store.transaction() as tx:
        late = await tx.add_device_event(first.id, EVENTS[1], description=None, ts=T0 + 5)
        early = await tx.add_device_event(first.id, EVENTS[0], description="Hot!", ts=T0)
        await tx.add_device_event(second.id, EVENTS[0], description=None, ts=T0)
    assert (early.device_id, early.event_id, early.code) == (first.id, 1, "overheat")
    assert (early.type, early.description, early.ts) == ("WARNING", "Hot!", T0)
    assert (late.type, late.description) == ("INFORMATION", None)
    assert early.id != late.id
    async with store.transaction() as tx:
        assert await tx.list_device_events(first.id, since=T0) == [early, late]
        assert await tx.list_device_events(first.id, since=T0 + 1) == [late]
        assert await tx.list_device_events(first.id, since=T0 + 6) == []
        assert await tx.count_device_events(first.id, since=T0) == 2
        assert await tx.count_device_events(first.id, since=T0 + 5) == 1
        assert await tx.count_device_events(second.id, since=0) == 1


async def test_hardware_info_is_replaced_and_loaded_back(store: Store) -> None:
    """``update_hardware_info`` replaces every field; the device and the catalog show it."""
    template = await add_template(store)
    device = await add_device(store, template, "token-1")
    full = HardwareInfo(
        version="1.0.0",
        fw_type="TMPLcontract1",
        blynk_version="1.3.2",
        board_type="ESP32",
        build="Jan  1 2025 10:00:00",
        template_code="TMPLcontract1",
    )
    async with store.transaction() as tx:
        await tx.update_hardware_info(device.id, full)
    async with store.transaction() as tx:
        found = await tx.find_device(device.token)
        assert found is not None
        assert found.hardware_info == full
        assert (await tx.load_catalog()).devices[0].hardware_info == full
    async with store.transaction() as tx:
        await tx.update_hardware_info(device.id, HardwareInfo(version="2.0.0"))
    async with store.transaction() as tx:
        found = await tx.find_device(device.token)
    assert found is not None
    assert found.hardware_info == HardwareInfo(version="2.0.0")


async def test_metafield_value_is_inserted_then_overwritten(store: Store) -> None:
    """``set_metafield_value`` adds a value without a default and overwrites a default one."""
    template = await add_template(store)
    device = await add_device(store, template, "token-1")
    async with store.transaction() as tx:
        await tx.set_metafield_value(device.id, 2, "Kitchen")
        await tx.set_metafield_value(device.id, 1, "SN-0002")
    expected = ((1, "SN-0002"), (2, "Kitchen"), (3, "60"))
    async with store.transaction() as tx:
        found = await tx.find_device(device.token)
        assert found is not None
        assert found.metafield_values == expected
        assert (await tx.load_catalog()).devices[0].metafield_values == expected


async def test_evicted_files_are_not_listed_but_still_counted(store: Store) -> None:
    """Files list oldest first without evicted ones; counts since a time include evicted ones."""
    first, second = await add_devices(store, 2)
    async with store.transaction() as tx:
        files = [
            await tx.add_device_file(
                first.id, original_name=f"photo{n}.jpg", stored_name=f"s{n}", created_at=T0 + n
            )
            for n in range(3)
        ]
        await tx.add_device_file(
            second.id, original_name="other.bin", stored_name="other", created_at=T0
        )
    assert files[0] == StoredFile(
        id=files[0].id,
        device_id=first.id,
        original_name="photo0.jpg",
        stored_name="s0",
        created_at=T0,
    )
    async with store.transaction() as tx:
        assert await tx.list_device_files(first.id) == files
        await tx.evict_device_file(files[1].id, ts=T0 + 10)
    async with store.transaction() as tx:
        assert await tx.list_device_files(first.id) == [files[0], files[2]]
        assert await tx.count_device_files(first.id, since=T0) == 3
        assert await tx.count_device_files(first.id, since=T0 + 1) == 2
        assert await tx.count_device_files(second.id, since=0) == 1
        assert await tx.count_device_files(DeviceId(404), since=0) == 0


async def test_transaction_rolls_back_on_an_exception(store: Store) -> None:
    """An exception inside ``transaction()`` leaves nothing written, then propagates."""
    (device,) = await add_devices(store, 1)

    class Boom(Exception):
        pass

    async def write_everything_then_fail() -> None:
        async with store.transaction() as tx:
            await tx.add_organization(name="Ghost", parent_id=None, description=None, created_at=0)
            await tx.append_points(
                [Point(device.id, COUNTER, T0, 1)], current=[Point(device.id, COUNTER, T0, 1)]
            )
            await tx.set_property(device.id, COUNTER, name="label", value='"x"', ts=T0)
            await tx.add_device_event(device.id, EVENTS[0], description=None, ts=T0)
            await tx.add_device_file(device.id, original_name="a", stored_name="a", created_at=T0)
            await tx.set_metafield_value(device.id, 2, "Ghost room")
            raise Boom

    with pytest.raises(Boom):
        await write_everything_then_fail()
    async with store.transaction() as tx:
        assert [org.name for org in (await tx.load_catalog()).organizations] == ["Acme"]
        assert await tx.count_points() == 0
        assert await tx.load_current_values() == []
        assert await tx.load_properties(device.id, COUNTER) == {}
        assert await tx.count_device_events(device.id, since=0) == 0
        assert await tx.count_device_files(device.id, since=0) == 0
        assert await tx.find_device(device.token) == device


async def test_checkpoint_keeps_committed_data(store: Store, append: Append) -> None:
    """``checkpoint`` runs between writes and loses nothing that was committed."""
    (device,) = await add_devices(store, 1)
    await append(store, [Point(device.id, COUNTER, T0, 1)], [Point(device.id, COUNTER, T0, 1)])
    await store.checkpoint()
    await append(store, [Point(device.id, COUNTER, T0 + 1, 2)], [])
    await store.checkpoint()
    async with store.transaction() as tx:
        assert await tx.count_points() == 2
        assert await tx.load_current_values() == [Point(device.id, COUNTER, T0, 1)]


async def test_close_releases_every_connection(settings: Settings) -> None:
    """After ``close`` the process holds no connection to the database."""
    store = await open_store(settings)
    (device,) = await add_devices(store, 1)
    await store.append_points([Point(device.id, COUNTER, T0, 1)], current=[])
    await store.checkpoint()
    assert await open_connections(settings) > 0
    await store.close()
    assert await open_connections(settings) == 0


async def open_connections(settings: Settings) -> int:
    """Connections this process holds to the test database.

    SQLite: open file descriptors on the database files. PostgreSQL: sessions on the database,
    seen from the maintenance database.
    """
    if settings.database_url is None:
        return open_files(settings.data_dir / SQLITE_FILE)
    url = make_url(settings.database_url)
    engine = create_async_engine(url.set(database="postgres"), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            count = await connection.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name"),
                {"name": url.database},
            )
    finally:
        await engine.dispose()
    return int(count or 0)


def open_files(database: Path) -> int:
    """File descriptors of this process on a SQLite database or its WAL and shared memory."""
    database = database.resolve()
    names = {str(database), f"{database}-wal", f"{database}-shm"}
    targets = []
    for descriptor in Path("/proc/self/fd").iterdir():
        # The descriptor that listed the folder is gone by the time it is read.
        with contextlib.suppress(FileNotFoundError):
            targets.append(os.readlink(descriptor))
    return sum(target in names for target in targets)
