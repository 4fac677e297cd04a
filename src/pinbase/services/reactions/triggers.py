"""The write path's hook for rules that react to stored values (webhooks, automations.md §4.2).

``Telemetry.record`` asks its ``WriteTriggers`` which deliveries a write causes and commits them
in the write's own group transaction (``HistoryWriter.write``), so a committed value never loses
its webhook call and a kill -9 loses no due call. The call sits on every device write: an
implementation answers with a dictionary lookup when no rule watches the written datastreams,
and renders what it returns without I/O.
"""

from collections.abc import Sequence
from typing import Protocol

from pinbase.domain.datastreams import Datastream
from pinbase.domain.deliveries import Delivery
from pinbase.domain.devices import Device
from pinbase.domain.value_types import Value


class WriteTriggers(Protocol):
    """Which deliveries a write of values causes."""

    def deliveries_for(
        self,
        device: Device,
        writes: Sequence[tuple[Datastream, Value]],
        *,
        ts: int,
        origin: str,
    ) -> list[Delivery]:
        """The deliveries to commit with ``writes`` of ``device`` stored under ``ts`` by
        ``origin``; empty, and cheap, when no rule watches them."""
        ...


class NoTriggers:
    """No rules: a write never causes a delivery."""

    def deliveries_for(
        self,
        device: Device,
        writes: Sequence[tuple[Datastream, Value]],
        *,
        ts: int,
        origin: str,
    ) -> list[Delivery]:
        """Nothing, always."""
        return []
