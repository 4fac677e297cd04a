"""The automation engine: Device State evaluation, the scheduler, and WAIT continuations
(automations.md §3.3 to §3.5, §3.7).

Theory of operation.

* **Device State.** The bus callback runs inside a device's write, so it only looks the written
  (device, datastream) pairs up in a dict and queues the message when a rule watches one; a task
  of its own drains the queue in batches and evaluates (``domain.automation_rules.evaluate``) in
  write order, saves the batch's arming changes in one transaction, then starts the runs as
  tasks: up to ``CONCURRENT_RUNS`` at once (their writes share group commits), one automation's
  firings one after the other.
  Writes whose origin is ``automation`` update the remembered previous value but are never
  evaluated (§3.4); back-dated imports are not announced on the bus at all. The arming and the
  last run are persisted, so a restart neither re-fires an ``IS_ON`` rule nor forgets its Limit
  Period.
* **Schedules and sun events.** Each active time rule has its next slot in memory
  (``domain.automation_times``). ``run_due`` claims every slot whose time came (a conditional
  update of ``last_slot_at``) in one transaction, then runs the claimed ones (a polar day's sun
  slot is logged ``NO_SUN_EVENT``), so a slot runs at most once across restarts and nodes. At
  start, the next slot is searched after the later of the last slot handled and
  ``now - catchup_window``: runs missed while the server was down are skipped unless the
  catch-up window covers them.
* **Continuations** are rows (``automation_continuations``); ``run_due`` claims the due rows by
  deleting them, a hundred per transaction, then resumes the runs. A late one runs at once.
* Scheduled and resumed runs start as Device State firings do (``_start_run``): up to
  ``CONCURRENT_RUNS`` at once, so that their writes, run log and WAIT continuations share group
  commits (issue #10: one at a time, 100 schedules due together cost 204 transactions, their
  continuations 104; now 7 and 8).
* **Several nodes** (issue #11). Every node evaluates Device State rules on the writes it
  receives, and resumes continuations (a claim is a delete: one node wins). An automation
  saved, switched or deleted on one node is announced (``AutomationsChanged``, a shared topic):
  the other nodes read it again. Time rules run on the installation's leader only
  (``services.leadership`` runs ``lead``): taking the lead plans each slot again from the stored
  ``last_slot_at``, and each slot is claimed in the database before it runs, so a slot never
  runs twice, even while two nodes think they lead. The arming and last firing a node commits
  are announced too (``AutomationStates``): a rule disarmed or fired on one node is so on every
  node a moment later (two writes at the same moment on two nodes may still both fire).

The scheduler task wakes at the next due time (at most every ``POLL_S``), when told to, and when
a run stores a continuation due before it would look (``AutomationRunner.on_pause``); tests with a
hand clock call ``run_due`` and ``settle`` instead of sleeping.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Set
from dataclasses import dataclass, replace
from functools import partial

from pinbase.domain.automation_rules import (
    evaluate,
    read_text_plain,
    trigger_text,
    within_limit_period,
)
from pinbase.domain.automation_times import next_schedule, next_sun
from pinbase.domain.automations import (
    Automation,
    DeviceState,
    Schedule,
    Sun,
    parse_automation,
    referenced_datastreams,
    referenced_devices,
)
from pinbase.domain.errors import UnknownDatastream
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.value_types import Value
from pinbase.services import wire
from pinbase.services.bus import Bus, Unsubscribe, ValuesChanged
from pinbase.services.changes import DatastreamErased, DeviceRemoved, OrganizationRemoved
from pinbase.services.clock import Clock
from pinbase.services.directory import Directory
from pinbase.services.reactions.automation_runs import (
    AUTOMATION_ORIGIN,
    AutomationRunner,
    Trigger,
)
from pinbase.services.telemetry import Telemetry
from pinbase.storage.automations import StoredAutomation
from pinbase.storage.base import Store

logger = logging.getLogger(__name__)

POLL_S = 30.0
"""The scheduler looks again at least this often: continuations another process stored, and a
clock that jumped, are noticed within it."""

CONTINUATIONS_PER_PASS = 100

CONCURRENT_RUNS = 32
"""Device State runs of different automations executing at once (their writes share group
commits); firings of one automation run one after the other."""

PURGE_EVERY_MS = 3_600_000
"""How often the run log is trimmed to its retention."""

MAX_STORED_ACTIONS = 1_000_000
"""Reading back what was stored never applies the (changeable) save-time limit."""

Key = tuple[int, int]
"""(device id, datastream id)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationsProvisioned:
    """Automations were stored by the provisioning file (``services.provisioning``), committed;
    a running engine loads them. A bus message of plain ids."""

    automation_ids: tuple[int, ...]


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationsChanged:
    """Automations were created, changed, switched or deleted on one node, committed: the
    other nodes' engines read them again (issue #11). A shared bus message of plain ids."""

    automation_ids: tuple[int, ...]


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class AutomationStates:
    """Device State rules' arming and last firing as one node just committed them (issue #11):
    the other nodes take them, so that a write arriving at another node (an HTTP device behind a
    balancer) finds the rule disarmed, or within its Limit Period, rather than firing it again.

    ``states`` is flat, ``automation id, armed (1 or 0), last fired at (0: never)`` for each in
    turn: plain numbers, like ``PresenceHeld``'s sessions."""

    states: tuple[int, ...]


@dataclass(slots=True)
class RuleState:
    """The engine's state of one rule; persisted in ``automations``."""

    armed: bool
    last_fired_at: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Firing:
    """One rule's verdict on one write: the state to save (``save``) and, when it fired, the
    run to start (``trigger``; ``skipped`` within the Limit Period)."""

    automation: Automation
    save: bool
    armed: bool
    fired_at: int | None
    trigger: Trigger | None
    skipped: bool


@dataclass(frozen=True, slots=True)
class Slot:
    """The next time a time rule is due; ``sunless`` marks a polar day."""

    at: int
    sunless: bool = False


class AutomationEngine:
    """Evaluates and schedules the active automations of every organization."""

    def __init__(
        self,
        *,
        store: Store,
        bus: Bus,
        directory: Directory,
        telemetry: Telemetry,
        runner: AutomationRunner,
        clock: Clock,
        catchup_window_ms: int = 0,
        log_retention_ms: int = 90 * 86_400_000,
        leading: bool = True,
    ) -> None:
        """``leading=False``: time rules wait for ``lead`` (the leader's job, issue #11); a lone
        engine (tests, one process) leads from the start."""
        self._store = store
        self._bus = bus
        self._directory = directory
        self._telemetry = telemetry
        self._runner = runner
        self._clock = clock
        self._catchup_ms = catchup_window_ms
        self._log_retention_ms = log_retention_ms
        self._purged_at: int | None = None
        self._rules: dict[int, Automation] = {}
        self._states: dict[int, RuleState] = {}
        self._watch: dict[Key, set[int]] = {}
        self._previous: dict[Key, Value] = {}
        self._slots: dict[int, Slot] = {}
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._turn = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._runs: dict[int, asyncio.Task[None]] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._slots_free = asyncio.Semaphore(CONCURRENT_RUNS)
        self._unsubscribe: list[Unsubscribe] = []
        self._leading = leading
        self._next_look: int | None = None
        runner.on_pause(self._paused)

    async def start(self, automations: list[tuple[Automation, RuleState, int | None]]) -> None:
        """Take the stored automations (with their state and last slot) and start the tasks."""
        now = self._clock()
        for automation, state, last_slot in automations:
            if automation.spec.is_active:
                after = max(last_slot or automation.created_at, now - self._catchup_ms - 1)
                self._add(automation, state, after=after)
        self._unsubscribe = [
            self._bus.subscribe(ValuesChanged, self._on_values),
            self._bus.subscribe(DeviceRemoved, self._queue.put_nowait),
            self._bus.subscribe(DatastreamErased, self._queue.put_nowait),
            self._bus.subscribe(AutomationsProvisioned, self._queue.put_nowait),
            self._bus.subscribe(
                AutomationsChanged, self._queue.put_nowait, remote=True, local=False
            ),
            self._bus.subscribe(AutomationStates, self._queue.put_nowait, remote=True, local=False),
            self._bus.subscribe(OrganizationRemoved, self._queue.put_nowait),
        ]
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._consume(), name="automation_states"),
            loop.create_task(self._schedule(), name="automation_scheduler"),
        ]

    async def stop(self) -> None:
        """Stop listening and end the tasks (an evaluation in progress is cancelled; its run
        log shows what was done)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for task in [*self._tasks, *self._running]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._runner.flush()

    def put(self, automation: Automation, *, armed: bool = True) -> None:
        """Watch or schedule ``automation`` as now saved (created, edited or enabled): armed,
        its next slot after now. An inactive one is forgotten. The other nodes are told."""
        last = self._states.get(automation.id)
        self._drop(automation.id)
        if automation.spec.is_active:
            state = RuleState(
                armed=armed, last_fired_at=None if last is None else last.last_fired_at
            )
            self._add(automation, state, after=self._clock())
            self._wake.set()
        self._announce(automation.id)

    def participation_changed(self, automation: Automation) -> None:
        """Take the automation's new opt-outs, keeping its arming and next slot."""
        if automation.id in self._rules:
            self._rules[automation.id] = automation
        self._announce(automation.id)

    def forget(self, automation_id: int) -> None:
        """Stop watching and scheduling an automation (disabled or deleted); the other nodes
        are told."""
        self._drop(automation_id)
        self._announce(automation_id)

    def _announce(self, automation_id: int) -> None:
        self._bus.publish(AutomationsChanged(automation_ids=(automation_id,)))

    def _drop(self, automation_id: int) -> None:
        automation = self._rules.pop(automation_id, None)
        self._slots.pop(automation_id, None)
        self._states.pop(automation_id, None)
        if automation is not None and isinstance(automation.spec.condition, DeviceState):
            key = _key(automation.spec.condition)
            watchers = self._watch.get(key, set())
            watchers.discard(automation_id)
            if not watchers:
                self._watch.pop(key, None)

    def wake(self) -> None:
        """Look for due work now (a continuation was stored)."""
        self._wake.set()

    def _paused(self, due_at: int) -> None:
        """A run stored a continuation due at ``due_at``: wake the scheduler if it would look
        later (a Device State or scene run's WAIT ends on time, not at the next poll)."""
        if self._next_look is None or due_at < self._next_look:
            self._next_look = due_at
            self._wake.set()

    async def settle(self) -> None:
        """Return once every queued write has been evaluated and the runs it started have
        ended (tests, shutdown)."""
        while True:
            await self._queue.join()
            if not self._running:
                return
            await asyncio.wait(list(self._running))

    async def lead(self) -> None:
        """Run the time rules until cancelled: the job of the installation's leader. Each
        slot is planned again from what is stored, as at start: the previous leader may have
        run some, and runs missed since are caught up within the catch-up window only."""
        # Under the turn lock, taken before the first await: a ``run_due`` called meanwhile
        # waits for the slots planned again.
        try:
            async with self._turn:
                self._leading = True
                async with self._store.transaction() as tx:
                    stored = await tx.list_automations(None)
                now = self._clock()
                for row in stored:
                    automation = self._rules.get(row.id)
                    condition = None if automation is None else automation.spec.condition
                    if automation is not None and isinstance(condition, Schedule | Sun):
                        last = row.last_slot_at or automation.created_at
                        self._plan(automation, after=max(last, now - self._catchup_ms - 1))
            self._wake.set()
            await asyncio.get_running_loop().create_future()
        finally:
            self._leading = False

    async def run_due(self) -> None:
        """Run every continuation due now, and every slot due now when this engine leads;
        return once their runs ended.

        The runs go as Device State firings do (``_start_run``): up to ``CONCURRENT_RUNS`` at
        once, so their writes and log rows share group commits, one automation's runs in order.
        The due slots are claimed in one transaction before any of them runs; a slot another
        node claimed first is only planned past."""
        async with self._turn:
            now = self._clock()
            started: list[asyncio.Task[None]] = []
            due_slots = sorted(
                (slot.at, automation_id)
                for automation_id, slot in self._slots.items()
                if self._leading and slot.at <= now
            )
            if due_slots:
                async with self._store.transaction() as tx:
                    won = [
                        await tx.claim_automation_slot(automation_id, at)
                        for at, automation_id in due_slots
                    ]
                for (_, automation_id), claimed_slot in zip(due_slots, won, strict=True):
                    if automation_id not in self._slots:  # forgotten during the claim
                        continue
                    task = self._run_slot(automation_id, claimed=claimed_slot)
                    if task is not None:
                        started.append(task)
            while True:
                async with self._store.transaction() as tx:
                    due = await tx.due_continuations(now, limit=CONTINUATIONS_PER_PASS)
                    claimed = [c for c in due if await tx.delete_continuation(c.id)]
                    for continuation in claimed:
                        if continuation.automation_id not in self._rules:
                            await tx.finish_automation_run(
                                continuation.run_id, status="CANCELLED", finished_at=now
                            )
                for continuation in claimed:
                    automation = self._rules.get(continuation.automation_id)
                    if automation is None:
                        continue
                    resume = partial(
                        self._runner.resume,
                        automation,
                        continuation.run_id,
                        Trigger.from_json(continuation.context.get("trigger", {})),
                        step=continuation.step,
                        failed=bool(continuation.context.get("failed")),
                    )
                    started.append(self._start_run(automation.id, resume))
                if len(due) < CONTINUATIONS_PER_PASS:
                    break
            if started:
                await asyncio.wait(started)

    def _run_slot(self, automation_id: int, *, claimed: bool) -> "asyncio.Task[None] | None":
        """Plan the automation's next slot and start the run of the one that came, if this node
        ``claimed`` it (its ``last_slot_at`` already saved); None when another node did."""
        automation = self._rules[automation_id]
        slot = self._slots[automation_id]
        self._plan(automation, after=slot.at)
        if not claimed:
            logger.info("automation.slot_taken automation=%d at=%d", automation_id, slot.at)
            return None
        trigger = Trigger(kind=automation.spec.condition.kind.value)
        run: Callable[[], Awaitable[object]]
        if slot.sunless:
            run = partial(self._runner.skip, automation, trigger, reason="NO_SUN_EVENT")
        else:
            run = partial(self._runner.start, automation, trigger)
        return self._start_run(automation_id, run)

    def _add(self, automation: Automation, state: RuleState, *, after: int) -> None:
        self._rules[automation.id] = automation
        self._states[automation.id] = state
        condition = automation.spec.condition
        if isinstance(condition, DeviceState):
            key = _key(condition)
            self._watch.setdefault(key, set()).add(automation.id)
            if key not in self._previous:
                current = self._current(key)
                if current is not None:
                    self._previous[key] = current
        self._plan(automation, after=after)

    def _plan(self, automation: Automation, *, after: int) -> None:
        condition = automation.spec.condition
        self._slots.pop(automation.id, None)
        if isinstance(condition, Schedule):
            at = next_schedule(condition, after)
            if at is not None:
                self._slots[automation.id] = Slot(at)
        elif isinstance(condition, Sun):
            slot = next_sun(condition, after)
            if slot.at is None:
                self._slots[automation.id] = Slot(slot.day_at, sunless=True)
            else:
                self._slots[automation.id] = Slot(slot.at)

    def _current(self, key: Key) -> Value | None:
        bound = self._directory.by_id(DeviceId(key[0]))
        if bound is None:
            return None
        try:
            datastream = bound.template.datastream(key[1])
        except UnknownDatastream:
            return None
        point = self._telemetry.current(bound.device.id, datastream)
        return None if point is None else point.value

    def _on_values(self, change: ValuesChanged) -> None:
        # On the write path: a dict lookup per value, nothing more when no rule watches it.
        for write in change.writes:
            if (change.device_id, write.datastream_id) in self._watch:
                self._queue.put_nowait(change)
                return

    async def _consume(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._handle(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _handle(self, batch: list[object]) -> None:
        """Evaluate a batch of queued messages in order: the writes' arming and last-fired
        changes are saved in one transaction, then their runs are started (``_dispatch``)."""
        firings: list[_Firing] = []
        for message in batch:
            if isinstance(message, ValuesChanged):
                try:
                    self._observe(message, firings)
                except Exception:
                    logger.exception("automation.evaluation_failed")
                continue
            await self._commit(firings)
            firings = []
            try:
                await self._other(message)
            except Exception:
                logger.exception("automation.evaluation_failed")
        await self._commit(firings)

    async def _other(self, message: object) -> None:
        if isinstance(message, DeviceRemoved):
            device = int(message.device_id)
            await self._referenced_gone(devices={device}, reason="DEVICE_DELETED")
        elif isinstance(message, OrganizationRemoved):
            # Its automations went in the deleting transaction (storage).
            for automation in list(self._rules.values()):
                if automation.org_id == message.org_id:
                    self.forget(automation.id)
        elif isinstance(message, AutomationsProvisioned):
            await self._load(message.automation_ids)
        elif isinstance(message, AutomationsChanged):
            await self._reload(message.automation_ids)
        elif isinstance(message, AutomationStates):
            self._take_states(message.states)
        elif isinstance(message, DatastreamErased):
            pairs = {(int(d), int(message.datastream_id)) for d in message.device_ids}
            await self._referenced_gone(pairs=pairs, reason="DATASTREAM_DELETED")

    async def _commit(self, firings: list["_Firing"]) -> None:
        """Save the batch's state changes in one transaction, then start its runs."""
        if not firings:
            return
        saved: dict[int, tuple[bool, int | None]] = {}
        for firing in firings:
            if firing.save:
                armed, fired_at = firing.armed, firing.fired_at
                if fired_at is None and firing.automation.id in saved:
                    fired_at = saved[firing.automation.id][1]
                saved[firing.automation.id] = (armed, fired_at)
        if saved:
            try:
                await self._runner.save_states(
                    [(automation_id, *state) for automation_id, state in saved.items()]
                )
            except Exception:
                logger.exception("automation.evaluation_failed")
            else:
                self._bus.publish(
                    AutomationStates(
                        states=tuple(
                            number
                            for automation_id, (armed, fired_at) in saved.items()
                            for number in (automation_id, int(armed), fired_at or 0)
                        )
                    )
                )
        for firing in firings:
            if firing.trigger is not None:
                self._dispatch(firing)

    def _dispatch(self, firing: "_Firing") -> None:
        """Start a firing's run (or its skipped row) as a task (``_start_run``)."""
        trigger = firing.trigger
        assert trigger is not None
        automation = firing.automation
        run: Callable[[], Awaitable[object]]
        if firing.skipped:
            run = partial(self._runner.skip, automation, trigger, reason="AUTOMATION_LIMIT_PERIOD")
        else:
            run = partial(self._runner.start, automation, trigger)
        self._start_run(automation.id, run)

    def _start_run(
        self, automation_id: int, run: Callable[[], Awaitable[object]]
    ) -> "asyncio.Task[None]":
        """Start a run as a task: runs of different automations overlap (at most
        ``CONCURRENT_RUNS``), so their writes share group commits; a run of an automation
        waits for its previous one."""
        before = self._runs.get(automation_id)
        task = asyncio.get_running_loop().create_task(
            self._run_after(run, before), name=f"automation_run_{automation_id}"
        )
        self._runs[automation_id] = task
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        task.add_done_callback(lambda done: self._forget_run(automation_id, done))
        return task

    def _forget_run(self, automation_id: int, task: "asyncio.Task[None]") -> None:
        if self._runs.get(automation_id) is task:
            del self._runs[automation_id]

    async def _run_after(
        self, run: Callable[[], Awaitable[object]], before: "asyncio.Task[None] | None"
    ) -> None:
        if before is not None:
            await asyncio.wait([before])  # Its outcome was logged; only its end matters.
        async with self._slots_free:
            try:
                await run()
            except Exception:
                logger.exception("automation.evaluation_failed")

    def _take_states(self, states: tuple[int, ...]) -> None:
        """Take the arming and last firing another node committed, for the rules this node
        watches too; a later firing is never taken back by an earlier one."""
        for index in range(0, len(states) - 2, 3):
            automation_id, armed, fired_at = states[index : index + 3]
            state = self._states.get(automation_id)
            if state is None:
                continue
            state.armed = bool(armed)
            if fired_at and (state.last_fired_at is None or fired_at > state.last_fired_at):
                state.last_fired_at = fired_at

    async def _reload(self, automation_ids: tuple[int, ...]) -> None:
        """Take automations as another node saved them: their stored arming and last firing,
        their next slot after now; a deleted or inactive one is forgotten."""
        for automation_id in automation_ids:
            async with self._store.transaction() as tx:
                stored = await tx.find_automation(automation_id)
            self._drop(automation_id)
            if stored is not None and stored.is_active:
                state = RuleState(armed=stored.armed, last_fired_at=stored.last_fired_at)
                self._add(read_stored(stored), state, after=self._clock())
                self._wake.set()

    async def _load(self, automation_ids: tuple[int, ...]) -> None:
        for automation_id in automation_ids:
            async with self._store.transaction() as tx:
                stored = await tx.find_automation(automation_id)
            if stored is not None:
                self.put(read_stored(stored), armed=stored.armed)

    def _observe(self, change: ValuesChanged, firings: list["_Firing"]) -> None:
        for write in change.writes:
            key = (int(change.device_id), int(write.datastream_id))
            watchers = self._watch.get(key)
            if not watchers:
                continue
            previous = self._previous.get(key)
            self._previous[key] = write.value
            if change.origin == AUTOMATION_ORIGIN:
                continue  # Automation writes are not observed (spec §3.4).
            for automation_id in sorted(watchers):
                firing = self._fire(
                    automation_id, change, write.datastream_id, write.value, previous
                )
                if firing is not None:
                    firings.append(firing)

    def _fire(
        self,
        automation_id: int,
        change: ValuesChanged,
        datastream_id: DatastreamId,
        value: Value,
        previous: Value | None,
    ) -> "_Firing | None":
        """Evaluate one rule on one write, updating its state in memory; what to save and run."""
        automation = self._rules.get(automation_id)
        state = self._states.get(automation_id)
        if automation is None or state is None:
            return None
        if int(change.device_id) in automation.opted_out:
            return None  # A device switched out does not trigger it (spec §3.7).
        condition = automation.spec.condition
        assert isinstance(condition, DeviceState)
        verdict = evaluate(condition, value=value, previous=previous, armed=state.armed)
        fires = verdict.fires
        skipped = fires and within_limit_period(
            automation.spec.limit_period_s, last_fired_at=state.last_fired_at, now=change.ts
        )
        changed_arming = verdict.armed != state.armed
        state.armed = verdict.armed
        if fires and not skipped:
            state.last_fired_at = change.ts
        save = changed_arming or (fires and not skipped)
        if not save and not fires:
            return None
        trigger = None
        if fires:
            trigger = Trigger(
                kind=condition.kind.value,
                device_id=int(change.device_id),
                datastream_id=int(datastream_id),
                value=read_text_plain(value),
                display=self._display(change.device_id, datastream_id, value),
                hops=change.hops,
            )
        return _Firing(
            automation=automation,
            save=save,
            armed=state.armed,
            fired_at=state.last_fired_at if fires and not skipped else None,
            trigger=trigger,
            skipped=skipped,
        )

    def _display(self, device_id: DeviceId, datastream_id: DatastreamId, value: Value) -> str:
        bound = self._directory.by_id(device_id)
        if bound is not None:
            with contextlib.suppress(UnknownDatastream):
                return trigger_text(bound.template.datastream(datastream_id), value)
        return read_text_plain(value)

    async def _referenced_gone(
        self, *, reason: str, devices: Set[int] = frozenset(), pairs: Set[Key] = frozenset()
    ) -> None:
        """Switch off every automation naming a deleted device or datastream, with a log row
        (spec §3.7)."""
        now = self._clock()
        gone = [
            automation
            for automation in self._rules.values()
            if referenced_devices(automation.spec) & devices
            or referenced_datastreams(automation.spec) & pairs
        ]
        for automation in gone:
            async with self._store.transaction() as tx:
                await tx.set_automation_active(automation.id, active=False)
                await tx.cancel_continuations(automation.id, finished_at=now)
            self.forget(automation.id)
            inactive = replace(automation, spec=replace(automation.spec, is_active=False))
            await self._runner.skip(
                inactive, Trigger(kind=automation.spec.condition.kind.value), reason=reason
            )

    async def purge_log(self) -> int:
        """Drop finished runs older than the log retention (spec §5.6: 90 days); how many."""
        async with self._store.transaction() as tx:
            return await tx.delete_automation_runs_before(self._clock() - self._log_retention_ms)

    async def _schedule(self) -> None:
        while True:
            # Cleared before looking, so that a wake (a new slot, a stored continuation) that
            # comes while this pass runs makes another pass rather than being lost.
            self._wake.clear()
            self._next_look = None
            delay = POLL_S
            try:
                await self.run_due()
                now = self._clock()
                due_purge = self._purged_at is None or now - self._purged_at >= PURGE_EVERY_MS
                if self._leading and due_purge:
                    self._purged_at = now
                    await self.purge_log()
                async with self._store.transaction() as tx:
                    next_continuation = await tx.next_continuation_due()
                upcoming = [slot.at for slot in self._slots.values()] if self._leading else []
                if next_continuation is not None:
                    upcoming.append(next_continuation)
                now = self._clock()
                if upcoming:
                    delay = min(delay, max(0.0, (min(upcoming) - now) / 1000))
                if self._next_look is None:
                    self._next_look = now + round(delay * 1000)
            except Exception:
                logger.exception("automation.scheduler_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)


def _key(condition: DeviceState) -> Key:
    return (condition.device_id, condition.datastream_id)


def read_stored(row: StoredAutomation) -> Automation:
    """The automation a stored row holds."""
    spec = parse_automation(row.spec, max_actions=MAX_STORED_ACTIONS)
    return Automation(
        id=row.id,
        org_id=row.org_id,
        owner_id=row.owner_id,
        spec=replace(spec, is_active=row.is_active),
        created_at=row.created_at,
        last_executed_at=row.last_executed_at,
        opted_out=row.opted_out,
    )
