"""The retention part of the storage contract: finding series and deleting their old rows.

No SQL here; ``storage.sql_retention`` implements it. Both aged tables are walked one series
(device, datastream) at a time through the index that starts with those two columns, so a
delete is a range scan of one series and finding the next series is one index seek, with no
index on time alone: that would cost every group commit one more B-tree insert.
"""

from enum import Enum
from typing import Protocol

from pinbase.domain.ids import DatastreamId, DeviceId

SeriesKey = tuple[DeviceId, DatastreamId]
"""One series: the points of one datastream of one device."""


class Aged(Enum):
    """A table whose rows retention deletes by age."""

    POINTS = "history"
    """Raw history points, aged by their ``ts``."""
    MINUTES = "history_minutes"
    """Per-minute aggregates, aged by the start of their ``minute``."""


class RetentionRepository(Protocol):
    """Retention queries inside one transaction."""

    async def next_series(self, table: Aged, *, after: SeriesKey | None) -> SeriesKey | None:
        """The first series holding rows in ``table`` after ``after`` (None: from the start),
        in (device, datastream) order; None past the last."""
        ...

    async def delete_older(self, table: Aged, series: SeriesKey, *, before: int, limit: int) -> int:
        """Delete up to ``limit`` rows of the series older than ``before`` (ms), oldest first;
        return how many went."""
        ...
