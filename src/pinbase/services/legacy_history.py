"""The history part of ``pinbase import-legacy``: legacy history into Pinbase points.

legacy-import.md §3. The reporting worker's ``history_*.bin`` files under ``FOLDER/data``, the
raw CSV logs of servers up to 0.21.x and, with ``--pg-reporting``, the rows of the PostgreSQL
reporting database become history points of the devices and datastreams the profile import
created; the importer names them in ``targets``. Files and rows nobody maps are orphans,
reported and skipped.

Theory of operation. ``import_history`` first indexes what there is: the history file names
under ``FOLDER/data`` and the series of the reporting tables, each resolved to the Pinbase
series (device, datastream) its legacy pin maps to, without reading any value. Then it takes
one Pinbase series at a time: reads its files and its reporting rows into one candidate series
per source (raw: PG raw rows and CSV lines; minute, hourly, daily: the files, then PG rows for
the stamps the files lack), builds the series with ``merge_by_priority`` (§3.3), converts it
to the datastream's type and writes it through ``Store.append_points``: the bulk path for
back-dated points, which writes the raw rows and the minute aggregates in one committed group
and no current value (§3.3: history never changes the current value). No quota applies and
nothing reaches the bus, automations or devices. Memory holds one series at a time, however
large the folder or the database.

Reruns. Before a series is written, the stamps it already holds in the imported span are read
back and skipped, so a second run writes nothing and a run cut short resumes where its last
committed batch ended (§5.4 step 4).
"""

import gzip
import logging
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

from pinbase.domain.datastreams import Datastream
from pinbase.domain.ids import DeviceId
from pinbase.domain.legacy_history_files import (
    EARLIEST_TS,
    FUTURE_SLACK_MS,
    CsvFileName,
    Granularity,
    HistoryFileName,
    Source,
    UnreadableFile,
    convert,
    merge_by_priority,
    parse_csv_line,
    parse_csv_name,
    parse_file_name,
    read_records,
    resolve_folder,
)
from pinbase.domain.points import Point
from pinbase.domain.value_types import Value
from pinbase.storage.base import Store
from pinbase.storage.legacy_reporting import ReportingDatabase, ReportingKey, open_reporting

logger = logging.getLogger(__name__)

BATCH_POINTS = 5000
"""Points per committed group: one minute file of a week is about two groups."""

EXISTING_PAGE = 10_000
"""Stored points read back per query when looking for what an earlier run wrote."""

REPORTING_ROOT = "data"
"""The legacy reporting root inside FOLDER (§1.1): ``<data.folder>/data``."""

_GRANULARITY_SOURCE = {
    Granularity.MINUTE: Source.MINUTE,
    Granularity.HOURLY: Source.HOURLY,
    Granularity.DAILY: Source.DAILY,
}

SeriesKey = tuple[DeviceId, int]
"""A Pinbase series: device id and datastream id."""


@dataclass(frozen=True, slots=True)
class LegacyPin:
    """One legacy pin of one legacy device (legacy-import.md §1.5, "Device identity")."""

    email: str
    """Lower-cased."""
    app_name: str
    """``Blynk`` for the stock app."""
    dash_id: int
    device_id: int
    pin_type: str
    """``v``, ``d`` or ``a``."""
    pin: int


@dataclass(frozen=True, slots=True)
class HistoryTarget:
    """The Pinbase series a legacy pin's history goes to."""

    device_id: DeviceId
    datastream: Datastream


@dataclass(frozen=True, slots=True)
class HistoryIssue:
    """One thing the history import skipped or repaired, for the import report (§5.4 step 5).

    ``code`` is stable (``ORPHAN_HISTORY``, ``BIN_TRAILING_BYTES``, ``BIN_NAN``, ...; the list
    is in docs/legacy-history.md); ``path`` is the file relative to FOLDER, or ``pg:<table>``.
    """

    code: str
    path: str
    detail: str


@dataclass(frozen=True, slots=True)
class HistoryOutcome:
    """What ``import_history`` wrote and what it reported."""

    points: int
    issues: tuple[HistoryIssue, ...]


@dataclass(frozen=True, slots=True)
class _BinFile:
    name: HistoryFileName
    file: Path
    path: str


@dataclass(frozen=True, slots=True)
class _CsvFile:
    file: Path
    path: str
    compressed: bool


@dataclass(slots=True)
class _Series:
    """What one Pinbase series is built from: its files and reporting series, not yet read."""

    target: HistoryTarget
    bins: list[_BinFile] = field(default_factory=list)
    csvs: list[_CsvFile] = field(default_factory=list)
    reporting: list[ReportingKey] = field(default_factory=list)


@dataclass(slots=True)
class _Values:
    """One series' candidate values, one stamp → value map per source, and the first file (or
    table) each source was read from, for the report."""

    by_source: dict[Source, dict[int, float | str]] = field(
        default_factory=lambda: {source: {} for source in Source}
    )
    paths: dict[Source, str] = field(default_factory=dict)

    def of(self, source: Source, path: str) -> dict[int, float | str]:
        self.paths.setdefault(source, path)
        return self.by_source[source]


class _Plan:
    """The sources of every series, and the issues met while indexing and reading them."""

    def __init__(self, targets: Mapping[LegacyPin, HistoryTarget], now_ms: int) -> None:
        self.targets = targets
        self.now_ms = now_ms
        self.issues: list[HistoryIssue] = []
        self.series: dict[SeriesKey, _Series] = {}
        self.users = sorted({(pin.email, pin.app_name) for pin in targets})
        self.dashboards: dict[tuple[str, str, int], set[int]] = defaultdict(set)
        for pin in targets:
            self.dashboards[(pin.email, pin.app_name, pin.dash_id)].add(pin.device_id)
        self.bad_rows: Counter[str] = Counter()

    def report(self, code: str, path: str, detail: str) -> None:
        self.issues.append(HistoryIssue(code, path, detail))

    def series_of(self, pin: LegacyPin) -> _Series:
        """The sources of the series ``pin`` maps to."""
        target = self.targets[pin]
        key = (target.device_id, int(target.datastream.id))
        found = self.series.get(key)
        if found is None:
            found = self.series[key] = _Series(target)
        return found

    def find_pin(
        self, users: Iterable[tuple[str, str]], dash_id: int, device_id: int, letter: str, pin: int
    ) -> LegacyPin | str:
        """The mapped pin of the first user that has it, else why none has (for the report):
        the closest miss, a missing pin before a missing device before a missing dashboard."""
        reasons = [(0, "no imported user owns this folder")]
        for email, app_name in users:
            legacy = LegacyPin(email, app_name, dash_id, device_id, letter, pin)
            if legacy in self.targets:
                return legacy
            devices = self.dashboards.get((email, app_name, dash_id))
            if devices is None:
                reasons.append((1, f"dashboard {dash_id} was not imported"))
            elif device_id not in devices:
                reasons.append((2, f"device {device_id} of dashboard {dash_id} was not imported"))
            else:
                reasons.append((3, f"no datastream for pin {letter}{pin} of device {device_id}"))
        return max(reasons, key=lambda reason: reason[0])[1]


async def import_history(
    store: Store,
    folder: Path,
    targets: Mapping[LegacyPin, HistoryTarget],
    *,
    since_ms: int | None = None,
    progress: Callable[[int], None] | None = None,
    pg_reporting: str | None = None,
    now_ms: int | None = None,
    batch_points: int = BATCH_POINTS,
) -> HistoryOutcome:
    """Import the history of a legacy data folder (and reporting database) into ``store``.

    Args:
        store: the Pinbase database.
        folder: the legacy data folder (FOLDER); only read.
        targets: the series each legacy pin's history goes to.
        since_ms: skip points older than this (``--history-since``).
        progress: called with the number of points just written.
        pg_reporting: the DSN of the legacy PostgreSQL reporting database (``--pg-reporting``),
            read only.
        now_ms: the present, for §3.1's plausibility check of stamps; the system clock by
            default.
        batch_points: points per committed group (and per ``progress`` call).

    Raises:
        OSError, asyncpg.PostgresError: the reporting database cannot be read.
    """
    plan = _Plan(targets, now_ms if now_ms is not None else int(time.time() * 1000))
    root = folder / REPORTING_ROOT
    if root.is_dir():
        for user_folder in sorted(root.iterdir()):
            if user_folder.is_dir():
                _index_folder(plan, folder, user_folder)
    async with AsyncExitStack() as stack:
        database = None
        if pg_reporting is not None:
            database = await stack.enter_async_context(open_reporting(pg_reporting))
            _index_reporting(plan, await database.keys())
        written = await _write(
            store, plan, database, since_ms=since_ms, progress=progress, batch=batch_points
        )
    for table, count in sorted(plan.bad_rows.items()):
        plan.report(
            "PG_BAD_ROWS", table, f"{count} rows without a finite value or a plausible timestamp"
        )
    logger.info(
        "legacy_history.imported series=%d points=%d issues=%d",
        len(plan.series),
        written,
        len(plan.issues),
    )
    return HistoryOutcome(points=written, issues=tuple(plan.issues))


def _index_folder(plan: _Plan, folder: Path, user_folder: Path) -> None:
    users = resolve_folder(user_folder.name, plan.users)
    try:
        files = sorted(user_folder.iterdir())
    except OSError as error:
        path = user_folder.relative_to(folder).as_posix()
        plan.report("HISTORY_UNREADABLE", path, error.strerror or str(error))
        return
    for file in files:
        path = file.relative_to(folder).as_posix()
        name = parse_file_name(file.name)
        if (name is not None or parse_csv_name(file.name) is not None) and not file.is_file():
            # A directory or a FIFO under a history name: reading a FIFO would block for good.
            plan.report("HISTORY_UNREADABLE", path, "not a regular file")
            continue
        if name is not None:
            found = plan.find_pin(users, name.dash_id, name.device_id, name.pin_type, name.pin)
            if isinstance(found, str):
                plan.report("ORPHAN_HISTORY", path, found)
            else:
                plan.series_of(found).bins.append(_BinFile(name, file, path))
            continue
        csv_name = parse_csv_name(file.name)
        if csv_name is not None:
            _index_csv(plan, users, csv_name, file, path)


def _index_csv(
    plan: _Plan, users: Iterable[tuple[str, str]], name: CsvFileName, file: Path, path: str
) -> None:
    """A raw CSV log names no device: it is the dashboard's one device, or it is reported."""
    owners = [user for user in users if (*user, name.dash_id) in plan.dashboards]
    if not owners:
        plan.report("ORPHAN_HISTORY", path, f"dashboard {name.dash_id} was not imported")
        return
    devices = plan.dashboards[(*owners[0], name.dash_id)]
    if len(devices) != 1:
        plan.report(
            "CSV_SEVERAL_DEVICES",
            path,
            f"dashboard {name.dash_id} has {len(devices)} devices; a raw log names none",
        )
        return
    found = plan.find_pin(owners[:1], name.dash_id, min(devices), name.pin_type, name.pin)
    if isinstance(found, str):
        plan.report("ORPHAN_HISTORY", path, found)
        return
    plan.series_of(found).csvs.append(_CsvFile(file, path, name.compressed))


def _index_reporting(plan: _Plan, keys: Iterable[ReportingKey]) -> None:
    """Series of the reporting database, resolved to a profile by (email, project) (§3.2)."""
    unknown: Counter[tuple[str, str, int]] = Counter()
    ambiguous: Counter[tuple[str, str, int]] = Counter()
    orphans: Counter[tuple[str, str]] = Counter()
    for key in keys:
        table = f"pg:{key.table}"
        apps = [
            app
            for email, app in plan.users
            if email == key.email and (email, app, key.project_id) in plan.dashboards
        ]
        if not apps:
            unknown[(table, key.email, key.project_id)] += key.rows
            continue
        if len(apps) > 1:
            ambiguous[(table, key.email, key.project_id)] += key.rows
            continue
        if key.pin_type is None:
            orphans[(table, f"pin type {key.stored_pin_type} is none of d, v, a")] += key.rows
            continue
        found = plan.find_pin(
            [(key.email, apps[0])], key.project_id, key.device_id, key.pin_type, key.pin
        )
        if isinstance(found, str):
            orphans[(table, found)] += key.rows
            continue
        plan.series_of(found).reporting.append(key)
    for (table, email, project), count in sorted(unknown.items()):
        plan.report(
            "PG_UNKNOWN_PROJECT",
            table,
            f"{count} rows of project {project} of {email}: no imported profile owns it",
        )
    for (table, email, project), count in sorted(ambiguous.items()):
        plan.report(
            "PG_AMBIGUOUS_PROJECT",
            table,
            f"{count} rows of project {project} of {email}: several profiles of that email own it",
        )
    for (table, reason), count in sorted(orphans.items()):
        plan.report("ORPHAN_HISTORY", table, f"{count} rows: {reason}")


async def _read_series(plan: _Plan, series: _Series, database: ReportingDatabase | None) -> _Values:
    """Every candidate value of one series: files first, so a file wins a stamp over a PG row
    (§3.3: the disk minute file over the minute table), and of the files, the old names first,
    so the renamed file wins a stamp both hold."""
    values = _Values()
    for binary in sorted(series.bins, key=lambda item: (item.name.has_device, item.path)):
        records = _read_bin(plan, binary)
        if records:
            source = _GRANULARITY_SOURCE[binary.name.granularity]
            values.of(source, binary.path).update(records)
    for csv in sorted(series.csvs, key=lambda item: item.path):
        _read_csv(plan, csv, values.of(Source.RAW, csv.path))
    if database is not None:
        for key in series.reporting:
            table = f"pg:{key.table}"
            taken = values.of(key.source, table)
            async for ts, value in database.points(key):
                if (
                    value is None
                    or (isinstance(value, float) and not math.isfinite(value))
                    or not _plausible_raw(ts, plan.now_ms)
                ):
                    plan.bad_rows[table] += 1
                    continue
                taken.setdefault(ts, value)
    return values


def _read_bin(plan: _Plan, binary: _BinFile) -> tuple[tuple[int, float], ...]:
    path = binary.path
    try:
        data = binary.file.read_bytes()
    except OSError as error:
        plan.report("HISTORY_UNREADABLE", path, error.strerror or str(error))
        return ()
    try:
        records = read_records(data, binary.name.granularity, now_ms=plan.now_ms)
    except UnreadableFile as error:
        plan.report("BIN_REJECTED", path, str(error))
        return ()
    if records.shifted:
        plan.report(
            "BIN_SHIFTED", path, f"read from offset {records.skipped_bytes}: leading bytes dropped"
        )
    elif records.skipped_bytes:
        plan.report(
            "BIN_TRAILING_BYTES",
            path,
            f"size is not a multiple of 16: {records.skipped_bytes} trailing bytes dropped",
        )
    if records.not_finite:
        plan.report("BIN_NAN", path, f"{records.not_finite} NaN or infinite records dropped")
    if records.bad_stamps:
        plan.report(
            "BIN_BAD_TIMESTAMP",
            path,
            f"{records.bad_stamps} records with a misaligned or out-of-range timestamp dropped",
        )
    if records.duplicates:
        plan.report(
            "BIN_DUPLICATE_TIMESTAMP",
            path,
            f"{records.duplicates} records replaced by a later one of the same timestamp",
        )
    return records.points


def _read_csv(plan: _Plan, csv: _CsvFile, series: dict[int, float | str]) -> None:
    try:
        data = csv.file.read_bytes()
        text = (gzip.decompress(data) if csv.compressed else data).decode("utf-8", "replace")
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        plan.report("HISTORY_UNREADABLE", csv.path, str(error))
        return
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        parsed = parse_csv_line(line)
        if parsed is None or not _plausible_raw(parsed[0], plan.now_ms):
            bad += 1
            continue
        series.setdefault(*parsed)
    if bad:
        plan.report("CSV_BAD_LINES", csv.path, f"{bad} lines that are not value,timestamp dropped")


def _plausible_raw(ts: int, now_ms: int) -> bool:
    return EARLIEST_TS <= ts <= now_ms + FUTURE_SLACK_MS


async def _write(
    store: Store,
    plan: _Plan,
    database: ReportingDatabase | None,
    *,
    since_ms: int | None,
    progress: Callable[[int], None] | None,
    batch: int,
) -> int:
    pending: list[Point] = []
    written = 0

    async def flush() -> None:
        nonlocal written
        if pending:
            await store.append_points(pending, current=())
            written += len(pending)
            if progress is not None:
                progress(len(pending))
            pending.clear()

    for key in sorted(plan.series):
        series = plan.series[key]
        target = series.target
        candidates = await _read_series(plan, series, database)
        values = _converted(plan, target, candidates, since_ms=since_ms)
        if not values:
            continue
        stored = await _stored_stamps(store, target, since=values[0][0], until=values[-1][0] + 1)
        for ts, value in values:
            if ts not in stored:
                pending.append(Point(target.device_id, target.datastream.id, ts, value))
                if len(pending) >= batch:
                    await flush()
    await flush()
    return written


def _converted(
    plan: _Plan, target: HistoryTarget, candidates: _Values, *, since_ms: int | None
) -> list[tuple[int, Value]]:
    """The series built by priority (§3.3) in the datastream's type, from ``since_ms`` on;
    values that do not fit are counted per source and reported."""
    merged = merge_by_priority(
        (source, sorted(points.items())) for source, points in candidates.by_source.items()
    )
    skipped: Counter[Source] = Counter()
    values: list[tuple[int, Value]] = []
    for ts, raw, source in merged:
        if since_ms is not None and ts < since_ms:
            continue
        value = convert(target.datastream.type, raw)
        if value is None:
            skipped[source] += 1
            continue
        values.append((ts, value))
    for source, count in sorted(skipped.items(), key=lambda item: item[0].value):
        plan.report(
            "HISTORY_VALUE_SKIPPED",
            candidates.paths[source],
            f"{count} values do not fit {target.datastream.type.value} datastream "
            f"{target.datastream.label!r}",
        )
    return values


async def _stored_stamps(
    store: Store, target: HistoryTarget, *, since: int, until: int
) -> set[int]:
    """The stamps the series already holds in [since, until): an earlier run's points."""
    stamps: set[int] = set()
    while since < until:
        async with store.transaction() as tx:
            rows = await tx.read_history(
                target.device_id,
                [target.datastream.id],
                since=since,
                until=until,
                limit=EXISTING_PAGE,
            )
        stamps.update(row.ts for row in rows)
        if len(rows) < EXISTING_PAGE:
            break
        since = rows[-1].ts + 1
    return stamps
