"""Automations as use cases: list, read, create, update, delete, enable/disable, execute a scene,
stop pending runs, read the run log (automations.md §3). The console's JSON API, the Platform
API's PLT-ORG-07 and the provisioning file are thin adapters over these calls.

Scope. Every call takes the caller; an automation of an organization outside the caller's scope
is answered exactly like a missing one (``AutomationNotFound``). On save, every device the
automation names must be one the caller may see, in the automation's organization or below;
the operator, operand and values are checked against the datastream's type (§3.4, §3.5).
Permissions per role (View, Create, Edit, Delete, Execute, §3.8) are the adapter's to check: the
console maps them onto its role keys.

The model is the spec §3.1 JSON (``domain.automations``); ``AutomationView.to_json`` renders it.
"""

from dataclasses import dataclass, replace
from typing import Any, Protocol

from pinbase.domain.automation_checks import check_automation_references
from pinbase.domain.automations import (
    Automation,
    AutomationSpec,
    InvalidAutomation,
    Scene,
    automation_json,
    check_count,
    parse_automation,
    referenced_devices,
    referenced_segments,
    spec_json,
)
from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.templates import Template
from pinbase.services.clock import Clock
from pinbase.services.datastream_values import Controller
from pinbase.services.directory import BoundDevice, Directory
from pinbase.services.reactions.automation_engine import (
    AutomationEngine,
    RuleState,
    read_stored,
)
from pinbase.services.reactions.automation_runs import AutomationRunner, Trigger
from pinbase.services.scope import Scoped
from pinbase.services.segments import SegmentNotFound, Segments
from pinbase.storage.automations import ActionLogEntry, AutomationRun
from pinbase.storage.base import Store

MAX_RUNS_PAGE = 1_000


class AutomationNotFound(PinbaseError):
    """No such automation in the caller's scope; ``args[0]`` is the id asked for."""


class NotAScene(PinbaseError):
    """Only a Scene automation runs by hand ("Execute automation", spec §3.7)."""


class AutomationCaller(Controller, Protocol):
    """Who edits automations: a scope, device rights and (for the owner field) a user."""

    @property
    def user_id(self) -> int | None:
        """The person acting, who becomes the owner of what it creates; None for a client."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RunLog:
    """A run with its action rows, as the console's log shows it."""

    run: AutomationRun
    actions: tuple[ActionLogEntry, ...]

    def to_json(self) -> dict[str, Any]:
        """The JSON of one log entry (spec §3.7 names)."""
        run = self.run
        return {
            "id": run.id,
            "automationId": run.automation_id,
            "triggerKind": run.trigger_kind,
            "triggerDeviceId": run.trigger_device_id,
            "triggerDataStreamId": run.trigger_datastream_id,
            "triggerValue": run.trigger_value,
            "startedAt": run.started_at,
            "finishedAt": run.finished_at,
            "status": run.status,
            "reason": run.reason,
            "actions": [
                {
                    "seq": a.seq,
                    "type": a.type,
                    "deviceId": a.device_id,
                    "dataStreamId": a.datastream_id,
                    "value": a.value,
                    "status": a.status,
                    "reason": a.reason,
                    "ts": a.ts,
                }
                for a in self.actions
            ],
        }


class Automations:
    """The automation use cases; owns the engine's view of what is saved."""

    def __init__(
        self,
        *,
        store: Store,
        directory: Directory,
        engine: AutomationEngine,
        runner: AutomationRunner,
        clock: Clock,
        max_per_org: int,
        max_actions: int,
        segments: Segments | None = None,
    ) -> None:
        self._segments = segments
        self._store = store
        self._directory = directory
        self._engine = engine
        self._runner = runner
        self._clock = clock
        self._max_per_org = max_per_org
        self._max_actions = max_actions

    async def start(self) -> None:
        """Load every stored automation into the engine and start it."""
        async with self._store.transaction() as tx:
            stored = await tx.list_automations(None)
        await self._engine.start(
            [
                (
                    read_stored(row),
                    RuleState(armed=row.armed, last_fired_at=row.last_fired_at),
                    row.last_slot_at,
                )
                for row in stored
            ]
        )

    async def stop(self) -> None:
        """Stop the engine."""
        await self._engine.stop()

    async def lead(self) -> None:
        """Run the time rules (Schedule, Sunrise/Sunset) until cancelled: the job of the
        installation's leader (``services.leadership``)."""
        await self._engine.lead()

    async def list_automations(
        self, caller: Scoped, *, org_id: int | None = None
    ) -> list[Automation]:
        """The automations of one organization (``org_id``, default the caller's own), by id.

        Raises:
            AutomationNotFound: ``org_id`` is outside the caller's scope (args[0] is None).
        """
        org = caller.org_id if org_id is None else OrgId(org_id)
        if not caller.can_see(org):
            raise AutomationNotFound(None)
        async with self._store.transaction() as tx:
            return [read_stored(row) for row in await tx.list_automations([org])]

    async def list_in_scope(self, caller: Scoped) -> list[Automation]:
        """Every automation of the caller's organization and those below it, by id."""
        async with self._store.transaction() as tx:
            return [read_stored(row) for row in await tx.list_automations(caller.scope)]

    async def using_device(self, caller: Scoped, device_id: int) -> list[Automation]:
        """The automations of the caller's scope whose condition or actions name the device
        (the device page's AUTOMATIONS list, spec §3.7), by id."""
        return [
            automation
            for automation in await self.list_in_scope(caller)
            if device_id in referenced_devices(automation.spec)
        ]

    async def get(self, caller: Scoped, automation_id: int) -> Automation:
        """One automation.

        Raises:
            AutomationNotFound.
        """
        async with self._store.transaction() as tx:
            stored = await tx.find_automation(automation_id)
        if stored is None or not caller.can_see(OrgId(stored.org_id)):
            raise AutomationNotFound(automation_id)
        return read_stored(stored)

    async def create(
        self, caller: AutomationCaller, data: object, *, org_id: int | None = None
    ) -> Automation:
        """Save a new automation of ``org_id`` (default the caller's own), owned by the caller.

        Raises:
            InvalidAutomation: the model is invalid, names a device or datastream the caller
                cannot use, or a limit is reached (``Automations limit reached``, ``Actions
                limit reached``).
            AutomationNotFound: ``org_id`` is outside the caller's scope (args[0] is None).
        """
        org = caller.org_id if org_id is None else OrgId(org_id)
        if not caller.can_see(org):
            raise AutomationNotFound(None)
        spec = parse_automation(data, max_actions=self._max_actions)
        await self._check_references(caller, spec, org)
        now = self._clock()
        async with self._store.transaction() as tx:
            check_count(await tx.count_automations(org), limit=self._max_per_org)
            automation_id = await tx.add_automation(
                org_id=org,
                owner_id=caller.user_id,
                name=spec.name,
                is_active=spec.is_active,
                spec=spec_json(spec),
                created_at=now,
            )
        automation = Automation(
            id=automation_id, org_id=org, owner_id=caller.user_id, spec=spec, created_at=now
        )
        self._engine.put(automation)
        return automation

    async def update(
        self, caller: AutomationCaller, automation_id: int, data: object
    ) -> Automation:
        """Replace an automation's model; it is re-armed, and its pending continuations are
        cancelled (they belong to the old actions).

        Raises:
            AutomationNotFound, InvalidAutomation.
        """
        current = await self.get(caller, automation_id)
        spec = parse_automation(data, max_actions=self._max_actions)
        await self._check_references(caller, spec, OrgId(current.org_id))
        async with self._store.transaction() as tx:
            found = await tx.update_automation(
                automation_id, name=spec.name, is_active=spec.is_active, spec=spec_json(spec)
            )
            await tx.cancel_continuations(automation_id, finished_at=self._clock())
        if not found:
            raise AutomationNotFound(automation_id)
        updated = replace(current, spec=spec)
        self._engine.put(updated)
        return updated

    async def set_active(self, caller: Scoped, automation_id: int, *, active: bool) -> Automation:
        """Enable (re-armed, spec §3.4) or disable (no evaluation, no scheduled runs, pending
        continuations cancelled, spec §3.7) an automation.

        Raises:
            AutomationNotFound.
        """
        current = await self.get(caller, automation_id)
        async with self._store.transaction() as tx:
            found = await tx.set_automation_active(automation_id, active=active)
            if not active:
                await tx.cancel_continuations(automation_id, finished_at=self._clock())
        if not found:
            raise AutomationNotFound(automation_id)
        updated = replace(current, spec=replace(current.spec, is_active=active))
        self._engine.put(updated)
        return updated

    async def set_participation(
        self, caller: Controller, automation_id: int, device_id: int, *, participates: bool
    ) -> Automation:
        """Switch a device out of an automation, or back in (the device page's AUTOMATIONS
        list, spec §3.7): a device switched out neither triggers it nor is acted on (its
        actions are logged ``SKIPPED`` / ``DEVICE_OPTED_OUT``).

        Raises:
            AutomationNotFound; InvalidAutomation: the automation does not use the device, or
                the caller cannot see it.
        """
        current = await self.get(caller, automation_id)
        if device_id not in referenced_devices(current.spec):
            raise InvalidAutomation(f"the automation does not use device {device_id}")
        bound = await self._directory.find_by_id(DeviceId(device_id))
        if bound is None or not caller.can_view_device(bound.device):
            raise InvalidAutomation(f"device {device_id} is not found")
        async with self._store.transaction() as tx:
            await tx.set_automation_opt_out(automation_id, device_id, opted_out=not participates)
        opted = (
            current.opted_out | {device_id} if not participates else current.opted_out - {device_id}
        )
        updated = replace(current, opted_out=frozenset(opted))
        self._engine.participation_changed(updated)
        return updated

    async def delete(self, caller: Scoped, automation_id: int) -> None:
        """Delete an automation with its log and pending continuations.

        Raises:
            AutomationNotFound.
        """
        await self.get(caller, automation_id)
        async with self._store.transaction() as tx:
            found = await tx.delete_automation(automation_id)
        self._engine.forget(automation_id)
        if not found:
            raise AutomationNotFound(automation_id)

    async def execute(self, caller: Scoped, automation_id: int) -> int:
        """Run a Scene automation now ("Execute automation"); return the run's id. Its actions
        up to the first WAIT have run when this returns.

        Raises:
            AutomationNotFound, NotAScene, InvalidAutomation (it is disabled).
        """
        automation = await self.get(caller, automation_id)
        if not isinstance(automation.spec.condition, Scene):
            raise NotAScene(automation_id)
        if not automation.spec.is_active:
            raise InvalidAutomation("the automation is disabled")
        return await self._runner.start(automation, Trigger(kind="SCENE"))

    async def stop_runs(self, caller: Scoped, automation_id: int) -> int:
        """Stop Automation (spec §3.5): cancel its pending continuations; how many there were.

        Raises:
            AutomationNotFound.
        """
        await self.get(caller, automation_id)
        async with self._store.transaction() as tx:
            return await tx.cancel_continuations(automation_id, finished_at=self._clock())

    async def runs(
        self,
        caller: Scoped,
        automation_id: int,
        *,
        since: int | None = None,
        until: int | None = None,
        limit: int = 100,
    ) -> list[RunLog]:
        """The run log, newest first, with each run's actions (``since`` inclusive, ``until``
        exclusive; at most ``limit`` runs, capped at 1,000).

        Raises:
            AutomationNotFound.
        """
        await self.get(caller, automation_id)
        async with self._store.transaction() as tx:
            runs = await tx.list_automation_runs(
                automation_id,
                since=since or 0,
                until=until if until is not None else 2**62,
                limit=max(1, min(limit, MAX_RUNS_PAGE)),
            )
            actions = await tx.list_action_log([run.id for run in runs])
        by_run: dict[int, list[ActionLogEntry]] = {}
        for entry in actions:
            by_run.setdefault(entry.run_id, []).append(entry)
        return [RunLog(run=run, actions=tuple(by_run.get(run.id, ()))) for run in runs]

    async def _check_references(
        self, caller: Controller, spec: AutomationSpec, org_id: OrgId
    ) -> None:
        """Refuse devices the caller may not use, and datastreams, operands and values that do
        not fit them (``domain.automation_checks``)."""
        subtree = self._directory.subtree(org_id)
        templates: dict[int, Template] = {}
        for device_id in referenced_devices(spec):
            templates[device_id] = (await self._device(caller, device_id, subtree)).template
        segment_templates: dict[int, list[Template]] = {}
        for segment_id in referenced_segments(spec):
            segment_templates[segment_id] = await self._segment_templates(
                caller, segment_id, org_id
            )
        check_automation_references(spec, templates.__getitem__, segment_templates.__getitem__)

    async def _segment_templates(
        self, caller: Controller, segment_id: int, org_id: OrgId
    ) -> list[Template]:
        if self._segments is None:
            raise InvalidAutomation("segments are not available")
        try:
            return await self._segments.templates_of(caller, segment_id, org_id=org_id)
        except SegmentNotFound:
            raise InvalidAutomation(f"segment {segment_id} is not found") from None

    async def _device(
        self, caller: Controller, device_id: int, subtree: frozenset[OrgId]
    ) -> BoundDevice:
        bound = await self._directory.find_by_id(DeviceId(device_id))
        if (
            bound is None
            or bound.device.org_id not in subtree
            or not caller.can_view_device(bound.device)
        ):
            raise InvalidAutomation(f"device {device_id} is not found")
        return bound


def to_json(automation: Automation) -> dict[str, Any]:
    """The spec §3.1 JSON of an automation (the console's and provisioning's model)."""
    return automation_json(automation)
