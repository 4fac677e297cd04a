"""Running an automation's actions, in list order, with a log row per action (automations.md
§3.5, §3.7).

A run has a ``automation_runs`` row and logs each action ``OK``, ``FAILED`` or ``SKIPPED`` with a
reason; a failed action does not stop the rest. The rows are written with the first transaction
the run needs anyway: a run without a WAIT or a message writes its row (with start and finish
times) and its action rows in one transaction once its actions ran, shared with the other runs
that finished meanwhile (group commit); a message is queued in the
same transaction as the run row (``RUNNING``) and the log rows so far, and a WAIT's
continuation likewise. So a crash in the middle of a run may lose that run's log (its writes
were made), never a queued message or a continuation without its run row. A ``WAIT`` ends the step:
the rest of the run is stored as a continuation (``automation_continuations``) due when the wait
ends, with the run row and its log rows so far, in the run log's next group commit; a restart
resumes it; the engine's scheduler picks it up (told its due time through ``on_pause``). When the
last action ran, the run closes ``OK``, or ``FAILED`` when any action failed.

Writes go through the value pipeline (``Telemetry.record``) with origin ``automation``: stored,
announced, pushed to a connected device like any console write, and not observed by Device State
rules (§3.4). They enter the device's actions log as client ``AUTOMATION`` (PLT-DEV-20) with the
run's log rows, in the same transactions, so a crash that loses a run's log loses them too.
Actions reach only devices of the automation's organization and below, checked when they run
(``NO_ACCESS``).

Control Segment reads the segment's members when it runs (§3.5: "acts on the devices in the
segment at run time"), keeps those of the automation's organization and below, and writes each
one's datastreams named like the properties (by label, ignoring case) through the same pipeline.
Its action row sums up (``OK`` with the device count, ``FAILED`` when a write failed, ``SKIPPED``
for an empty segment); each device and datastream gets a row of its own (the log "lists each
device"), numbered past every action's own row (``segment_row_seq``) since a log row's key is
(run, seq).
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pinbase.domain.automation_rules import check_value, forward_value, named_datastreams
from pinbase.domain.automation_text import PlaceholderValues, expand
from pinbase.domain.automation_times import wait_until
from pinbase.domain.automations import (
    Action,
    ActionKind,
    Automation,
    ControlDevice,
    ControlSegment,
    ForwardDeviceData,
    InvalidAutomation,
    LogEvent,
    SendMessage,
    Wait,
)
from pinbase.domain.deliveries import DeliveryKind
from pinbase.domain.errors import PinbaseError, UnknownDatastream, ValueMismatch
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.services.actions import ActionsLog
from pinbase.services.clock import Clock
from pinbase.services.directory import BoundDevice, Directory
from pinbase.services.events import EventDropped, EventLog
from pinbase.services.reactions.messages import EMAIL, PUSH, SMS, OutgoingMessage
from pinbase.services.reactions.notifications import Notifications
from pinbase.services.reactions.outbox import Wake
from pinbase.services.segments import Segments
from pinbase.services.telemetry import Telemetry
from pinbase.storage.automations import ActionLogEntry, NewAutomationRun
from pinbase.storage.base import Store, Transaction
from pinbase.storage.device_records import DeviceAction

logger = logging.getLogger(__name__)

_CHANNELS = {
    ActionKind.SEND_EMAIL: EMAIL,
    ActionKind.SEND_NOTIFICATION: PUSH,
    ActionKind.SEND_SMS: SMS,
}

SEGMENT_ROWS_BASE = 1_000_000
"""Control Segment's per-device log rows are numbered from here (``segment_row_seq``): past the
50 (at most a few hundred) actions' own rows."""
SEGMENT_ROWS_PER_ACTION = 1_000_000
"""Room for one action's per-device rows: a segment holds at most 10,000 devices
(``domain.segments.MAX_DEVICES``), an action sets at most 20 properties; rows past the room are
not logged (the summary row still counts the devices)."""

AUTOMATION_ORIGIN = "automation"
"""The ``ValuesChanged.origin`` of automation writes; Device State rules ignore it (§3.4)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Trigger:
    """What fired a run: ``kind`` is the condition kind; a Device State trigger names its
    device, datastream and value (``value`` as plain text for forwarding, ``display`` with the
    datastream's decimals or enum label for ``{TRIGGER_VALUE}``)."""

    kind: str
    device_id: int | None = None
    datastream_id: int | None = None
    value: str | None = None
    display: str | None = None
    hops: int = 0
    """Rule steps that led to the triggering write (``ValuesChanged.hops``); writes of the run
    carry one more, so a chain of rules ends (issue #10)."""

    def to_json(self) -> dict[str, Any]:
        """The trigger as a continuation keeps it."""
        return {
            "kind": self.kind,
            "deviceId": self.device_id,
            "dataStreamId": self.datastream_id,
            "value": self.value,
            "display": self.display,
            "hops": self.hops,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Trigger":
        """Read back ``to_json``."""
        return cls(
            kind=str(data.get("kind", "")),
            device_id=data.get("deviceId"),
            datastream_id=data.get("dataStreamId"),
            value=data.get("value"),
            display=data.get("display"),
            hops=int(data.get("hops") or 0),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """How one action ended, as its log row says."""

    status: str
    reason: str | None = None
    device_id: int | None = None
    datastream_id: int | None = None
    value: str | None = None


class AutomationRunner:
    """Runs actions and logs them."""

    def __init__(
        self,
        *,
        store: Store,
        directory: Directory,
        telemetry: Telemetry,
        events: EventLog,
        clock: Clock,
        notifications: Notifications | None = None,
        wake_outbox: Wake | None = None,
        actions: ActionsLog | None = None,
        segments: Segments | None = None,
    ) -> None:
        self._segments = segments
        self._store = store
        self._actions = actions
        self._directory = directory
        self._telemetry = telemetry
        self._events = events
        self._clock = clock
        self._notifications = notifications
        self._wake_outbox = wake_outbox
        self._finished: list[_Run] = []
        self._pauses: list[_Pause] = []
        self._states: list[tuple[int, bool, int | None]] = []
        self._on_pause: Callable[[int], None] | None = None
        self._waiting: list[asyncio.Future[None]] = []
        self._finishing: asyncio.Task[None] | None = None

    async def start(self, automation: Automation, trigger: Trigger) -> int:
        """Run a new firing's actions up to the first WAIT, logging it; return the run's id.

        The run row is written lazily (see ``_Run``): a run without a WAIT or a message is
        logged in one transaction once its actions ran, with its start and finish times."""
        run = _Run(automation, trigger, started_at=self._clock())
        await self._steps(run, step=0, failed=False)
        assert run.id is not None
        return run.id

    async def skip(self, automation: Automation, trigger: Trigger, *, reason: str) -> None:
        """Log a firing that does not run (Limit Period, no sun event)."""
        now = self._clock()
        run = _Run(automation, trigger, started_at=now)
        run.status, run.reason, run.finished_at = "SKIPPED", reason, now
        await self._finish(run)
        logger.info("automation.skipped id=%d reason=%s", automation.id, reason)

    async def resume(
        self, automation: Automation, run_id: int, trigger: Trigger, *, step: int, failed: bool
    ) -> None:
        """Run actions from ``step`` on until a WAIT (stored as a continuation) or the end."""
        run = _Run(automation, trigger, started_at=self._clock(), run_id=run_id)
        await self._steps(run, step=step, failed=failed)

    async def _steps(self, run: "_Run", *, step: int, failed: bool) -> None:
        automation = run.automation
        actions = automation.spec.actions
        for seq in range(step, len(actions)):
            action = actions[seq]
            if isinstance(action, Wait):
                due = wait_until(action, self._clock())
                self._log(run, seq, action, Outcome(status="OK", value=str(due)))
                await self._commit(wait=_Pause(run, step=seq + 1, due_at=due, failed=failed))
                return
            outcome = await self._guarded(run, seq, action)
            failed = failed or outcome.status == "FAILED"
        run.status = "FAILED" if failed else "OK"
        run.finished_at = self._clock()
        await self._finish(run)

    def on_pause(self, listener: Callable[[int], None]) -> None:
        """Tell ``listener`` the due time of each continuation once it is committed (the
        engine's scheduler wakes for it)."""
        self._on_pause = listener

    async def flush(self) -> None:
        """Return once the pending run log and rule states are committed (shutdown)."""
        if self._finishing is not None:
            await asyncio.wait([self._finishing])

    async def save_states(self, states: Sequence[tuple[int, bool, int | None]]) -> None:
        """Persist Device State rules' arming (automation id, armed, last fired at or None to
        keep it) in the run log's next group commit; return once committed."""
        await self._commit(states=states)

    async def _finish(self, run: "_Run") -> None:
        """Log a finished run; runs finishing meanwhile share one transaction (group commit)."""
        await self._commit(run=run)

    async def _commit(
        self,
        *,
        run: "_Run | None" = None,
        wait: "_Pause | None" = None,
        states: Sequence[tuple[int, bool, int | None]] = (),
    ) -> None:
        done = asyncio.get_running_loop().create_future()
        if run is not None:
            self._finished.append(run)
        if wait is not None:
            self._pauses.append(wait)
        self._states.extend(states)
        self._waiting.append(done)
        if self._finishing is None:
            self._finishing = asyncio.get_running_loop().create_task(
                self._commit_finished(), name="automation_run_log"
            )
        await done

    async def _commit_finished(self) -> None:
        """Commit what is pending, one transaction at a time, until nothing is: rule states
        first (in the order given), then the finished runs, then the paused ones (a WAIT: the
        run row, its log rows so far and its continuation)."""
        try:
            while self._waiting:
                runs, self._finished = self._finished, []
                pauses, self._pauses = self._pauses, []
                states, self._states = self._states, []
                waiting, self._waiting = self._waiting, []
                try:
                    async with self._store.short_transaction() as tx:
                        await tx.save_automation_states(states)
                        await self._close(runs, tx)
                        for pause in pauses:
                            await self._pause(tx, pause)
                except Exception as error:
                    for done in waiting:
                        if not done.done():
                            done.set_exception(error)
                else:
                    if pauses and self._on_pause is not None:
                        self._on_pause(min(pause.due_at for pause in pauses))
                    for done in waiting:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._finishing = None

    async def _close(self, runs: list["_Run"], tx: Transaction) -> None:
        """Log finished runs in a few statements: new rows in one insert, the finish of rows
        written earlier (``RUNNING``), and every kept action row in one insert."""
        new = [run for run in runs if run.id is None]
        for run in runs:
            if run.id is not None:
                assert run.status is not None
                assert run.finished_at is not None
                await tx.finish_automation_run(
                    run.id, status=run.status, finished_at=run.finished_at
                )
        ids = await tx.add_automation_runs([self._new_run(run) for run in new])
        for run, run_id in zip(new, ids, strict=True):
            run.id = run_id
        entries = [replace(e, run_id=run.id or 0) for run in runs for e in run.pending]
        await tx.add_action_log(entries)
        await tx.add_device_actions([entry for run in runs for entry in run.device_actions])
        for run in runs:
            run.pending.clear()
            run.device_actions.clear()

    async def _pause(self, tx: Transaction, pause: "_Pause") -> None:
        """Store a WAIT's continuation with its run row and the log rows so far."""
        run = pause.run
        run_id = await self._flush(tx, run)
        await tx.add_continuation(
            automation_id=run.automation.id,
            run_id=run_id,
            step=pause.step,
            due_at=pause.due_at,
            context={"trigger": run.trigger.to_json(), "failed": pause.failed},
        )

    @staticmethod
    def _new_run(run: "_Run", *, status: str | None = None) -> NewAutomationRun:
        status = status or run.status
        assert status is not None
        trigger = run.trigger
        return NewAutomationRun(
            automation_id=run.automation.id,
            org_id=run.automation.org_id,
            trigger_kind=trigger.kind,
            trigger_device_id=trigger.device_id,
            trigger_datastream_id=trigger.datastream_id,
            trigger_value=trigger.display,
            started_at=run.started_at,
            finished_at=run.finished_at,
            status=status,
            reason=run.reason,
        )

    async def _add_run(self, tx: Transaction, run: "_Run") -> int:
        """Write a run's row as ``RUNNING`` (before its message or WAIT); its id."""
        [run_id] = await tx.add_automation_runs([self._new_run(run, status="RUNNING")])
        return run_id

    async def _flush(self, tx: Transaction, run: "_Run") -> int:
        """Write the run row (``RUNNING``) if not yet written and the action rows kept so far,
        in ``tx``; return the run's id."""
        if run.id is None:
            run.id = await self._add_run(tx, run)
        if run.pending:
            await tx.add_action_log([replace(entry, run_id=run.id) for entry in run.pending])
            run.pending.clear()
        if run.device_actions:
            await tx.add_device_actions(run.device_actions)
            run.device_actions.clear()
        return run.id

    async def _guarded(self, run: "_Run", seq: int, action: Action) -> Outcome:
        """Run one action and keep its log row (written with the run's next transaction); an
        unexpected error is a FAILED row, never a lost run.

        Writes and events commit through their own use cases (a transaction must not be open
        meanwhile: SQLite's store serializes them). A message is queued in a transaction that
        also writes the run row and the log rows so far, so a queued message always has its
        run logged; a crash between two transactions loses only log rows, never a message.
        """
        automation, trigger = run.automation, run.trigger
        try:
            if isinstance(action, SendMessage):
                async with self._store.transaction() as tx:
                    outcome, kinds = await self._message(tx, automation, action, trigger)
                    self._log(run, seq, action, outcome)
                    await self._flush(tx, run)
                if kinds and self._wake_outbox is not None:
                    self._wake_outbox(*kinds)
                return outcome
            if isinstance(action, LogEvent):
                outcome = await self._log_event(automation, action, trigger)
            elif isinstance(action, ControlSegment):
                outcome = await self._control_segment(run, seq, action)
            else:
                assert not isinstance(action, Wait)
                outcome = await self._write(run, action)
        except Exception:
            logger.exception("automation.action_failed id=%d seq=%d", automation.id, seq)
            outcome = Outcome(status="FAILED", reason="INTERNAL_ERROR")
        self._log(run, seq, action, outcome)
        return outcome

    async def _write(self, run: "_Run", action: ControlDevice | ForwardDeviceData) -> Outcome:
        automation, trigger = run.automation, run.trigger
        target = Outcome(status="", device_id=action.device_id, datastream_id=action.datastream_id)
        bound, refusal = self._reachable(automation, action.device_id)
        if bound is None:
            return _with(target, status=refusal[0], reason=refusal[1])
        try:
            datastream = bound.template.datastream(action.datastream_id)
        except UnknownDatastream:
            return _with(target, status="FAILED", reason="DATASTREAM_NOT_FOUND")
        try:
            if isinstance(action, ControlDevice):
                value = check_value(action, datastream)
            else:
                value = forward_value(trigger.value or "", datastream)
        except (InvalidAutomation, ValueMismatch) as error:
            return _with(target, status="FAILED", reason=f"VALUE_MISMATCH: {error}")
        ts = await self._telemetry.record(
            bound.device,
            [(datastream, value)],
            origin=AUTOMATION_ORIGIN,
            origin_id=automation.id,
            hops=trigger.hops + 1,
        )
        if self._actions is not None:
            run.device_actions += self._actions.automation_entries(
                bound.device, [(datastream, value)], ts=ts, automation_name=automation.spec.name
            )
        return _with(target, status="OK", value=str(value))

    async def _control_segment(self, run: "_Run", seq: int, action: ControlSegment) -> Outcome:
        """Write the properties to every device of the segment now; a log row per device and
        datastream, and the summary outcome."""
        automation, trigger = run.automation, run.trigger
        org_id = OrgId(automation.org_id)
        if self._segments is None:
            return Outcome(status="FAILED", reason="SEGMENT_NOT_FOUND")
        async with self._store.transaction() as tx:
            segment = await tx.find_segment(action.segment_id)
        if segment is None or segment.org_id not in self._directory.subtree(org_id):
            return Outcome(status="FAILED", reason="SEGMENT_NOT_FOUND")
        members = await self._segments.members(segment, org_id=org_id)
        if not members:
            return Outcome(status="SKIPPED", reason="EMPTY_SEGMENT")
        rows = 0
        written = failed = 0

        def row(outcome: Outcome) -> None:
            nonlocal rows
            if rows < SEGMENT_ROWS_PER_ACTION:
                self._log(run, segment_row_seq(seq, rows), action, outcome)
            rows += 1

        for member in members:
            device_id = int(member.device.id)
            bound, refusal = self._reachable(automation, device_id)
            if bound is None:
                row(Outcome(status=refusal[0], reason=refusal[1], device_id=device_id))
                continue
            writes = []
            for prop in action.properties:
                matched = named_datastreams(bound.template, prop.name)
                if not matched:
                    row(Outcome(status="SKIPPED", reason="NO_SUCH_DATASTREAM", device_id=device_id))
                for datastream in matched:
                    target = Outcome(status="", device_id=device_id, datastream_id=datastream.id)
                    try:
                        writes.append((datastream, check_value(prop, datastream)))
                    except InvalidAutomation as error:
                        failed += 1
                        row(_with(target, status="FAILED", reason=f"VALUE_MISMATCH: {error}"))
            if not writes:
                continue
            try:
                ts = await self._telemetry.record(
                    bound.device,
                    writes,
                    origin=AUTOMATION_ORIGIN,
                    origin_id=automation.id,
                    hops=trigger.hops + 1,
                )
            except PinbaseError as error:
                # One device's refusal (deleted meanwhile, a rate limit) spares the others.
                failed += 1
                row(Outcome(status="FAILED", reason=str(error)[:200], device_id=device_id))
                continue
            if self._actions is not None:
                run.device_actions += self._actions.automation_entries(
                    bound.device, writes, ts=ts, automation_name=automation.spec.name
                )
            written += 1
            for datastream, value in writes:
                row(
                    Outcome(
                        status="OK",
                        device_id=device_id,
                        datastream_id=datastream.id,
                        value=str(value),
                    )
                )
        summary = f"{written} of {len(members)} devices"
        return Outcome(status="FAILED" if failed else "OK", value=summary)

    async def _message(
        self, tx: Transaction, automation: Automation, action: SendMessage, trigger: Trigger
    ) -> tuple[Outcome, set[DeliveryKind]]:
        """Queue the rendered message through the notification planner (it applies recipients,
        channel, the 5 s gap and the hourly quota, and logs what it suppressed and why); the
        outcome and the kinds of the deliveries queued."""
        if self._notifications is None:
            return Outcome(status="FAILED", reason="CHANNEL_DISABLED"), set()
        values = self._placeholders(automation, trigger)
        legacy = automation.spec.legacy
        message = OutgoingMessage(
            org_id=automation.org_id,
            device_id=trigger.device_id,
            channel=_CHANNELS[action.kind],
            user_ids=tuple(r.user_id for r in action.recipients if r.user_id is not None),
            addresses=tuple(r.address for r in action.recipients if r.address is not None),
            subject=expand(action.subject, values, legacy=legacy),
            body=expand(action.body, values, legacy=legacy),
            source="AUTOMATION",
            source_ref=str(automation.id),
            hourly_quota=True,
        )
        deliveries = await self._notifications.queue_message(tx, message)
        if not deliveries:
            # Why is in the notification log (``MIN_INTERVAL``, ``HOURLY_QUOTA``, routing).
            return (
                Outcome(status="SKIPPED", reason="SUPPRESSED", device_id=trigger.device_id),
                set(),
            )
        return (
            Outcome(status="OK", device_id=trigger.device_id, value=f"{len(deliveries)} queued"),
            {delivery.kind for delivery in deliveries},
        )

    async def _log_event(
        self, automation: Automation, action: LogEvent, trigger: Trigger
    ) -> Outcome:
        device_id = action.device_id or trigger.device_id
        if device_id is None:
            return Outcome(status="FAILED", reason="NO_DEVICE")
        bound, refusal = self._reachable(automation, device_id)
        if bound is None:
            return Outcome(status=refusal[0], reason=refusal[1], device_id=device_id)
        event = bound.template.event(action.event_code)
        if event is None:
            return Outcome(status="FAILED", reason="EVENT_NOT_FOUND", device_id=device_id)
        try:
            await self._events.log(bound.device, event, action.description)
        except EventDropped as dropped:
            return Outcome(status="SKIPPED", reason=dropped.reason, device_id=device_id)
        except PinbaseError as error:
            return Outcome(status="FAILED", reason=str(error)[:200], device_id=device_id)
        return Outcome(status="OK", device_id=device_id, value=action.event_code)

    def _reachable(
        self, automation: Automation, device_id: int
    ) -> tuple[BoundDevice | None, tuple[str, str]]:
        if device_id in automation.opted_out:
            return None, ("SKIPPED", "DEVICE_OPTED_OUT")
        bound = self._directory.by_id(DeviceId(device_id))
        if bound is None:
            return None, ("FAILED", "DEVICE_NOT_FOUND")
        if bound.device.org_id not in self._directory.subtree(OrgId(automation.org_id)):
            return None, ("SKIPPED", "NO_ACCESS")
        return bound, ("OK", "")

    def _placeholders(self, automation: Automation, trigger: Trigger) -> PlaceholderValues:
        org = self._directory.organization(OrgId(automation.org_id))
        bound = (
            None
            if trigger.device_id is None
            else self._directory.by_id(DeviceId(trigger.device_id))
        )
        return PlaceholderValues(
            org_name=None if org is None else org.name,
            product_name=None if bound is None else bound.template.name,
            device_name=None if bound is None else bound.device.name,
            trigger_value=trigger.display,
        )

    def _log(self, run: "_Run", seq: int, action: Action, outcome: Outcome) -> None:
        """Keep an action's log row for the run's next transaction (``_flush``)."""
        run.pending.append(
            ActionLogEntry(
                run_id=run.id or 0,
                seq=seq,
                type=action.kind.value,
                device_id=outcome.device_id,
                datastream_id=outcome.datastream_id,
                value=outcome.value,
                status=outcome.status,
                reason=outcome.reason,
                ts=self._clock(),
            )
        )


class _Run:
    """A run in progress: its row is written with the first transaction the run needs (a
    message, a WAIT, or the finish), its action rows kept until then."""

    __slots__ = (
        "automation",
        "device_actions",
        "finished_at",
        "id",
        "pending",
        "reason",
        "started_at",
        "status",
        "trigger",
    )

    def __init__(
        self,
        automation: Automation,
        trigger: Trigger,
        *,
        started_at: int,
        run_id: int | None = None,
    ) -> None:
        self.automation = automation
        self.trigger = trigger
        self.started_at = started_at
        self.id = run_id
        self.pending: list[ActionLogEntry] = []
        self.device_actions: list[DeviceAction] = []
        """Actions-log entries of the run's writes (PLT-DEV-20), written with ``pending``."""
        self.status: str | None = None
        self.finished_at: int | None = None
        self.reason: str | None = None


@dataclass(frozen=True, slots=True)
class _Pause:
    """A run stopped at a WAIT: it goes on from ``step`` at ``due_at``."""

    run: _Run
    step: int
    due_at: int
    failed: bool


def segment_row_seq(seq: int, row: int) -> int:
    """The log row number of a Control Segment action's ``row``-th device row (the action at
    ``seq``): after every action's own row, grouped by action."""
    return SEGMENT_ROWS_BASE + seq * SEGMENT_ROWS_PER_ACTION + row


def _with(outcome: Outcome, **changes: Any) -> Outcome:
    return replace(outcome, **changes)
