"""Read-only access to a legacy server's PostgreSQL reporting database (legacy-import.md §3.2).

The legacy server wrote every device write to ``reporting_raw_data`` (when raw storage was on)
and its minute, hourly and daily averages to ``reporting_average_*``. The importer first lists
the series each table holds (``keys``: one grouped scan, nothing kept but the keys), then reads
one series at a time through a server-side cursor ordered by time (``points``: the primary key's
order, so an index range scan), so its memory is one series however large the database. All of
it runs in one read-only, repeatable-read transaction: one consistent snapshot, and nothing is
ever written to the legacy database (§0).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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

# The legacy schema creates its columns unquoted, so ``pinType`` is stored as ``pintype``.
_RAW_KEYS = (
    "SELECT email, project_id, device_id, pin, pintype, count(*) FROM reporting_raw_data "
    "GROUP BY email, project_id, device_id, pin, pintype"
)
_RAW_POINTS = (
    "SELECT ts, stringvalue, doublevalue FROM reporting_raw_data WHERE email = $1 "
    "AND project_id = $2 AND device_id = $3 AND pin = $4 AND pintype = $5 ORDER BY ts"
)
_AVERAGE_KEYS = (
    "SELECT email, project_id, device_id, pin, pin_type, count(*) FROM {table} "
    "GROUP BY email, project_id, device_id, pin, pin_type"
)
_AVERAGE_POINTS = (
    "SELECT ts, value FROM {table} WHERE email = $1 AND project_id = $2 AND device_id = $3 "
    "AND pin = $4 AND pin_type = $5 ORDER BY ts"
)

FETCH_ROWS = 5000
"""Rows a server-side cursor fetches per round trip: a few hundred kB."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportingKey:
    """One series of one reporting table, in legacy terms.

    ``email`` is lower-cased and ``pin_type`` a letter (None for an ordinal the legacy server
    never wrote); ``stored_email`` and ``stored_pin_type`` are the column values, to read the
    series back.
    """

    source: Source
    email: str
    project_id: int
    device_id: int
    pin_type: str | None
    pin: int
    rows: int
    stored_email: str
    stored_pin_type: str | int

    @property
    def table(self) -> str:
        """The table the series is in."""
        return TABLES[self.source]


class ReportingDatabase:
    """An open, read-only view of a reporting database (``open_reporting``)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def keys(self) -> list[ReportingKey]:
        """Every series of every reporting table the database has (absent tables are skipped:
        raw storage was optional)."""
        keys: list[ReportingKey] = []
        for source, table in TABLES.items():
            if await self._connection.fetchval("SELECT to_regclass($1)", table) is None:
                continue
            query = _RAW_KEYS if source is Source.RAW else _AVERAGE_KEYS.format(table=table)
            for email, project, device, pin, pin_type, rows in await self._connection.fetch(query):
                letter = (
                    str(pin_type).lower()
                    if source is Source.RAW
                    else PIN_TYPE_ORDINALS.get(pin_type)
                )
                keys.append(
                    ReportingKey(
                        source=source,
                        email=str(email).lower(),
                        project_id=project,
                        device_id=device,
                        pin_type=letter,
                        pin=pin,
                        rows=rows,
                        stored_email=email,
                        stored_pin_type=pin_type,
                    )
                )
        return keys

    async def points(self, key: ReportingKey) -> AsyncIterator[tuple[int, float | str | None]]:
        """The (ts, value) rows of one series, oldest first. A raw row's value is its double,
        else its text; naive ``timestamp`` values are UTC, as the legacy server wrote them."""
        arguments = (key.stored_email, key.project_id, key.device_id, key.pin, key.stored_pin_type)
        if key.source is Source.RAW:
            cursor = self._connection.cursor(_RAW_POINTS, *arguments, prefetch=FETCH_ROWS)
            async for ts, text, double in cursor:
                yield (to_ms(ts), double if double is not None else text)
        else:
            query = _AVERAGE_POINTS.format(table=key.table)
            async for ts, value in self._connection.cursor(query, *arguments, prefetch=FETCH_ROWS):
                yield (to_ms(ts), value)


def connect_arguments(dsn: str) -> str:
    """The DSN asyncpg takes: a SQLAlchemy-style ``postgresql+asyncpg://`` loses its driver."""
    scheme, separator, rest = dsn.partition("://")
    if separator and "+" in scheme:
        return f"{scheme.partition('+')[0]}://{rest}"
    return dsn


@asynccontextmanager
async def open_reporting(dsn: str) -> AsyncIterator[ReportingDatabase]:
    """Open the reporting database at ``dsn`` read-only, for the length of the block.

    Raises:
        OSError, asyncpg.PostgresError: the database cannot be reached or read.
    """
    connection = await asyncpg.connect(connect_arguments(dsn))
    try:
        async with connection.transaction(readonly=True, isolation="repeatable_read"):
            yield ReportingDatabase(connection)
    finally:
        await connection.close()


def to_ms(moment: datetime) -> int:
    """Unix milliseconds of a timestamp; a naive one is UTC (§3.2)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MILLISECOND
