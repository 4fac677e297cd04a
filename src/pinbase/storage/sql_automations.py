"""``SqlAutomations``: the ``AutomationRepository`` half of ``SqlTransaction``. A mixin: it uses
the transaction's connection."""

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Row, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pinbase.storage import schema
from pinbase.storage.automations import (
    ActionLogEntry,
    AutomationRun,
    Continuation,
    NewAutomationRun,
    StoredAutomation,
)

_AUTOMATIONS = schema.automations
_RUNS = schema.automation_runs
_ACTIONS = schema.automation_action_log
_CONTINUATIONS = schema.automation_continuations
_OPT_OUTS = schema.automation_opt_outs


class SqlAutomations:
    """Automation reads and writes over ``self._db``."""

    _db: AsyncConnection
    _insert_returning_id: Callable[[Any, dict[str, Any]], Awaitable[int]]

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
        """Store a new automation, armed."""
        values = {
            "org_id": org_id,
            "owner_id": owner_id,
            "name": name,
            "is_active": is_active,
            "spec": orjson.dumps(spec).decode(),
            "created_at": created_at,
            "armed": True,
        }
        return await self._insert_returning_id(_AUTOMATIONS, values)

    async def update_automation(
        self, automation_id: int, *, name: str, is_active: bool, spec: Mapping[str, Any]
    ) -> bool:
        """Replace an automation's model and re-arm it."""
        result = await self._db.execute(
            update(_AUTOMATIONS)
            .where(_AUTOMATIONS.c.id == automation_id)
            .values(name=name, is_active=is_active, spec=orjson.dumps(spec).decode(), armed=True)
        )
        return bool(result.rowcount)

    async def set_automation_active(self, automation_id: int, *, active: bool) -> bool:
        """Switch an automation on (re-armed) or off; the model's ``isActive`` follows."""
        row = (
            await self._db.execute(
                select(_AUTOMATIONS.c.spec).where(_AUTOMATIONS.c.id == automation_id)
            )
        ).first()
        if row is None:
            return False
        spec = orjson.loads(row.spec)
        spec["isActive"] = active
        await self._db.execute(
            update(_AUTOMATIONS)
            .where(_AUTOMATIONS.c.id == automation_id)
            .values(is_active=active, spec=orjson.dumps(spec).decode(), armed=True)
        )
        return True

    async def delete_automation(self, automation_id: int) -> bool:
        """Delete an automation with its runs, action log and continuations."""
        runs = select(_RUNS.c.id).where(_RUNS.c.automation_id == automation_id)
        await self._db.execute(delete(_ACTIONS).where(_ACTIONS.c.run_id.in_(runs)))
        await self._db.execute(delete(_RUNS).where(_RUNS.c.automation_id == automation_id))
        await self._db.execute(
            delete(_CONTINUATIONS).where(_CONTINUATIONS.c.automation_id == automation_id)
        )
        await self._db.execute(delete(_OPT_OUTS).where(_OPT_OUTS.c.automation_id == automation_id))
        result = await self._db.execute(
            delete(_AUTOMATIONS).where(_AUTOMATIONS.c.id == automation_id)
        )
        return bool(result.rowcount)

    async def find_automation(self, automation_id: int) -> StoredAutomation | None:
        """One automation, or None."""
        query = select(_AUTOMATIONS).where(_AUTOMATIONS.c.id == automation_id)
        row = (await self._db.execute(query)).first()
        if row is None:
            return None
        opted_out = await self.list_automation_opt_outs([automation_id])
        return _automation(row, frozenset(device for _, device in opted_out))

    async def list_automations(self, org_ids: Collection[int] | None) -> list[StoredAutomation]:
        """The automations of ``org_ids`` (all when None), by id."""
        query = select(_AUTOMATIONS).order_by(_AUTOMATIONS.c.id)
        if org_ids is not None:
            query = query.where(_AUTOMATIONS.c.org_id.in_(list(org_ids)))
        rows = list(await self._db.execute(query))
        opted: dict[int, set[int]] = {}
        if rows:
            ids = None if org_ids is None else [row.id for row in rows]
            for automation_id, device_id in await self.list_automation_opt_outs(ids):
                opted.setdefault(automation_id, set()).add(device_id)
        return [_automation(row, frozenset(opted.get(row.id, ()))) for row in rows]

    async def count_automations(self, org_id: int) -> int:
        """How many automations the organization has."""
        query = select(func.count()).select_from(_AUTOMATIONS)
        return int(await self._db.scalar(query.where(_AUTOMATIONS.c.org_id == org_id)) or 0)

    async def save_automation_state(
        self,
        automation_id: int,
        *,
        armed: bool | None = None,
        last_fired_at: int | None = None,
        last_slot_at: int | None = None,
    ) -> None:
        """Persist the engine's state; None leaves a field as it is."""
        values: dict[str, Any] = {}
        if armed is not None:
            values["armed"] = armed
        if last_fired_at is not None:
            values["last_fired_at"] = last_fired_at
        if last_slot_at is not None:
            values["last_slot_at"] = last_slot_at
        if values:
            await self._db.execute(
                update(_AUTOMATIONS).where(_AUTOMATIONS.c.id == automation_id).values(**values)
            )

    async def claim_automation_slot(self, automation_id: int, slot_at: int) -> bool:
        """Set ``last_slot_at`` to ``slot_at`` when it is older (or unset): one conditional
        UPDATE, so of two concurrent claims the second sees the first's row and changes none."""
        column = _AUTOMATIONS.c.last_slot_at
        result = await self._db.execute(
            update(_AUTOMATIONS)
            .where(_AUTOMATIONS.c.id == automation_id)
            .where((column.is_(None)) | (column < slot_at))
            .values(last_slot_at=slot_at)
        )
        return bool(result.rowcount)

    async def save_automation_states(self, states: Sequence[tuple[int, bool, int | None]]) -> None:
        """Persist the arming of many Device State rules in one statement: (automation id,
        armed, last fired at); a None last firing leaves it as it is."""
        if states:
            await self._db.execute(
                update(_AUTOMATIONS)
                .where(_AUTOMATIONS.c.id == bindparam("automation_id"))
                .values(
                    armed=bindparam("is_armed"),
                    last_fired_at=func.coalesce(
                        bindparam("fired_at", type_=_AUTOMATIONS.c.last_fired_at.type),
                        _AUTOMATIONS.c.last_fired_at,
                    ),
                ),
                [
                    {"automation_id": a, "is_armed": armed, "fired_at": fired_at}
                    for a, armed, fired_at in states
                ],
            )

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
        """Start a run's log row; a run that is not skipped is the last execution."""
        values = {
            "automation_id": automation_id,
            "org_id": org_id,
            "trigger_kind": trigger_kind,
            "trigger_device_id": trigger_device_id,
            "trigger_datastream_id": trigger_datastream_id,
            "trigger_value": trigger_value,
            "started_at": started_at,
            "finished_at": finished_at,
            "status": status,
            "reason": reason,
        }
        run_id = await self._insert_returning_id(_RUNS, values)
        if status != "SKIPPED":
            await self._db.execute(
                update(_AUTOMATIONS)
                .where(_AUTOMATIONS.c.id == automation_id)
                .values(last_executed_at=started_at)
            )
        return run_id

    async def add_automation_runs(self, runs: Sequence[NewAutomationRun]) -> list[int]:
        """Add many runs' log rows in a few statements; their ids, in order. A run that is not
        skipped sets its automation's last execution (the latest start of the batch)."""
        if not runs:
            return []
        rows = [
            {
                "automation_id": r.automation_id,
                "org_id": r.org_id,
                "trigger_kind": r.trigger_kind,
                "trigger_device_id": r.trigger_device_id,
                "trigger_datastream_id": r.trigger_datastream_id,
                "trigger_value": r.trigger_value,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "status": r.status,
                "reason": r.reason,
            }
            for r in runs
        ]
        result = await self._db.execute(
            _RUNS.insert().returning(_RUNS.c.id, sort_by_parameter_order=True), rows
        )
        ids = [int(row.id) for row in result]
        executed: dict[int, int] = {}
        for r in runs:
            if r.status != "SKIPPED":
                executed[r.automation_id] = max(r.started_at, executed.get(r.automation_id, 0))
        if executed:
            await self._db.execute(
                update(_AUTOMATIONS)
                .where(_AUTOMATIONS.c.id == bindparam("automation_id"))
                .values(last_executed_at=bindparam("executed_at")),
                [{"automation_id": a, "executed_at": at} for a, at in executed.items()],
            )
        return ids

    async def finish_automation_run(self, run_id: int, *, status: str, finished_at: int) -> None:
        """Close a run with its outcome."""
        await self._db.execute(
            update(_RUNS).where(_RUNS.c.id == run_id).values(status=status, finished_at=finished_at)
        )

    async def add_action_log(self, entries: Sequence[ActionLogEntry]) -> None:
        """Log actions of runs."""
        if entries:
            await self._db.execute(
                _ACTIONS.insert(),
                [
                    {
                        "run_id": e.run_id,
                        "seq": e.seq,
                        "type": e.type,
                        "device_id": e.device_id,
                        "datastream_id": e.datastream_id,
                        "value": e.value,
                        "status": e.status,
                        "reason": e.reason,
                        "ts": e.ts,
                    }
                    for e in entries
                ],
            )

    async def list_automation_runs(
        self, automation_id: int, *, since: int, until: int, limit: int
    ) -> list[AutomationRun]:
        """Runs started in ``[since, until)``, newest first."""
        query = (
            select(_RUNS)
            .where(
                _RUNS.c.automation_id == automation_id,
                _RUNS.c.started_at >= since,
                _RUNS.c.started_at < until,
            )
            .order_by(_RUNS.c.started_at.desc(), _RUNS.c.id.desc())
            .limit(limit)
        )
        return [_run(row) for row in await self._db.execute(query)]

    async def list_action_log(self, run_ids: Collection[int]) -> list[ActionLogEntry]:
        """The action rows of ``run_ids``, by run and seq."""
        if not run_ids:
            return []
        query = (
            select(_ACTIONS)
            .where(_ACTIONS.c.run_id.in_(list(run_ids)))
            .order_by(_ACTIONS.c.run_id, _ACTIONS.c.seq)
        )
        return [
            ActionLogEntry(
                run_id=row.run_id,
                seq=row.seq,
                type=row.type,
                device_id=row.device_id,
                datastream_id=row.datastream_id,
                value=row.value,
                status=row.status,
                reason=row.reason,
                ts=row.ts,
            )
            for row in await self._db.execute(query)
        ]

    async def add_continuation(
        self,
        *,
        automation_id: int,
        run_id: int,
        step: int,
        due_at: int,
        context: Mapping[str, Any],
    ) -> int:
        """Store a pending continuation."""
        values = {
            "automation_id": automation_id,
            "run_id": run_id,
            "step": step,
            "due_at": due_at,
            "context": orjson.dumps(context).decode(),
        }
        return await self._insert_returning_id(_CONTINUATIONS, values)

    async def due_continuations(self, now: int, *, limit: int) -> list[Continuation]:
        """Continuations due at ``now`` or before, oldest first."""
        query = (
            select(_CONTINUATIONS)
            .where(_CONTINUATIONS.c.due_at <= now)
            .order_by(_CONTINUATIONS.c.due_at, _CONTINUATIONS.c.id)
            .limit(limit)
        )
        return [
            Continuation(
                id=row.id,
                automation_id=row.automation_id,
                run_id=row.run_id,
                step=row.step,
                due_at=row.due_at,
                context=orjson.loads(row.context),
            )
            for row in await self._db.execute(query)
        ]

    async def next_continuation_due(self) -> int | None:
        """When the next continuation is due."""
        due = await self._db.scalar(select(func.min(_CONTINUATIONS.c.due_at)))
        return None if due is None else int(due)

    async def delete_continuation(self, continuation_id: int) -> bool:
        """Take one continuation away."""
        result = await self._db.execute(
            delete(_CONTINUATIONS).where(_CONTINUATIONS.c.id == continuation_id)
        )
        return bool(result.rowcount)

    async def cancel_continuations(self, automation_id: int, *, finished_at: int) -> int:
        """Drop an automation's continuations and close their runs as CANCELLED."""
        pending = select(_CONTINUATIONS.c.run_id).where(
            _CONTINUATIONS.c.automation_id == automation_id
        )
        await self._db.execute(
            update(_RUNS)
            .where(_RUNS.c.id.in_(pending))
            .values(status="CANCELLED", finished_at=finished_at)
        )
        result = await self._db.execute(
            delete(_CONTINUATIONS).where(_CONTINUATIONS.c.automation_id == automation_id)
        )
        return int(result.rowcount)

    async def set_automation_opt_out(
        self, automation_id: int, device_id: int, *, opted_out: bool
    ) -> None:
        """Switch a device out of (or back into) an automation."""
        where = (_OPT_OUTS.c.automation_id == automation_id) & (_OPT_OUTS.c.device_id == device_id)
        await self._db.execute(delete(_OPT_OUTS).where(where))
        if opted_out:
            await self._db.execute(
                _OPT_OUTS.insert().values(automation_id=automation_id, device_id=device_id)
            )

    async def list_automation_opt_outs(
        self, automation_ids: Collection[int] | None
    ) -> list[tuple[int, int]]:
        """(automation id, device id) pairs, by automation and device."""
        query = select(_OPT_OUTS.c.automation_id, _OPT_OUTS.c.device_id).order_by(
            _OPT_OUTS.c.automation_id, _OPT_OUTS.c.device_id
        )
        if automation_ids is not None:
            query = query.where(_OPT_OUTS.c.automation_id.in_(list(automation_ids)))
        return [(int(a), int(d)) for a, d in await self._db.execute(query)]

    async def delete_automation_runs_before(self, ts: int) -> int:
        """Retention: drop runs (and their actions) started before ``ts``."""
        old = select(_RUNS.c.id).where(_RUNS.c.started_at < ts, _RUNS.c.finished_at.is_not(None))
        await self._db.execute(delete(_ACTIONS).where(_ACTIONS.c.run_id.in_(old)))
        result = await self._db.execute(
            delete(_RUNS).where(_RUNS.c.started_at < ts, _RUNS.c.finished_at.is_not(None))
        )
        return int(result.rowcount)


async def delete_org_automations(db: AsyncConnection, org_id: int) -> None:
    """Delete every automation of an organization with its log (the organization goes)."""
    ids = select(_AUTOMATIONS.c.id).where(_AUTOMATIONS.c.org_id == org_id)
    runs = select(_RUNS.c.id).where(_RUNS.c.automation_id.in_(ids))
    await db.execute(delete(_ACTIONS).where(_ACTIONS.c.run_id.in_(runs)))
    await db.execute(delete(_RUNS).where(_RUNS.c.automation_id.in_(ids)))
    await db.execute(delete(_CONTINUATIONS).where(_CONTINUATIONS.c.automation_id.in_(ids)))
    await db.execute(delete(_OPT_OUTS).where(_OPT_OUTS.c.automation_id.in_(ids)))
    await db.execute(delete(_AUTOMATIONS).where(_AUTOMATIONS.c.org_id == org_id))


def _automation(row: Row[Any], opted_out: frozenset[int] = frozenset()) -> StoredAutomation:
    return StoredAutomation(
        id=row.id,
        org_id=row.org_id,
        owner_id=row.owner_id,
        name=row.name,
        is_active=bool(row.is_active),
        spec=orjson.loads(row.spec),
        created_at=row.created_at,
        last_executed_at=row.last_executed_at,
        armed=bool(row.armed),
        last_fired_at=row.last_fired_at,
        last_slot_at=row.last_slot_at,
        opted_out=opted_out,
    )


def _run(row: Row[Any]) -> AutomationRun:
    return AutomationRun(
        id=row.id,
        automation_id=row.automation_id,
        org_id=row.org_id,
        trigger_kind=row.trigger_kind,
        trigger_device_id=row.trigger_device_id,
        trigger_datastream_id=row.trigger_datastream_id,
        trigger_value=row.trigger_value,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=row.status,
        reason=row.reason,
    )
