"""The history writer: points and current values stored in group commits.

Every value write goes through ``write``, which returns once the points are committed together
with those of every concurrent request (``services.group_commit``), so an acknowledged value
survives ``kill -9`` (tests/e2e/test_durability.py). Outbox deliveries the points caused (a
webhook call per write, automations.md §5.1) commit in the same transaction as the points.
"""

from collections.abc import Sequence

from pinbase.domain.deliveries import Delivery
from pinbase.domain.points import Point
from pinbase.services.group_commit import GroupCommit, StorageUnavailable
from pinbase.storage.base import Store

__all__ = ["MAX_GROUP_POINTS", "HistoryWriter", "StorageUnavailable"]

MAX_GROUP_POINTS = 100_000
"""Upper bound of points in one transaction, so one huge group cannot stall the rest for long."""


class HistoryWriter:
    """Writes history points and current values in group commits."""

    def __init__(self, store: Store, *, groups_in_flight: int = 1) -> None:
        """``groups_in_flight`` group commits may run at once (``GroupCommit``'s
        ``max_in_flight``): one for SQLite's single writer, more where the database commits
        concurrent transactions side by side (``runtime.groups_in_flight``)."""
        self._store = store
        self._groups = GroupCommit(
            self._commit,
            name="history-writer",
            max_items=MAX_GROUP_POINTS,
            max_in_flight=groups_in_flight,
        )

    def start(self) -> None:
        """Start the writer task on the running loop."""
        self._groups.start()

    async def stop(self) -> None:
        """Commit everything pending, then end the writer task."""
        await self._groups.stop()

    async def write(self, points: Sequence[Point], deliveries: Sequence[Delivery] = ()) -> None:
        """Store ``points`` and ``deliveries`` in one transaction; return once committed.

        Raises:
            StorageUnavailable: the group holding these points failed to commit.
        """
        await self._groups.submit(points, deliveries)

    async def _commit(self, points: list[Point], deliveries: list[Delivery]) -> None:
        """One group: every point in history, the newest of each datastream as current value,
        and the group's deliveries in the outbox."""
        newest: dict[tuple[int, int], Point] = {}
        for point in points:
            key = (point.device_id, point.datastream_id)
            known = newest.get(key)
            if known is None or point.ts >= known.ts:
                newest[key] = point
        await self._store.append_points(
            points, current=list(newest.values()), deliveries=deliveries
        )
