"""SQL for the history reads of ``Transaction``: a mixin of ``SqlTransaction`` over ``self._db``.

Raw points are read through ``ix_history_series`` (device, datastream, ts; SQLite appends the
row id to every index entry), so a series read is a range scan in index order and never sorts.
Minute aggregates are read by their primary key, which has the same order.

Chart buckets (``read_point_buckets``, ``read_minute_buckets``) are folded in SQL, so a chart of
three months reads 90 rows per series instead of 129,600 minute rows: the bucket number is
``(ts - since) / bucket_ms``, integer division of non-negative integers on both dialects.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, ColumnElement, Select, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.storage import schema
from pinbase.storage.base import BucketRow, HistoryRow, MinuteRow
from pinbase.storage.codec import unescape_text


class SqlHistoryQueries:
    """History and minute-aggregate queries over ``self._db``, an ``AsyncConnection``."""

    _db: AsyncConnection

    async def count_points(self) -> int:
        """How many history points are stored in all."""
        return int(await self._db.scalar(select(func.count()).select_from(schema.history)) or 0)

    async def read_history(
        self,
        device_id: DeviceId,
        datastream_ids: Sequence[DatastreamId],
        *,
        since: int,
        until: int,
        limit: int,
    ) -> list[HistoryRow]:
        """History points of some datastreams of a device with since <= ts < until, oldest first."""
        table = schema.history
        rows = await self._db.execute(
            select(table.c.datastream_id, table.c.ts, table.c.num, table.c.text)
            .where(
                table.c.device_id == device_id,
                table.c.datastream_id.in_(datastream_ids),
                table.c.ts >= since,
                table.c.ts < until,
            )
            .order_by(table.c.ts, table.c.id)
            .limit(limit)
        )
        return _history_rows(rows)

    async def read_history_page(
        self,
        device_id: DeviceId,
        datastream_id: DatastreamId,
        *,
        since: int,
        until: int,
        offset: int,
        limit: int,
    ) -> list[HistoryRow]:
        """A page of one series with since <= ts < until, newest first (ties: newest row first)."""
        table = schema.history
        rows = await self._db.execute(
            select(table.c.datastream_id, table.c.ts, table.c.num, table.c.text)
            .where(
                table.c.device_id == device_id,
                table.c.datastream_id == datastream_id,
                table.c.ts >= since,
                table.c.ts < until,
            )
            .order_by(table.c.ts.desc(), table.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return _history_rows(rows)

    async def count_history(
        self, device_id: DeviceId, datastream_id: DatastreamId, *, since: int, until: int
    ) -> int:
        """How many points of a series have since <= ts < until."""
        table = schema.history
        count = await self._db.scalar(
            select(func.count()).where(
                table.c.device_id == device_id,
                table.c.datastream_id == datastream_id,
                table.c.ts >= since,
                table.c.ts < until,
            )
        )
        return int(count or 0)

    async def read_minutes(
        self,
        device_id: DeviceId,
        datastream_ids: Sequence[DatastreamId],
        *,
        since: int,
        until: int,
    ) -> list[MinuteRow]:
        """Minute aggregates of some series with since <= minute < until, oldest first."""
        table = schema.history_minutes
        rows = await self._db.execute(
            select(
                table.c.datastream_id,
                table.c.minute,
                table.c.count,
                table.c.num_count,
                table.c.min,
                table.c.max,
                table.c.sum,
            )
            .where(
                table.c.device_id == device_id,
                table.c.datastream_id.in_(datastream_ids),
                table.c.minute >= since,
                table.c.minute < until,
            )
            .order_by(table.c.minute, table.c.datastream_id)
        )
        # Unpacked by position: ``Row.count`` is the tuple method, not the column.
        return [
            MinuteRow(
                datastream_id=DatastreamId(datastream_id),
                minute=minute,
                count=count,
                num_count=num_count,
                low=low,
                high=high,
                total=total,
            )
            for datastream_id, minute, count, num_count, low, high, total in rows
        ]

    async def read_point_buckets(
        self,
        device_id: DeviceId,
        datastream_ids: Sequence[DatastreamId],
        *,
        since: int,
        until: int,
        bucket_ms: int,
    ) -> list[BucketRow]:
        """Raw points with since <= ts < until folded into buckets starting at ``since``."""
        table = schema.history
        inner = _bucketed(
            table.c.ts,
            (literal(1), table.c.num, table.c.num, table.c.num),
            device_id,
            datastream_ids,
            since=since,
            until=until,
            bucket_ms=bucket_ms,
        ).where(table.c.num.is_not(None))
        return await self._fold_buckets(inner, since, bucket_ms)

    async def read_minute_buckets(
        self,
        device_id: DeviceId,
        datastream_ids: Sequence[DatastreamId],
        *,
        since: int,
        until: int,
        bucket_ms: int,
    ) -> list[BucketRow]:
        """Minute aggregates with since <= minute < until folded into buckets from ``since``."""
        table = schema.history_minutes
        inner = _bucketed(
            table.c.minute,
            (table.c.num_count, table.c.min, table.c.max, table.c.sum),
            device_id,
            datastream_ids,
            since=since,
            until=until,
            bucket_ms=bucket_ms,
        ).where(table.c.num_count > 0)
        return await self._fold_buckets(inner, since, bucket_ms)

    async def _fold_buckets(
        self, inner: Select[Any], since: int, bucket_ms: int
    ) -> list[BucketRow]:
        """Group ``inner``'s rows (datastream, bucket, count, low, high, total) by bucket."""
        rows = inner.subquery()
        grouped = await self._db.execute(
            select(
                rows.c.datastream_id,
                rows.c.bucket,
                func.sum(rows.c.count),
                func.min(rows.c.low),
                func.max(rows.c.high),
                func.sum(rows.c.total),
            )
            .group_by(rows.c.datastream_id, rows.c.bucket)
            .order_by(rows.c.datastream_id, rows.c.bucket)
        )
        return [
            BucketRow(
                datastream_id=DatastreamId(datastream_id),
                start=since + int(bucket) * bucket_ms,
                count=int(count),
                low=low,
                high=high,
                total=total,
            )
            for datastream_id, bucket, count, low, high, total in grouped
        ]


def _bucketed(
    ts: Column[int],
    measures: tuple[ColumnElement[Any], ColumnElement[Any], ColumnElement[Any], ColumnElement[Any]],
    device_id: DeviceId,
    datastream_ids: Sequence[DatastreamId],
    *,
    since: int,
    until: int,
    bucket_ms: int,
) -> Select[Any]:
    """The rows of ``ts``'s table with since <= ts < until, as the (datastream, bucket, count,
    low, high, total) that ``_fold_buckets`` groups; ``measures`` are the last four."""
    table = ts.table
    origin, width = literal(since, BigInteger), literal(bucket_ms, BigInteger)
    count, low, high, total = measures
    return select(
        table.c.datastream_id,
        ((ts - origin) // width).label("bucket"),
        count.label("count"),
        low.label("low"),
        high.label("high"),
        total.label("total"),
    ).where(
        table.c.device_id == device_id,
        table.c.datastream_id.in_(datastream_ids),
        ts >= since,
        ts < until,
    )


def _history_rows(rows: Iterable[tuple[int, int, float | None, str | None]]) -> list[HistoryRow]:
    """``HistoryRow`` values of ``(datastream_id, ts, num, text)`` rows.

    Unpacked by position: a day of points is 86,400 rows, and ``Row`` attribute lookups took a
    third of a DEV-08 RAW_DATA export's time (bench/history.py). Text is unescaped here, at the
    storage boundary (``codec.escape_text``); the test for a backslash skips the call for most.
    """
    return [
        HistoryRow(
            datastream_id=DatastreamId(datastream_id),
            ts=ts,
            num=num,
            text=unescape_text(text) if text and "\\" in text else text,
        )
        for datastream_id, ts, num, text in rows
    ]
