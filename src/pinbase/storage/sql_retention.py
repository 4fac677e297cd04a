"""SQL for ``RetentionRepository``: a mixin of ``SqlTransaction`` over its ``self._db``.

``next_series`` compares row values, ``(device_id, datastream_id) > (?, ?)``, which SQLite and
PostgreSQL both answer with one seek into ``ix_history_series`` or the primary key of
``history_minutes``. ``delete_older`` deletes by key through a limited subquery, the portable
form of a bounded ``DELETE`` (neither dialect takes ``DELETE … LIMIT`` by default).
"""

from sqlalchemy import Column, Table, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.storage import schema
from pinbase.storage.retention import Aged, SeriesKey

_AGE: dict[Aged, tuple[Table, str]] = {
    Aged.POINTS: (schema.history, "ts"),
    Aged.MINUTES: (schema.history_minutes, "minute"),
}
"""Each aged table with the column holding its rows' time."""


class SqlRetentionQueries:
    """Retention queries over ``self._db``, an ``AsyncConnection``."""

    _db: AsyncConnection

    async def next_series(self, table: Aged, *, after: SeriesKey | None) -> SeriesKey | None:
        """The first series holding rows in ``table`` after ``after`` (None: from the start),
        in (device, datastream) order; None past the last."""
        rows, _ = _AGE[table]
        key = tuple_(rows.c.device_id, rows.c.datastream_id)
        query = select(rows.c.device_id, rows.c.datastream_id).order_by(
            rows.c.device_id, rows.c.datastream_id
        )
        if after is not None:
            query = query.where(key > tuple_(*after))
        found = (await self._db.execute(query.limit(1))).first()
        return None if found is None else (DeviceId(found[0]), DatastreamId(found[1]))

    async def delete_older(self, table: Aged, series: SeriesKey, *, before: int, limit: int) -> int:
        """Delete up to ``limit`` rows of the series older than ``before`` (ms), oldest first;
        return how many went."""
        rows, age_column = _AGE[table]
        age: Column[int] = rows.c[age_column]
        in_series = (rows.c.device_id == series[0], rows.c.datastream_id == series[1])
        # The series' key plus the column that tells its rows apart: the row id of a point,
        # the minute of an aggregate (the last column of its primary key).
        row_key = rows.c.id if table is Aged.POINTS else age
        oldest = select(row_key).where(*in_series, age < before).order_by(age).limit(limit)
        result = await self._db.execute(delete(rows).where(*in_series, row_key.in_(oldest)))
        return int(result.rowcount)
