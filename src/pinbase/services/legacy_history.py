"""The history part of ``pinbase import-legacy``: legacy history files into Pinbase points.

legacy-import.md §3: the reporting worker's ``history_*.bin`` files under ``FOLDER/data``
become history points of the devices and datastreams the profile import created; the importer
names them in ``targets``. Files nobody maps are orphans, reported and skipped.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pinbase.domain.datastreams import Datastream
from pinbase.domain.ids import DeviceId
from pinbase.storage.base import Store


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

    ``code`` is stable (``ORPHAN_HISTORY``, ``BIN_TRAILING_BYTES``, ``BIN_NAN``, ...); ``path``
    is the file relative to FOLDER.
    """

    code: str
    path: str
    detail: str


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
) -> HistoryOutcome:
    """Import the history files of a legacy data folder into ``store``.

    Args:
        store: the Pinbase database.
        folder: the legacy data folder (FOLDER); only read.
        targets: the series each legacy pin's history goes to.
        since_ms: skip points older than this (``--history-since``).
        progress: called with the number of points just written.
    """
    return HistoryOutcome(points=0, issues=())
