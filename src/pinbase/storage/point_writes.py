"""The statements that append a group of points: raw history rows and per-minute aggregates.

Theory of operation. ``history_minutes`` holds one row per device, datastream and UTC minute
(``minute`` is the minute's start in ms): every point (``count``), the numeric ones
(``num_count``, ``min``, ``max``, ``sum``) and the newest point's ``last_ts`` with its text
(``last_text``: a text series keeps the last value of each minute, data-model.md open point 9).
The points a group appends to ``history`` are then folded into it by one statement, in the same
transaction: grouped by minute in SQL and merged into the stored rows with ``ON CONFLICT DO
UPDATE``. A group costs one statement however many points and minutes it holds, and an import
with old timestamps lands in its old minutes. Reports read these rows instead of raw points
(``services.reports``).

The fold reads its points from a subquery with the columns ``device_id, datastream_id, ts, num,
text, ord`` (``ord`` orders two points of one timestamp: the later one is the last, as in raw
reads). On SQLite that is the rows the raw insert just wrote, found by row id: one insert
statement under the write lock numbers its rows consecutively after the largest row id (SQLite's
row id rule while ids stay below 2**63), so they are the ids in ``(last - count, last]``.
Reading them back from the table costs less than decoding the group's JSON a second time
(0.55 ms against 1.1 ms per 192 points, on top of 2.3 ms for the raw insert).

On PostgreSQL a whole group is one statement (``POSTGRES_APPEND``), so one round trip and one
commit: the points are ``unnest`` over one array per column, and data-modifying ``WITH`` clauses
insert them into ``history`` and fold them into ``history_minutes`` (every clause runs exactly
once, on the same snapshot) while the statement itself raises the current values. Before it, an
executemany insert through SQLAlchemy, the fold and the current-value executemany cost a
node 180 µs of CPU per batch request and capped it at one commit in flight (issue #11).

Min and max merge with ``CASE``: SQLite's two-argument ``min()`` answers NULL if either side is
NULL (a minute of text has no minimum), and PostgreSQL spells it ``LEAST``.
"""

from collections.abc import Sequence
from typing import Any

from pinbase.domain.points import Point
from pinbase.storage.codec import dump_value, history_columns

HistoryColumns = tuple[int, int, int, float | None, str | None]
"""A point as the history table stores it: device, datastream, ts, num, text."""

SQLITE_INSERT_HISTORY = (
    "INSERT INTO history (device_id, datastream_id, ts, num, text) "
    "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?)"
)
"""The raw rows of a group, bound to one JSON array of ``HistoryColumns``: one statement step
instead of one per row, each of which would release and retake the GIL."""

_FOLD = """
INSERT INTO history_minutes
    (device_id, datastream_id, minute, count, num_count, min, max, sum, last_ts, last_text)
SELECT device_id, datastream_id, minute, COUNT(*), COUNT(num), MIN(num), MAX(num), SUM(num),
    MAX(ts), MAX(last_text)
FROM (
    SELECT device_id, datastream_id, ts, num, minute,
        FIRST_VALUE(text) OVER (
            PARTITION BY device_id, datastream_id, minute ORDER BY ts DESC, ord DESC
        ) AS last_text
    FROM (
        SELECT *, ts - ((ts % 60000) + 60000) % 60000 AS minute FROM ({points}) AS points
    ) AS stamped
) AS ranked
GROUP BY device_id, datastream_id, minute
ON CONFLICT (device_id, datastream_id, minute) DO UPDATE SET
    count = history_minutes.count + excluded.count,
    num_count = history_minutes.num_count + excluded.num_count,
    min = CASE WHEN history_minutes.min IS NULL OR excluded.min < history_minutes.min
        THEN excluded.min ELSE history_minutes.min END,
    max = CASE WHEN history_minutes.max IS NULL OR excluded.max > history_minutes.max
        THEN excluded.max ELSE history_minutes.max END,
    sum = COALESCE(history_minutes.sum + excluded.sum, history_minutes.sum, excluded.sum),
    last_ts = CASE WHEN excluded.last_ts >= history_minutes.last_ts
        THEN excluded.last_ts ELSE history_minutes.last_ts END,
    last_text = CASE WHEN excluded.last_ts >= history_minutes.last_ts
        THEN excluded.last_text ELSE history_minutes.last_text END
"""
# ``minute`` rounds down also before 1970 (``%`` truncates toward zero); ``MAX(last_text)``
# picks the one value the window gave every point of its minute.

SQLITE_FOLD = _FOLD.format(
    points="SELECT device_id, datastream_id, ts, num, text, id AS ord FROM history "
    "WHERE id > ? AND id <= ?"
)
"""The fold on SQLite, bound to ``sqlite_fold_bounds`` of the raw insert."""

_APPEND = """
WITH group_points AS (
    SELECT * FROM unnest($1::integer[], $2::integer[], $3::bigint[], $4::double precision[],
        $5::text[]) WITH ORDINALITY AS p(device_id, datastream_id, ts, num, text, ord)
), raw AS (
    INSERT INTO history (device_id, datastream_id, ts, num, text)
    SELECT device_id, datastream_id, ts, num, text FROM group_points ORDER BY ord
), minutes AS ({fold})
INSERT INTO current_values (device_id, datastream_id, ts, value)
SELECT DISTINCT ON (device_id, datastream_id) device_id, datastream_id, ts, value
FROM unnest($6::integer[], $7::integer[], $8::bigint[], $9::text[])
    WITH ORDINALITY AS c(device_id, datastream_id, ts, value, ord)
ORDER BY device_id, datastream_id, ts DESC, ord DESC
ON CONFLICT (device_id, datastream_id) DO UPDATE SET ts = excluded.ts, value = excluded.value
WHERE excluded.ts >= current_values.ts
"""

POSTGRES_APPEND = _APPEND.format(fold=_FOLD.format(points="SELECT * FROM group_points"))
"""A group on PostgreSQL, bound to ``postgres_append_arguments``: its points in ``history`` (ids
in the group's order, which orders two points of one timestamp), their minute aggregates, and
the current values raised where newer. ``DISTINCT ON`` keeps one current value per series (the
newest, the later of a tie, as one upsert per value in turn would), since one statement cannot
update a row twice; the fold already groups by its key."""


def sqlite_fold_bounds(last_row_id: int, count: int) -> tuple[int, int]:
    """The parameters of ``SQLITE_FOLD``: the row ids ``SQLITE_INSERT_HISTORY`` just wrote,
    from its cursor's ``lastrowid`` and ``rowcount``."""
    if count < 0:
        raise RuntimeError("the driver did not count the inserted history rows")
    return (last_row_id - count, last_row_id)


def postgres_append_arguments(
    points: Sequence[Point], current: Sequence[Point]
) -> tuple[list[Any], ...]:
    """The nine positional parameters of ``POSTGRES_APPEND``: the points' history columns as
    five arrays, then the current values' columns (device, datastream, ts, JSON value) as four."""
    device_ids: list[int] = []
    datastream_ids: list[int] = []
    stamps: list[int] = []
    nums: list[float | None] = []
    texts: list[str | None] = []
    for point in points:
        device_ids.append(point.device_id)
        datastream_ids.append(point.datastream_id)
        stamps.append(point.ts)
        num, text = history_columns(point.value)
        nums.append(num)
        texts.append(text)
    return (
        device_ids,
        datastream_ids,
        stamps,
        nums,
        texts,
        [p.device_id for p in current],
        [p.datastream_id for p in current],
        [p.ts for p in current],
        [dump_value(p.value) for p in current],
    )
