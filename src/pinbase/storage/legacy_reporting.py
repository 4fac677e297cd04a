"""Read-only access to a legacy server's PostgreSQL reporting database (legacy-import.md §3.2).

The legacy server wrote every device write to ``reporting_raw_data`` (when raw storage was on)
and its minute, hourly and daily averages to ``reporting_average_*``. The importer reads them
once, through a server-side cursor per table ordered by series and time, in a read-only
transaction: it never writes to the legacy databases (§0).
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from pinbase.domain.legacy_history_files import Source

PIN_TYPE_ORDINALS = {0: "d", 1: "v", 2: "a"}
"""``reporting_average_*.pin_type`` is the Java enum's ordinal: DIGITAL, VIRTUAL, ANALOG (§3.2)."""

TABLES = {
    Source.RAW: "reporting_raw_data",
    Source.MINUTE: "reporting_average_minute",
    Source.HOURLY: "reporting_average_hourly",
    Source.DAILY: "reporting_average_daily",
}

_RAW_QUERY = (
    "SELECT email, project_id, device_id, pin, pintype, ts, stringvalue, doublevalue "
    "FROM reporting_raw_data ORDER BY email, project_id, device_id, pin, ts"
)
# The legacy schema creates its columns unquoted, so ``pinType`` is stored as ``pintype``.

_AVERAGE_QUERY = (
    "SELECT email, project_id, device_id, pin, pin_type, ts, value "
    "FROM {table} ORDER BY email, project_id, device_id, pin, ts"
)

FETCH_ROWS = 5000
"""Rows a server-side cursor fetches per round trip: a few hundred kB."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportingRow:
    """One row of a reporting table, in legacy terms; ``value`` is a double or raw text."""

    source: Source
    email: str
    project_id: int
    device_id: int
    pin_type: str
    pin: int
    ts: int
    value: float | str | None


def connect_arguments(dsn: str) -> str:
    """The DSN asyncpg takes: a SQLAlchemy-style ``postgresql+asyncpg://`` loses its driver."""
    scheme, separator, rest = dsn.partition("://")
    if separator and "+" in scheme:
        return f"{scheme.partition('+')[0]}://{rest}"
    return dsn


async def read_reporting(dsn: str) -> AsyncIterator[ReportingRow]:
    """Every raw and average row of the reporting database at ``dsn``, table by table.

    Tables the database does not have are skipped (raw storage was optional). Naive
    ``timestamp`` values are UTC, as the legacy server wrote them (§3.2).

    Raises:
        OSError, asyncpg.PostgresError: the database cannot be reached or read.
    """
    connection = await asyncpg.connect(connect_arguments(dsn))
    try:
        async with connection.transaction(readonly=True, isolation="repeatable_read"):
            for source, table in TABLES.items():
                if await connection.fetchval("SELECT to_regclass($1)", table) is None:
                    continue
                if source is Source.RAW:
                    cursor = connection.cursor(_RAW_QUERY, prefetch=FETCH_ROWS)
                    async for row in cursor:
                        yield _raw_row(row)
                else:
                    query = _AVERAGE_QUERY.format(table=table)
                    async for row in connection.cursor(query, prefetch=FETCH_ROWS):
                        pin_type = PIN_TYPE_ORDINALS.get(row["pin_type"])
                        if pin_type is None:
                            continue
                        yield ReportingRow(
                            source=source,
                            email=str(row["email"]).lower(),
                            project_id=row["project_id"],
                            device_id=row["device_id"],
                            pin_type=pin_type,
                            pin=row["pin"],
                            ts=to_ms(row["ts"]),
                            value=row["value"],
                        )
    finally:
        await connection.close()


def _raw_row(row: asyncpg.Record) -> ReportingRow:
    double, text = row["doublevalue"], row["stringvalue"]
    return ReportingRow(
        source=Source.RAW,
        email=str(row["email"]).lower(),
        project_id=row["project_id"],
        device_id=row["device_id"],
        pin_type=str(row["pintype"] or "").lower(),
        pin=row["pin"],
        ts=to_ms(row["ts"]),
        value=double if double is not None else text,
    )


def to_ms(moment: datetime) -> int:
    """Unix milliseconds of a timestamp; a naive one is UTC (§3.2)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MILLISECOND
