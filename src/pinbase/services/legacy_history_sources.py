"""Where a series' legacy history comes from: the index of files and reporting series, and
reading them (legacy-import.md §3.1, §3.2, §3.4), for ``services.legacy_history``.

``SourcePlan`` first indexes what there is without reading a value: the history file names
under ``FOLDER/data`` (``index_folder``) and the series of the reporting tables
(``index_reporting``), each resolved to the Pinbase series its legacy pin maps to, or reported.
``read_series`` then reads one series' files and rows into one candidate series per source.
The contract values ``LegacyPin``, ``HistoryTarget`` and ``HistoryIssue`` live here and are
exported by ``services.legacy_history``.
"""

import gzip
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
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
    parse_csv_line,
    parse_csv_name,
    parse_file_name,
    read_records,
    resolve_folder,
)
from pinbase.storage.legacy_reporting import ReportingDatabase, ReportingKey

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
class BinFile:
    """A ``history_*.bin`` file of a series: its parsed name, where it is, its report path."""

    name: HistoryFileName
    file: Path
    path: str


@dataclass(frozen=True, slots=True)
class CsvFile:
    """A raw CSV log of a series (§3.4), gzip-compressed when rolled."""

    file: Path
    path: str
    compressed: bool


@dataclass(slots=True)
class SeriesSources:
    """What one Pinbase series is built from: its files and reporting series, not yet read."""

    target: HistoryTarget
    bins: list[BinFile] = field(default_factory=list)
    csvs: list[CsvFile] = field(default_factory=list)
    reporting: list[ReportingKey] = field(default_factory=list)


@dataclass(slots=True)
class CandidateValues:
    """One series' candidate values, one stamp → value map per source, and the first file (or
    table) each source was read from, for the report."""

    by_source: dict[Source, dict[int, float | str]] = field(
        default_factory=lambda: {source: {} for source in Source}
    )
    paths: dict[Source, str] = field(default_factory=dict)

    def of(self, source: Source, path: str) -> dict[int, float | str]:
        """The stamp → value map of ``source``, noting ``path`` if it is the source's first."""
        self.paths.setdefault(source, path)
        return self.by_source[source]


class SourcePlan:
    """The sources of every series, and the issues met while indexing and reading them."""

    def __init__(self, targets: Mapping[LegacyPin, HistoryTarget], now_ms: int) -> None:
        self.targets = targets
        self.now_ms = now_ms
        self.issues: list[HistoryIssue] = []
        self.series: dict[SeriesKey, SeriesSources] = {}
        self.users = sorted({(pin.email, pin.app_name) for pin in targets})
        self.dashboards: dict[tuple[str, str, int], set[int]] = defaultdict(set)
        for pin in targets:
            self.dashboards[(pin.email, pin.app_name, pin.dash_id)].add(pin.device_id)
        self.bad_rows: Counter[str] = Counter()

    def report(self, code: str, path: str, detail: str) -> None:
        """Add an issue to the import report."""
        self.issues.append(HistoryIssue(code, path, detail))

    def series_of(self, pin: LegacyPin) -> SeriesSources:
        """The sources of the series ``pin`` maps to."""
        target = self.targets[pin]
        key = (target.device_id, int(target.datastream.id))
        found = self.series.get(key)
        if found is None:
            found = self.series[key] = SeriesSources(target)
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


def index_folder(plan: SourcePlan, folder: Path, user_folder: Path) -> None:
    """Index the history files and raw logs of one reporting folder (``FOLDER/data/<name>``)."""
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
                plan.series_of(found).bins.append(BinFile(name, file, path))
            continue
        csv_name = parse_csv_name(file.name)
        if csv_name is not None:
            _index_csv(plan, users, csv_name, file, path)


def _index_csv(
    plan: SourcePlan, users: Iterable[tuple[str, str]], name: CsvFileName, file: Path, path: str
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
    plan.series_of(found).csvs.append(CsvFile(file, path, name.compressed))


def index_reporting(plan: SourcePlan, keys: Iterable[ReportingKey]) -> None:
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


async def read_series(
    plan: SourcePlan, series: SeriesSources, database: ReportingDatabase | None
) -> CandidateValues:
    """Every candidate value of one series: files first, so a file wins a stamp over a PG row
    (§3.3: the disk minute file over the minute table), and of the files, the old names first,
    so the renamed file wins a stamp both hold."""
    values = CandidateValues()
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


def _read_bin(plan: SourcePlan, binary: BinFile) -> tuple[tuple[int, float], ...]:
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


def _read_csv(plan: SourcePlan, csv: CsvFile, series: dict[int, float | str]) -> None:
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
