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

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from pinbase.domain.legacy_history_files import Source, convert, merge_by_priority
from pinbase.domain.points import Point
from pinbase.domain.value_types import Value
from pinbase.services.legacy_history_sources import (
    CandidateValues,
    HistoryIssue,
    HistoryTarget,
    LegacyPin,
    SourcePlan,
    index_folder,
    index_reporting,
    read_series,
)
from pinbase.storage.base import Store
from pinbase.storage.legacy_reporting import ReportingDatabase, open_reporting

__all__ = [
    "HistoryIssue",
    "HistoryOutcome",
    "HistoryTarget",
    "LegacyPin",
    "import_history",
]

logger = logging.getLogger(__name__)

BATCH_POINTS = 5000
"""Points per committed group: one minute file of a week is about two groups."""

EXISTING_PAGE = 10_000
"""Stored points read back per query when looking for what an earlier run wrote."""

REPORTING_ROOT = "data"
"""The legacy reporting root inside FOLDER (§1.1): ``<data.folder>/data``."""


@dataclass(frozen=True, slots=True)
class HistoryOutcome:
    """What ``import_history`` wrote and what it reported."""

    points: int
    issues: tuple[HistoryIssue, ...]


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
    plan = SourcePlan(targets, now_ms if now_ms is not None else int(time.time() * 1000))
    root = folder / REPORTING_ROOT
    if root.is_dir():
        for user_folder in sorted(root.iterdir()):
            if user_folder.is_dir():
                index_folder(plan, folder, user_folder)
    async with AsyncExitStack() as stack:
        database = None
        if pg_reporting is not None:
            database = await stack.enter_async_context(open_reporting(pg_reporting))
            index_reporting(plan, await database.keys())
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


async def _write(
    store: Store,
    plan: SourcePlan,
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
        candidates = await read_series(plan, series, database)
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
    plan: SourcePlan, target: HistoryTarget, candidates: CandidateValues, *, since_ms: int | None
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
