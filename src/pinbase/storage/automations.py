"""The automations' part of the storage contract (automations.md §3, migration 0013). No SQL
here; ``storage.sql_automations`` implements it.

The editable model travels as its JSON object (spec §3.1; ``domain.automations`` reads it), so
storage never depends on the model's details. What the engine persists so that a restart
neither re-fires nor forgets: ``armed`` (the edge-trigger state of Device State rules),
``last_fired_at`` (the last run, for the Limit Period) and ``last_slot_at`` (the last schedule or
sun slot handled), plus each pending WAIT continuation.
"""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredAutomation:
    id: int
    org_id: int
    owner_id: int | None
    name: str
    is_active: bool
    spec: dict[str, Any]
    created_at: int
    last_executed_at: int | None
    armed: bool
    last_fired_at: int | None
    last_slot_at: int | None
    opted_out: frozenset[int] = frozenset()
    """Devices switched out of it (``find_automation`` and ``list_automations`` fill it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationRun:
    """A run (or a skipped firing) of an automation; times are epoch ms."""

    id: int
    automation_id: int
    org_id: int
    trigger_kind: str
    trigger_device_id: int | None
    trigger_datastream_id: int | None
    trigger_value: str | None
    started_at: int
    finished_at: int | None
    status: str
    """``RUNNING`` (waiting in a WAIT), ``OK``, ``FAILED`` (an action failed) or ``SKIPPED``."""
    reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAutomationRun:
    """A run's log row to add (``add_automation_runs``); ``finished_at`` None while running."""

    automation_id: int
    org_id: int
    trigger_kind: str
    trigger_device_id: int | None
    trigger_datastream_id: int | None
    trigger_value: str | None
    started_at: int
    status: str
    reason: str | None = None
    finished_at: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionLogEntry:
    """One action of a run: ``status`` OK, FAILED or SKIPPED, with the reason."""

    run_id: int
    seq: int
    type: str
    device_id: int | None
    datastream_id: int | None
    value: str | None
    status: str
    reason: str | None
    ts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Continuation:
    """The rest of a run after a WAIT: from action ``step`` on, due at ``due_at``."""

    id: int
    automation_id: int
    run_id: int
    step: int
    due_at: int
    context: dict[str, Any]


class AutomationRepository(Protocol):
    """Automation reads and writes inside one transaction."""

    async def add_automation(
        self,
        *,
        org_id: int,
        owner_id: int | None,
        name: str,
        is_active: bool,
        spec: Mapping[str, Any],
        created_at: int,
    ) -> int:
        """Store a new automation, armed; return its id."""
        ...

    async def update_automation(
        self, automation_id: int, *, name: str, is_active: bool, spec: Mapping[str, Any]
    ) -> bool:
        """Replace an automation's model; it is re-armed. False when it is gone."""
        ...

    async def set_automation_active(self, automation_id: int, *, active: bool) -> bool:
        """Switch an automation on (re-armed) or off; False when it is gone."""
        ...

    async def delete_automation(self, automation_id: int) -> bool:
        """Delete an automation with its runs, action log and continuations."""
        ...

    async def find_automation(self, automation_id: int) -> StoredAutomation | None:
        """One automation, or None."""
        ...

    async def list_automations(self, org_ids: Collection[int] | None) -> list[StoredAutomation]:
        """The automations of ``org_ids`` (every one when None), by id."""
        ...

    async def count_automations(self, org_id: int) -> int:
        """How many automations the organization has."""
        ...

    async def save_automation_state(
        self,
        automation_id: int,
        *,
        armed: bool | None = None,
        last_fired_at: int | None = None,
        last_slot_at: int | None = None,
    ) -> None:
        """Persist the engine's state; None leaves a field as it is."""
        ...

    async def claim_automation_slot(self, automation_id: int, slot_at: int) -> bool:
        """Record that the time rule's slot ``slot_at`` runs (``last_slot_at``), unless that
        slot or a later one was claimed already: whether this caller may run it. Two nodes
        claiming one slot at once: exactly one wins (issue #11)."""
        ...

    async def save_automation_states(self, states: Sequence[tuple[int, bool, int | None]]) -> None:
        """Persist the arming of many Device State rules in one statement: (automation id,
        armed, last fired at); a None last firing leaves it as it is."""
        ...

    async def add_automation_run(
        self,
        *,
        automation_id: int,
        org_id: int,
        trigger_kind: str,
        trigger_device_id: int | None,
        trigger_datastream_id: int | None,
        trigger_value: str | None,
        started_at: int,
        status: str,
        reason: str | None = None,
        finished_at: int | None = None,
    ) -> int:
        """Start a run's log row; return its id. A run sets the automation's last execution."""
        ...

    async def add_automation_runs(self, runs: Sequence[NewAutomationRun]) -> list[int]:
        """Add many runs' log rows in a few statements; their ids, in order. A run that is not
        skipped sets its automation's last execution (the latest start of the batch)."""
        ...

    async def finish_automation_run(self, run_id: int, *, status: str, finished_at: int) -> None:
        """Close a run with its outcome."""
        ...

    async def add_action_log(self, entries: Sequence[ActionLogEntry]) -> None:
        """Log actions of runs."""
        ...

    async def list_automation_runs(
        self, automation_id: int, *, since: int, until: int, limit: int
    ) -> list[AutomationRun]:
        """Runs started in ``[since, until)``, newest first."""
        ...

    async def list_action_log(self, run_ids: Collection[int]) -> list[ActionLogEntry]:
        """The action rows of ``run_ids``, by run and seq."""
        ...

    async def add_continuation(
        self,
        *,
        automation_id: int,
        run_id: int,
        step: int,
        due_at: int,
        context: Mapping[str, Any],
    ) -> int:
        """Store a pending continuation; return its id."""
        ...

    async def due_continuations(self, now: int, *, limit: int) -> list[Continuation]:
        """Continuations due at ``now`` or before, oldest first."""
        ...

    async def next_continuation_due(self) -> int | None:
        """When the next continuation is due, or None."""
        ...

    async def delete_continuation(self, continuation_id: int) -> bool:
        """Take one continuation away; True only for the call that found it."""
        ...

    async def cancel_continuations(self, automation_id: int, *, finished_at: int) -> int:
        """Drop an automation's pending continuations and close their runs as ``CANCELLED``;
        how many there were."""
        ...

    async def set_automation_opt_out(
        self, automation_id: int, device_id: int, *, opted_out: bool
    ) -> None:
        """Switch a device out of (or back into) an automation."""
        ...

    async def list_automation_opt_outs(
        self, automation_ids: Collection[int] | None
    ) -> list[tuple[int, int]]:
        """(automation id, device id) of every device switched out, of ``automation_ids`` (all
        when None)."""
        ...

    async def delete_automation_runs_before(self, ts: int) -> int:
        """Retention: drop runs (and their actions) started before ``ts``; how many."""
        ...
