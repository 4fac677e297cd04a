"""The outbox dispatcher: sends stored deliveries at least once, with retries (automations.md §5.1).

Theory of operation. Producers commit ``outbox`` rows in the transaction of their cause and then
call ``wake``. The dispatcher task claims due rows per kind, as many as that kind has free
workers (``MAX_IN_FLIGHT``): a claim marks each row ``IN_FLIGHT`` with a lease of
``LEASE_MS`` and counts the attempt, in one short transaction. Each claimed delivery then runs
its kind's sender in a task of its own; the sender's ``Outcome`` decides the row's next state:
``Sent`` and ``Failed`` are final, ``Retry`` schedules the next attempt from the kind's
``RetryPolicy`` (with jitter; a receiver's ``Retry-After`` is honoured up to five minutes), or
gives up with ``Failed("GAVE_UP")`` once the policy is spent. Finishing names the attempt, so a
worker whose lease ran out (the row was claimed again) changes nothing; a server killed
mid-send leaves the row in flight until its lease ends and then sends it again, which is why
receivers de-duplicate on the delivery id. ``on_final`` runs once a delivery ended, after that
was committed, so its owner can log the outcome.

Claims are few: wakes coalesce (one claim round however many came meanwhile), a wake may name
the kinds it added rows of, and a round claims only the kinds woken, plus a kind whose last
claim filled its free workers once one of them is free again (more rows may be waiting). A
kind whose claim came back short has nothing else due until a wake or the poll. A sender may
hand its outcome a ``record`` step: it runs in the transaction that finishes the row, so a
sender's own bookkeeping (a log row, a counter) costs no commit of its own.

Between wakes the task sleeps until the next row it knows of becomes due: its own retries, a
producer's rows due later (``wake(due_at=…)``: an offline notice's delay), and, read from the
table in the claim's transaction at start, at each poll and when a known due time came, the
kind's next row (another process's, a lease that ends). A kind whose workers are all busy
needs no timer (a freed worker wakes it). Beyond that it polls every ``POLL_S``, every kind, only
for rows another process committed without waking it (issue #10: the 1 s poll of every kind was
idle work). A failed claim backs off (``CLAIM_BACKOFF_S`` doubling up to ``POLL_S``) and claims
nothing meanwhile, wakes included, so a database that is down costs a log line per back-off
rather than one per wake. On ``stop`` it claims nothing more and lets every started send finish
its row.
"""

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from pinbase.domain.deliveries import Delivery, DeliveryKind, DeliveryState
from pinbase.services.clock import Clock
from pinbase.storage.base import Store, Transaction

logger = logging.getLogger(__name__)

LEASE_MS = 60_000
"""How long a claimed delivery stays ours (§5.1): longer than any sender may take (an HTTP call
ends within 10 s, an SMTP exchange within a few 10 s command timeouts), short enough that a
killed server's rows go out again within a minute of its restart."""

POLL_S = 30.0
"""How often the task looks, in every kind, for rows nobody woke it for (another process
committed them); due times it knows of (retries, delayed notices, leases) wake it on time."""

MIN_SLEEP_S = 0.01
"""The shortest sleep before a known due time: a due time already past (another dispatcher holds
the row, PostgreSQL's SKIP LOCKED) is looked at again after this, not in a busy loop."""

CLAIM_BACKOFF_S = 1.0
"""The pause after a failed claim, doubled after each further failure up to ``POLL_S``."""

MAX_IN_FLIGHT = {
    DeliveryKind.EMAIL: 4,
    DeliveryKind.PUSH: 16,
    DeliveryKind.SMS: 4,
    DeliveryKind.WEBHOOK: 16,
    DeliveryKind.AUTOMATION_CONTINUATION: 16,
}
"""Sends of one kind at once (§5.1): SMTP relays dislike many parallel sessions; HTTP is cheap."""

MAX_RETRY_AFTER_MS = 5 * 60_000
"""The longest ``Retry-After`` honoured (§5.1); a longer one waits this long."""

JITTER = 0.2
"""Retry delays vary by ±20 % (§5.1), so that failures of one moment do not retry together."""

MAX_ERROR_CHARS = 1000
"""The stored ``last_error`` is cut to this length: it is for a person reading the log."""

GAVE_UP = "GAVE_UP"
"""The reason of a delivery whose retries were spent (§5.4)."""

SENDER_ERROR = "SENDER_ERROR"
"""The error of an attempt whose sender raised instead of answering an outcome."""


Record = Callable[[Transaction, bool], Awaitable[None]]
"""A sender's bookkeeping for one attempt, run in the transaction that finishes the delivery's
row; the flag says whether the row was still ours (False: the lease ran out and the row was
claimed again)."""


@dataclass(frozen=True, slots=True)
class Sent:
    """The receiver accepted the delivery; ``detail`` is for the log (a status, a message id)."""

    detail: str = ""
    record: Record | None = field(default=None, kw_only=True, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Retry:
    """A transient failure: try again per the kind's schedule, not before ``after_ms`` (the
    receiver's ``Retry-After``) when given."""

    error: str
    after_ms: int | None = None
    record: Record | None = field(default=None, kw_only=True, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Failed:
    """A permanent failure (``reason`` as in the notification log, §5.4): never retried."""

    reason: str
    error: str = ""
    record: Record | None = field(default=None, kw_only=True, compare=False, repr=False)


Outcome = Sent | Retry | Failed
Sender = Callable[[Delivery], Awaitable[Outcome]]
"""Sends one delivery; must not raise (a raise counts as ``Retry``, logged)."""
FinalHook = Callable[[Delivery, Sent | Failed], Awaitable[None]]
"""Called once per delivery that ended, after its final state was committed."""


class Wake(Protocol):
    """``Outbox.wake`` as producers hold it: name the kinds whose rows were committed."""

    def __call__(self, *kinds: DeliveryKind, due_at: int | None = None) -> None: ...


Random = Callable[[], float]
"""A uniform number in [0, 1), for jitter; tests pass a fixed one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """When a kind's deliveries are tried again (§5.1).

    ``delays_ms[n]`` follows the failed attempt ``n + 1``; past them ``repeat_ms`` repeats (None:
    give up once they are spent). A retry that would fall more than ``max_age_ms`` after the
    delivery was due gives up instead (None: no age limit).
    """

    delays_ms: tuple[int, ...]
    repeat_ms: int | None = None
    max_age_ms: int | None = None

    def next_delay(self, attempts: int) -> int | None:
        """The delay after the ``attempts``-th failed attempt, before jitter; None to give up."""
        if attempts <= len(self.delays_ms):
            return self.delays_ms[attempts - 1]
        return self.repeat_ms


_S = 1000
_MIN = 60 * _S
_HOUR = 60 * _MIN

RETRY_POLICIES = {
    DeliveryKind.EMAIL: RetryPolicy(
        delays_ms=(30 * _S, 2 * _MIN, 10 * _MIN, 30 * _MIN, _HOUR, 2 * _HOUR),
        repeat_ms=4 * _HOUR,
        max_age_ms=24 * _HOUR,
    ),
    DeliveryKind.PUSH: RetryPolicy(
        delays_ms=(10 * _S, _MIN, 5 * _MIN, 15 * _MIN, 30 * _MIN), max_age_ms=_HOUR
    ),
    DeliveryKind.WEBHOOK: RetryPolicy(delays_ms=(10 * _S, 60 * _S, 5 * _MIN)),
    # An SMS is an alert like a push: past an hour it is noise (issue #10 SMS, docs/decisions.md).
    DeliveryKind.SMS: RetryPolicy(delays_ms=(10 * _S, _MIN, 5 * _MIN, 15 * _MIN), max_age_ms=_HOUR),
    # A continuation is never dropped while its automation is enabled (disabling cancels it).
    DeliveryKind.AUTOMATION_CONTINUATION: RetryPolicy(
        delays_ms=(10 * _S, _MIN), repeat_ms=5 * _MIN
    ),
}
"""The schedules of §5.1; each sender decides which failures are transient (``Retry``)."""


@dataclass(frozen=True, slots=True)
class _Route:
    sender: Sender
    on_final: FinalHook | None


class Outbox:
    """Claims due deliveries, runs their kind's sender, and records the outcome."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        random_source: Random = random.random,
        poll_s: float = POLL_S,
        backoff_s: float = CLAIM_BACKOFF_S,
    ) -> None:
        self._store = store
        self._clock = clock
        self._random = random_source
        self._poll_s = poll_s
        self._backoff_s = backoff_s
        self._routes: dict[DeliveryKind, _Route] = {}
        self._in_flight: dict[DeliveryKind, int] = dict.fromkeys(DeliveryKind, 0)
        self._sends: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._woken: set[DeliveryKind] = set(DeliveryKind)
        self._full: set[DeliveryKind] = set()
        self._due: dict[DeliveryKind, int] = {}
        self._learn = True
        self._sleep_until: int | None = None
        self._claim_failures = 0
        self._backoff_until: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._stopped = asyncio.Event()

    def register(
        self, kind: DeliveryKind, sender: Sender, *, on_final: FinalHook | None = None
    ) -> None:
        """Send deliveries of ``kind`` with ``sender``; ``on_final`` hears how each one ended.

        Deliveries of a kind nobody registered stay stored until someone does.

        Raises:
            ValueError: ``kind`` already has a sender.
        """
        if kind in self._routes:
            raise ValueError(f"{kind} deliveries already have a sender")
        self._routes[kind] = _Route(sender, on_final)
        self._wake.set()  # stored deliveries of the kind may be due

    def start(self) -> None:
        """Start the dispatcher task on the running loop; it looks for due rows at once."""
        self._wake.set()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox")

    async def stop(self) -> None:
        """Claim nothing more, let every started send finish its row, then end the task."""
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        while self._sends:
            await asyncio.gather(*self._sends, return_exceptions=True)

    def wake(self, *kinds: DeliveryKind, due_at: int | None = None) -> None:
        """New rows of ``kinds`` (every kind when none is named) were committed: look for due
        ones now rather than at the next poll. ``due_at`` is the earliest due time of the rows
        when it may be later than now: the task then claims at that time, not now (a producer
        of later rows must name it, or they wait for the poll)."""
        kinds = kinds or tuple(DeliveryKind)
        if due_at is not None and due_at > self._clock():
            for kind in kinds:
                self._note_due(kind, due_at)
            return
        self._woken.update(kinds)
        self._wake.set()

    def _note_due(self, kind: DeliveryKind, at: int) -> None:
        """A row of ``kind`` becomes due at ``at``: wake then, or now to sleep less long."""
        known = self._due.get(kind)
        if known is None or at < known:
            self._due[kind] = at
            if self._sleep_until is not None and at < self._sleep_until:
                self._wake.set()

    async def run_due(self) -> int:
        """Send everything due at the clock's now, retries included, and wait for the sends to
        finish; return how many attempts ran. For tests and the CLI, beside the task."""
        ran = 0
        while True:
            started = await self._claim_and_start(set(DeliveryKind))
            if not started:
                return ran
            ran += len(started)
            await asyncio.gather(*started, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._backoff_until is not None:
                # A claim failed: wait out the back-off; wakes meanwhile are kept, not acted on.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, self._backoff_until - loop.time())):
                        await self._stopped.wait()
                self._backoff_until = None
            else:
                idle_s = self._idle_s()
                if idle_s is not None:
                    self._sleep_until = self._clock() + round(idle_s * 1000)
                try:
                    async with asyncio.timeout(idle_s):
                        await self._wake.wait()
                except TimeoutError:
                    # The poll or a known due time: claim every kind, and read the due times.
                    self._woken.update(self._routes)
                    self._learn = True
                self._sleep_until = None
            self._wake.clear()
            if self._stopping:
                return
            kinds, self._woken = self._woken, set()
            learn, self._learn = self._learn, False
            try:
                await self._claim_and_start(kinds, learn=learn)
            except Exception:
                logger.exception("outbox.claim_failed")
                self._back_off()

    def _idle_s(self) -> float | None:
        """How long to wait for a wake: until the soonest due time known of a kind with free
        workers, at most ``POLL_S``; no limit while nobody registered (nothing to claim)."""
        if not self._routes:
            return None
        due = [at for kind, at in self._due.items() if kind not in self._full]
        if not due:
            return self._poll_s
        return min(self._poll_s, max(MIN_SLEEP_S, (min(due) - self._clock()) / 1000))

    def _back_off(self) -> None:
        """Pause claims after a failure, longer after each one in a row."""
        self._claim_failures += 1
        pause = min(
            max(self._poll_s, self._backoff_s),
            self._backoff_s * 2 ** min(self._claim_failures - 1, 16),
        )
        self._backoff_until = asyncio.get_running_loop().time() + pause

    async def _claim_and_start(
        self, kinds: set[DeliveryKind], *, learn: bool = False
    ) -> list[asyncio.Task[None]]:
        """One claim per kind of ``kinds`` with free workers; a task per claimed delivery.

        A claim that came back short also reads the kind's next due time when ``learn`` (the
        start, the poll, a known due time came) or when the due time known of it has passed;
        a claim woken by new rows due now does not (one statement less per round under load).
        """
        now = self._clock()
        claimed: list[Delivery] = []
        failed = False
        for kind in self._routes:
            if kind not in kinds:
                continue
            room = MAX_IN_FLIGHT[kind] - self._in_flight[kind]
            if room <= 0:
                self._full.add(kind)
                continue
            try:
                async with self._store.short_transaction() as tx:
                    batch = await tx.claim_deliveries(
                        kind, now=now, lease_until=now + LEASE_MS, limit=room
                    )
                    known = self._due.get(kind)
                    ask = len(batch) < room and (learn or (known is not None and known <= now))
                    due = await tx.next_delivery_due(kind) if ask else None
            except Exception:
                # The other kinds still go; this one is tried again after the back-off.
                logger.exception(
                    "outbox.claim_failed kind=%s failures=%d", kind.value, self._claim_failures + 1
                )
                self._woken.add(kind)
                failed = True
                continue
            if ask:
                # Short: nothing else is due now; the task sleeps until the next one is.
                if due is None:
                    self._due.pop(kind, None)
                else:
                    self._due[kind] = due
            if len(batch) >= room:
                self._full.add(kind)
            else:
                self._full.discard(kind)
            self._in_flight[kind] += len(batch)
            claimed.extend(batch)
        if failed:
            self._learn = True
            self._back_off()
        else:
            self._claim_failures = 0
        started = []
        for delivery in claimed:
            task = asyncio.get_running_loop().create_task(
                self._attempt(delivery), name=f"outbox-{delivery.kind.value.lower()}"
            )
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)
            started.append(task)
        return started

    async def _attempt(self, delivery: Delivery) -> None:
        route = self._routes[delivery.kind]
        try:
            try:
                outcome = await route.sender(delivery)
            except Exception as error:
                logger.exception(
                    "outbox.sender_failed kind=%s id=%s", delivery.kind.value, delivery.id
                )
                outcome = Retry(f"{SENDER_ERROR}: {type(error).__name__}")
            await self._finish(delivery, outcome, route)
        except Exception:
            # The row stays in flight and goes out again when its lease ends.
            logger.exception("outbox.finish_failed kind=%s id=%s", delivery.kind.value, delivery.id)
            self._note_due(delivery.kind, self._clock() + LEASE_MS)
        finally:
            self._in_flight[delivery.kind] -= 1
            if delivery.kind in self._full and not self._stopping:
                self._full.discard(delivery.kind)
                self.wake(delivery.kind)  # a worker is free and more rows may be due

    async def _finish(self, delivery: Delivery, outcome: Outcome, route: _Route) -> None:
        now = self._clock()
        record = outcome.record
        if isinstance(outcome, Retry):
            retry_at = self._retry_at(delivery, outcome, now=now)
            if retry_at is not None:
                await self._record(
                    delivery, DeliveryState.RETRY, at=retry_at, error=outcome.error, record=record
                )
                self._note_due(delivery.kind, retry_at)
                logger.info(
                    "outbox.retry kind=%s id=%s attempts=%d",
                    delivery.kind.value,
                    delivery.id,
                    delivery.attempts,
                )
                return
            outcome = Failed(GAVE_UP, outcome.error)
        if isinstance(outcome, Sent):
            finished = await self._record(
                delivery, DeliveryState.SENT, at=now, error=None, record=record
            )
        else:
            error = f"{outcome.reason}: {outcome.error}" if outcome.error else outcome.reason
            finished = await self._record(
                delivery, DeliveryState.FAILED, at=now, error=error, record=record
            )
            logger.info(
                "outbox.failed kind=%s id=%s reason=%s attempts=%d",
                delivery.kind.value,
                delivery.id,
                outcome.reason,
                delivery.attempts,
            )
        if finished and route.on_final is not None:
            try:
                await route.on_final(delivery, outcome)
            except Exception:
                logger.exception(
                    "outbox.on_final_failed kind=%s id=%s", delivery.kind.value, delivery.id
                )

    async def _record(
        self,
        delivery: Delivery,
        state: DeliveryState,
        *,
        at: int,
        error: str | None,
        record: Record | None,
    ) -> bool:
        # A sender's record step is a few indexed statements too (a log row, counters).
        async with self._store.short_transaction() as tx:
            finished = await tx.finish_delivery(
                delivery.id,
                attempt=delivery.attempts,
                state=state,
                at=at,
                error=None if error is None else error[:MAX_ERROR_CHARS],
            )
            if record is not None:
                await record(tx, finished)
        if not finished:
            logger.warning(
                "outbox.lease_lost kind=%s id=%s attempts=%d",
                delivery.kind.value,
                delivery.id,
                delivery.attempts,
            )
        return finished

    def _retry_at(self, delivery: Delivery, retry: Retry, *, now: int) -> int | None:
        """When to try again after a failed attempt, or None to give up (§5.1)."""
        policy = RETRY_POLICIES[delivery.kind]
        delay = policy.next_delay(delivery.attempts)
        if delay is None:
            return None
        delay = round(delay * (1 + JITTER * (2 * self._random() - 1)))
        if retry.after_ms is not None:
            delay = max(delay, min(retry.after_ms, MAX_RETRY_AFTER_MS))
        retry_at = now + delay
        if policy.max_age_ms is not None and retry_at - delivery.due_at > policy.max_age_ms:
            return None
        return retry_at
