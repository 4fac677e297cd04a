"""The history part of the legacy import, on SQLite and PostgreSQL (legacy-import.md §3, §6)."""

import gzip
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from lhist_folder import (
    APP,
    DAY,
    FIXTURE,
    HOUR,
    MINUTE,
    NEW_YEAR,
    NOW,
    SANITIZED_EMAIL,
    build_history_folder,
    pack,
    write,
)

from pinbase.domain.datastreams import Datastream, DataType
from pinbase.domain.devices import Device
from pinbase.domain.ids import DatastreamId, Token
from pinbase.domain.pins import Pin, PinType
from pinbase.domain.templates import Template
from pinbase.domain.value_types import Value
from pinbase.runtime import open_store
from pinbase.services.legacy_history import (
    HistoryIssue,
    HistoryTarget,
    LegacyPin,
    import_history,
)
from pinbase.settings import Settings
from pinbase.storage.base import Store
from pinbase.storage.codec import history_value
from pinbase.storage.legacy_reporting import connect_arguments
from postgres import BACKENDS, create_database, drop_database, empty_database

V1 = Datastream(
    id=DatastreamId(1), label="Level", pin=Pin(PinType.VIRTUAL, 1), type=DataType.DOUBLE
)
V2 = Datastream(id=DatastreamId(2), label="Count", pin=Pin(PinType.VIRTUAL, 2), type=DataType.INT)
V3 = Datastream(id=DatastreamId(3), label="Text", pin=Pin(PinType.VIRTUAL, 3), type=DataType.STRING)
D13 = Datastream(id=DatastreamId(4), label="Led", pin=Pin(PinType.DIGITAL, 13), type=DataType.BOOL)
WHERE = Datastream(
    id=DatastreamId(5), label="Where", pin=Pin(PinType.VIRTUAL, 9), type=DataType.LOCATION
)
DATASTREAMS = (V1, V2, V3, D13, WHERE)

X, CAROL = "x@example.com", "carol@example.com"
B = "Blynk"


@pytest.fixture(params=BACKENDS)
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings naming an empty database: a SQLite file in ``tmp_path``, or a new PostgreSQL one."""
    async with empty_database(request, tmp_path) as settings:
        yield settings


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    """A migrated store on the fresh database, closed after the test."""
    opened = await open_store(settings)
    try:
        yield opened
    finally:
        await opened.close()


@dataclass(frozen=True, slots=True)
class Imported:
    """The Pinbase devices the profile import would have made, and the targets naming them."""

    devices: dict[str, Device]
    targets: dict[LegacyPin, HistoryTarget]


async def add_template(store: Store) -> Template:
    """An organization with one template holding every datastream of the tests."""
    async with store.transaction() as tx:
        org = await tx.add_organization(
            name="Legacy", parent_id=None, description=None, created_at=0
        )
        return await tx.add_template(
            org_id=org.id,
            code="TMPLlegacyhist",
            name="Legacy",
            description=None,
            datastreams=DATASTREAMS,
            events=(),
            metafields=(),
            created_at=0,
        )


@pytest.fixture
async def imported(store: Store) -> Imported:
    """Devices for the fixture folder's legacy devices, and the targets of their pins."""
    template = await add_template(store)
    devices: dict[str, Device] = {}
    for name in ("x-1-0", "x-1-1", "x-10-0", "app-3-0", "oneil-4-0", "carol-20-0", "c21a", "c21b"):
        async with store.transaction() as tx:
            devices[name] = await tx.add_device(
                org_id=template.org_id,
                template=template,
                name=name,
                token=Token(f"token-{name}"),
                created_at=0,
            )

    def target(device: str, datastream: Datastream) -> HistoryTarget:
        return HistoryTarget(devices[device].id, datastream)

    targets = {
        LegacyPin(X, B, 1, 0, "v", 1): target("x-1-0", V1),
        LegacyPin(X, B, 1, 0, "v", 9): target("x-1-0", WHERE),
        LegacyPin(X, B, 1, 1, "v", 2): target("x-1-1", V2),
        LegacyPin(X, B, 10, 0, "v", 1): target("x-10-0", V1),
        LegacyPin(X, APP, 3, 0, "v", 1): target("app-3-0", V1),
        LegacyPin(SANITIZED_EMAIL, B, 4, 0, "d", 13): target("oneil-4-0", D13),
        LegacyPin(CAROL, B, 20, 0, "v", 3): target("carol-20-0", V3),
        LegacyPin(CAROL, B, 21, 0, "v", 1): target("c21a", V1),
        LegacyPin(CAROL, B, 21, 1, "v", 1): target("c21b", V1),
    }
    return Imported(devices, targets)


async def series(store: Store, device: Device, datastream: Datastream) -> list[tuple[int, Value]]:
    """Every stored point of a series, oldest first, as (ts, value)."""
    async with store.transaction() as tx:
        rows = await tx.read_history(
            device.id, [datastream.id], since=0, until=NOW * 2, limit=10_000
        )
    return [(row.ts, history_value(datastream.type, row.num, row.text)) for row in rows]


EXPECTED_POINTS = 9 + 2 + 3 + 2 + 3 + 3
"""Every point ``test_fixture_folder_imports_every_series`` expects."""


async def test_fixture_folder_imports_every_series(store: Store, imported: Imported) -> None:
    """The §6 history folder imports as §3.3 says: priority merge, repaired files, all folders."""
    outcome = await import_history(store, FIXTURE, imported.targets, now_ms=NOW)
    devices, t = imported.devices, NEW_YEAR
    assert await series(store, devices["x-1-0"], V1) == [
        (t - 2 * DAY, 1.0),
        (t - DAY, 2.0),
        (t, 10.0),
        (t + HOUR, 11.0),
        *[(t + 10 * HOUR + n * MINUTE, 20.0 + n) for n in range(5)],
    ]
    assert await series(store, devices["x-1-1"], V2) == [(t, 2), (t + 2 * MINUTE, 4)]
    assert await series(store, devices["x-10-0"], V1) == [
        (t, 1.0),
        (t + MINUTE, 5.0),
        (t + 2 * MINUTE, 6.0),
    ]
    assert await series(store, devices["app-3-0"], V1) == [(t, 7.0), (t + HOUR, 8.0)]
    assert await series(store, devices["oneil-4-0"], D13) == [
        (t, True),
        (t + MINUTE, False),
        (t + 2 * MINUTE, True),
    ]
    assert await series(store, devices["carol-20-0"], V3) == [
        (t - DAY, "22"),
        (t, "21.5"),
        (t + 1000, "ON"),
    ]
    assert outcome.points == EXPECTED_POINTS
    torn = "data/x@example.com/history_1-1_v2_minute.bin"
    assert set(outcome.issues) == {
        HistoryIssue(
            "BIN_TRAILING_BYTES", torn, "size is not a multiple of 16: 7 trailing bytes dropped"
        ),
        HistoryIssue("BIN_NAN", torn, "1 NaN or infinite records dropped"),
        HistoryIssue(
            "BIN_DUPLICATE_TIMESTAMP",
            torn,
            "1 records replaced by a later one of the same timestamp",
        ),
        HistoryIssue(
            "ORPHAN_HISTORY",
            "data/x@example.com/history_1-9_v1_minute.bin",
            "device 9 of dashboard 1 was not imported",
        ),
        HistoryIssue(
            "ORPHAN_HISTORY",
            "data/x@example.com/history_2-0_v5_daily.bin",
            "dashboard 2 was not imported",
        ),
        HistoryIssue(
            "ORPHAN_HISTORY",
            "data/x@example.com/history_1-0_v7_minute.bin",
            "no datastream for pin v7 of device 0",
        ),
        HistoryIssue(
            "ORPHAN_HISTORY",
            "data/ghost@example.com/history_1-0_v1_minute.bin",
            "no imported user owns this folder",
        ),
        HistoryIssue(
            "CSV_SEVERAL_DEVICES",
            "data/carol@example.com/21_v1.csv",
            "dashboard 21 has 2 devices; a raw log names none",
        ),
        HistoryIssue(
            "CSV_BAD_LINES",
            "data/carol@example.com/20_v3-2020-12-31.csv.gz",
            "1 lines that are not value,timestamp dropped",
        ),
    }


async def test_minute_aggregates_and_current_values(store: Store, imported: Imported) -> None:
    """Imported points land in the minute aggregates too, and never become current values."""
    await import_history(store, FIXTURE, imported.targets, now_ms=NOW)
    device = imported.devices["x-1-0"]
    start = NEW_YEAR + 10 * HOUR
    async with store.transaction() as tx:
        minutes = await tx.read_minutes(device.id, [V1.id], since=start, until=start + HOUR)
        current = await tx.load_current_values()
        daily = await tx.read_minutes(device.id, [V1.id], since=0, until=NEW_YEAR)
    assert [(m.minute, m.count, m.total) for m in minutes] == [
        (start + n * MINUTE, 1, 20.0 + n) for n in range(5)
    ]
    assert [(m.minute, m.total) for m in daily] == [
        (NEW_YEAR - 2 * DAY, 1.0),
        (NEW_YEAR - DAY, 2.0),
    ]
    assert current == []


async def test_second_run_writes_nothing(store: Store, imported: Imported) -> None:
    """Running the import twice stores every point once (§5.4: idempotent)."""
    first = await import_history(store, FIXTURE, imported.targets, now_ms=NOW)
    second = await import_history(store, FIXTURE, imported.targets, now_ms=NOW)
    async with store.transaction() as tx:
        stored = await tx.count_points()
    assert (first.points, second.points, stored) == (EXPECTED_POINTS, 0, EXPECTED_POINTS)


class Interrupted(Exception):
    """Stands for the importer being stopped after some batches were committed."""


async def test_interrupted_run_resumes_without_duplicates(store: Store, imported: Imported) -> None:
    """A run stopped after a committed batch is finished by the next run, nothing twice."""
    reported: list[int] = []

    def stop_after_two_batches(count: int) -> None:
        reported.append(count)
        if len(reported) == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        await import_history(
            store,
            FIXTURE,
            imported.targets,
            now_ms=NOW,
            batch_points=4,
            progress=stop_after_two_batches,
        )
    resumed = await import_history(store, FIXTURE, imported.targets, now_ms=NOW, batch_points=4)
    async with store.transaction() as tx:
        stored = await tx.count_points()
    assert reported == [4, 4]
    assert (resumed.points, stored) == (EXPECTED_POINTS - 8, EXPECTED_POINTS)


async def test_progress_reports_each_batch(store: Store, imported: Imported) -> None:
    """``progress`` hears of every committed batch, which together make the whole import."""
    reported: list[int] = []
    outcome = await import_history(
        store, FIXTURE, imported.targets, now_ms=NOW, batch_points=5, progress=reported.append
    )
    assert reported == [5] * (EXPECTED_POINTS // 5) + [EXPECTED_POINTS % 5]
    assert sum(reported) == outcome.points


async def test_since_skips_older_points(store: Store, imported: Imported) -> None:
    """``since_ms`` (--history-since) leaves out every point before it."""
    outcome = await import_history(
        store, FIXTURE, imported.targets, now_ms=NOW, since_ms=NEW_YEAR + 10 * HOUR
    )
    assert outcome.points == 5
    assert [ts for ts, _ in await series(store, imported.devices["x-1-0"], V1)] == [
        NEW_YEAR + 10 * HOUR + n * MINUTE for n in range(5)
    ]


async def test_repaired_rejected_and_unreadable_files(
    store: Store, imported: Imported, tmp_path: Path
) -> None:
    """A trimmed file is read at its offset; garbage, a directory and a FIFO are reported."""
    folder = tmp_path / "legacy"
    x = "data/x@example.com"
    good = pack(*[(float(n), NEW_YEAR + n * MINUTE) for n in range(3)])
    write(folder, f"{x}/history_1-0_v1_minute.bin", b"\x01" * 5 + good)
    write(folder, f"{x}/history_1-1_v2_minute.bin", pack((1.0, 12345)))
    (folder / x / "history_10-0_v1_minute.bin").mkdir()
    os.mkfifo(folder / x / "history_10-0_v1_hourly.bin")  # read, it would block for good
    write(folder, "data/carol@example.com/20_v3-2020-12-30.csv.gz", b"not gzip")
    write(folder, f"{x}/history_1-0_v9_minute.bin", pack((1.0, NEW_YEAR)))
    write(folder, "data/not-a-user-folder", b"")
    stray = pack(*[(1.0, NEW_YEAR + n * HOUR) for n in range(150)], (2.0, NEW_YEAR + 1))
    write(folder, "data/o_neil_iot@example.com/history_4-0_d13_hourly.bin", stray)
    carol = "data/carol@example.com"
    write(folder, f"{carol}/99_v3.csv", f"1,{NEW_YEAR}\n".encode())
    write(folder, f"{carol}/20_v8.csv", f"1,{NEW_YEAR}\n".encode())
    write(folder, f"{carol}/20_v3.csv", f"\n1,{NEW_YEAR}\n2,12345\n".encode())
    outcome = await import_history(store, folder, imported.targets, now_ms=NOW)
    codes = sorted((issue.code, issue.path) for issue in outcome.issues)
    assert codes == [
        ("BIN_BAD_TIMESTAMP", "data/o_neil_iot@example.com/history_4-0_d13_hourly.bin"),
        ("BIN_REJECTED", f"{x}/history_1-1_v2_minute.bin"),
        ("BIN_SHIFTED", f"{x}/history_1-0_v1_minute.bin"),
        ("CSV_BAD_LINES", f"{carol}/20_v3.csv"),
        ("HISTORY_UNREADABLE", f"{carol}/20_v3-2020-12-30.csv.gz"),
        ("HISTORY_UNREADABLE", f"{x}/history_10-0_v1_hourly.bin"),
        ("HISTORY_UNREADABLE", f"{x}/history_10-0_v1_minute.bin"),
        ("HISTORY_VALUE_SKIPPED", f"{x}/history_1-0_v9_minute.bin"),
        ("ORPHAN_HISTORY", f"{carol}/20_v8.csv"),
        ("ORPHAN_HISTORY", f"{carol}/99_v3.csv"),
    ]
    assert outcome.points == 3 + 150 + 1


async def test_full_minute_file_imports_once(
    store: Store, imported: Imported, tmp_path: Path
) -> None:
    """A minute file of ten days (14,400 records, §3.1's retention) imports once, reruns clean."""
    records = [(float(n % 100), NEW_YEAR + n * MINUTE) for n in range(14_400)]
    write(tmp_path, "data/x@example.com/history_1-0_v1_minute.bin", pack(*records))
    first = await import_history(store, tmp_path, imported.targets, now_ms=NOW)
    second = await import_history(store, tmp_path, imported.targets, now_ms=NOW)
    async with store.transaction() as tx:
        stored = await tx.count_points()
    assert (first.points, second.points, stored) == (14_400, 0, 14_400)


async def test_folder_without_history_imports_nothing(
    store: Store, imported: Imported, tmp_path: Path
) -> None:
    """A folder with no ``data/`` (history was never kept) imports nothing and reports nothing."""
    outcome = await import_history(store, tmp_path, imported.targets, now_ms=NOW)
    assert (outcome.points, outcome.issues) == (0, ())


def test_committed_fixture_is_what_the_builder_writes(tmp_path: Path) -> None:
    """tests/fixtures/legacy/history holds exactly the bytes ``build_history_folder`` writes."""
    build_history_folder(tmp_path)

    def files(root: Path) -> dict[str, bytes]:
        return {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }

    assert files(tmp_path) == files(FIXTURE)
    rolled = FIXTURE / "data/carol@example.com/20_v3-2020-12-31.csv.gz"
    assert gzip.decompress(rolled.read_bytes()).startswith(b"22,")


REPORTING_SCHEMA = FIXTURE.parent / "reporting_schema.sql"
"""The legacy reporting tables (§3.2), created in a database of the test PostgreSQL server."""

RAW_INSERT = "INSERT INTO reporting_raw_data VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"


AVERAGE_INSERT = "INSERT INTO reporting_average_{} VALUES ($1, $2, $3, $4, $5, $6, $7)"


def average_insert(granularity: str) -> str:
    """The insert of one row of ``reporting_average_<granularity>``."""
    return AVERAGE_INSERT.format(granularity)


def naive(ms: int) -> datetime:
    """A ``timestamp`` column's value: UTC without a zone, as the legacy server wrote it."""
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def aware(ms: int) -> datetime:
    """A ``timestamptz`` column's value."""
    return datetime.fromtimestamp(ms / 1000, UTC)


@pytest.fixture
async def reporting(postgres_url: str) -> AsyncIterator[tuple[str, asyncpg.Connection]]:
    """A legacy reporting database (its DSN, and a connection to fill it), dropped afterwards."""
    url = await create_database(postgres_url)
    connection = await asyncpg.connect(connect_arguments(url))
    try:
        await connection.execute(REPORTING_SCHEMA.read_text())
        yield url, connection
    finally:
        await connection.close()
        await drop_database(url)


@pytest.mark.postgres
async def test_reporting_database_rows_join_the_files(
    store: Store, imported: Imported, reporting: tuple[str, asyncpg.Connection]
) -> None:
    """PG raw rows beat buckets, PG buckets fill what files lack, ordinals and naive stamps read."""
    dsn, db = reporting
    t = NEW_YEAR
    await db.executemany(
        RAW_INSERT,
        [
            (X, 1, 0, 1, "v", naive(t + 10 * HOUR + 30_000), None, 30.5),
            (X, 1, 0, 1, "v", naive(t + 10 * HOUR + 90_000), None, 31.5),
            (X, 1, 0, 1, "v", naive(t + 10 * HOUR + 120_000), "ON", None),
            (CAROL, 20, 0, 3, "v", naive(t + 5000), "hello", None),
            (X, 77, 0, 1, "v", naive(t), None, 1.0),
            ("X@Example.com", 3, 0, 1, "v", naive(t + 2 * HOUR), None, 9.0),
        ],
    )
    await db.executemany(
        average_insert("minute"),
        [
            (X, 1, 0, 1, 1, aware(t + 10 * HOUR), 99.0),
            (X, 1, 0, 1, 1, aware(t + 599 * MINUTE), 19.0),
        ],
    )
    await db.executemany(
        average_insert("hourly"),
        [
            (SANITIZED_EMAIL, 4, 0, 13, 0, aware(t - HOUR), 1.0),
            (X, 1, 0, 0, 2, aware(t), 5.0),
            (X, 1, 0, 1, 7, aware(t), 5.0),
        ],
    )
    await db.execute(average_insert("daily"), X, 1, 0, 1, 1, aware(t - 3 * DAY), 0.5)
    outcome = await import_history(store, FIXTURE, imported.targets, now_ms=NOW, pg_reporting=dsn)
    devices = imported.devices
    assert await series(store, devices["x-1-0"], V1) == [
        (t - 3 * DAY, 0.5),
        (t - 2 * DAY, 1.0),
        (t - DAY, 2.0),
        (t, 10.0),
        (t + HOUR, 11.0),
        (t + 599 * MINUTE, 19.0),
        (t + 10 * HOUR, 20.0),
        (t + 10 * HOUR + 30_000, 30.5),
        (t + 10 * HOUR + 90_000, 31.5),
    ]
    assert await series(store, devices["carol-20-0"], V3) == [
        (t - DAY, "22"),
        (t, "21.5"),
        (t + 1000, "ON"),
        (t + 5000, "hello"),
    ]
    assert await series(store, devices["app-3-0"], V1) == [
        (t, 7.0),
        (t + HOUR, 8.0),
        (t + 2 * HOUR, 9.0),
    ]
    assert (await series(store, devices["oneil-4-0"], D13))[0] == (t - HOUR, True)
    pg_issues = {issue for issue in outcome.issues if issue.path.startswith("pg:")}
    assert pg_issues == {
        HistoryIssue(
            "PG_UNKNOWN_PROJECT",
            "pg:reporting_raw_data",
            "1 rows of project 77 of x@example.com: no imported profile owns it",
        ),
        HistoryIssue(
            "ORPHAN_HISTORY",
            "pg:reporting_average_hourly",
            "1 rows: no datastream for pin a0 of device 0",
        ),
        HistoryIssue(
            "ORPHAN_HISTORY", "pg:reporting_average_hourly", "1 rows: pin type 7 is none of d, v, a"
        ),
        HistoryIssue(
            "HISTORY_VALUE_SKIPPED",
            "pg:reporting_raw_data",
            "1 values do not fit DOUBLE datastream 'Level'",
        ),
    }
    again = await import_history(store, FIXTURE, imported.targets, now_ms=NOW, pg_reporting=dsn)
    assert again.points == 0


def test_reporting_dsn_may_name_the_driver() -> None:
    """A SQLAlchemy URL and a plain libpq URL both reach asyncpg as a plain URL."""
    plain = "postgresql://legacy@db.example/blynk_reporting"
    assert connect_arguments("postgresql+asyncpg://legacy@db.example/blynk_reporting") == plain
    assert connect_arguments(plain) == plain


@pytest.mark.postgres
async def test_reporting_database_without_tables_gives_nothing(
    store: Store, imported: Imported, postgres_url: str, tmp_path: Path
) -> None:
    """A reporting database without the tables (raw storage was off) adds no point, no issue."""
    url = await create_database(postgres_url)
    try:
        outcome = await import_history(store, tmp_path, imported.targets, pg_reporting=url)
    finally:
        await drop_database(url)
    assert (outcome.points, outcome.issues) == (0, ())


@pytest.mark.postgres
async def test_reporting_rows_owned_twice_or_without_value_are_skipped(
    store: Store, imported: Imported, reporting: tuple[str, asyncpg.Connection], tmp_path: Path
) -> None:
    """Rows of a project two profiles of one email own, and NaN rows, are skipped, reported."""
    dsn, db = reporting
    targets = {
        **imported.targets,
        LegacyPin(X, APP, 10, 0, "v", 1): HistoryTarget(imported.devices["app-3-0"].id, V1),
    }
    await db.execute(RAW_INSERT, X, 10, 0, 1, "v", naive(NEW_YEAR + DAY), None, 1.0)
    await db.execute(average_insert("daily"), X, 1, 0, 1, 1, aware(NEW_YEAR), float("nan"))
    outcome = await import_history(store, tmp_path, targets, now_ms=NOW, pg_reporting=dsn)
    assert set(outcome.issues) == {
        HistoryIssue(
            "PG_AMBIGUOUS_PROJECT",
            "pg:reporting_raw_data",
            "1 rows of project 10 of x@example.com: several profiles of that email own it",
        ),
        HistoryIssue(
            "PG_BAD_ROWS",
            "pg:reporting_average_daily",
            "1 rows without a finite value or a plausible timestamp",
        ),
    }
    assert outcome.points == 0
