"""What the load generators (bench/tcp_load.py, bench/mqtt_load.py) do alike: connect many
devices a few at a time, drive each one in batches, paced or not, until a deadline, and sum up
the round trips."""

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

D = TypeVar("D")
"""A connected device of either load generator."""
A = TypeVar("A", covariant=True)
"""What a device's request is answered with (a status, a packet body)."""


class Requester(Protocol[A]):
    """A connected device of either load generator, as ``stream_batches`` drives it."""

    @property
    def transport(self) -> asyncio.Transport | None:
        """Its socket, closed once the stream ends."""

    async def request(self, data: bytes) -> A:
        """Write ``data`` and wait for the answer to its last message."""


CONNECT_CONCURRENCY = 256
"""Connections opened at once: a fleet at once would overflow the listen backlog."""


def percentile(ordered: list[float], percent: float) -> float:
    """Nearest-rank percentile of a sorted list (0.0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, math.ceil(percent / 100 * len(ordered)) - 1))
    return ordered[rank]


async def connect_all(
    tokens: list[str],
    connect: Callable[[str], Awaitable[D]],
    *,
    concurrency: int = CONNECT_CONCURRENCY,
) -> tuple[list[D], list[str]]:
    """Connect every token, ``concurrency`` at a time; return the devices and the errors."""
    gate = asyncio.Semaphore(concurrency)
    devices: list[D] = []
    errors: list[str] = []

    async def one(token: str) -> None:
        async with gate:
            try:
                devices.append(await connect(token))
            except (OSError, TimeoutError) as error:
                errors.append(f"{type(error).__name__}: {error}")

    await asyncio.gather(*(one(token) for token in tokens))
    return devices, errors


async def send_times(
    index: int, devices: int, *, started: float, deadline: float, interval: float
) -> AsyncIterator[float]:
    """When device ``index`` of ``devices`` sends its batches: ``interval`` s apart, the
    devices' first batches spread over one interval (0: each as soon as the last was answered),
    until ``deadline`` (``time.perf_counter`` values)."""
    next_at = started + (interval * index / max(1, devices))
    while True:
        if interval:
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            next_at += interval
        sent_at = time.perf_counter()
        if sent_at >= deadline:
            return
        yield sent_at


@dataclass(frozen=True, slots=True, kw_only=True)
class Streamed:
    """How a ``stream_batches`` run went, beside what its callbacks counted."""

    connected: int
    errors: list[str]
    """Why the devices that did not connect failed."""
    seconds: float
    round_trips: list[float]
    """Seconds from each answered batch's write to its answer, sorted."""
    lost: int
    """Batches left unanswered within the device's timeout."""
    dropped: int
    """Devices whose connection the server closed."""

    def figures(self, *, round_trip: str) -> dict[str, Any]:
        """The load generator's result fields, the round trips as ``{round_trip}_p50_ms`` and
        ``_p99_ms``."""
        return {
            "connected": self.connected,
            "connect_errors": len(self.errors),
            "first_errors": self.errors[:3],
            "seconds": self.seconds,
            f"{round_trip}_p50_ms": percentile(self.round_trips, 50) * 1e3,
            f"{round_trip}_p99_ms": percentile(self.round_trips, 99) * 1e3,
        }


async def stream_batches(
    plan: dict[str, Any],
    connect: Callable[[str], Awaitable[Requester[A]]],
    *,
    batches: Callable[[int], Iterator[bytes]],
    answered: Callable[[A], None],
) -> Streamed:
    """Connect every token of the plan (``connect_all``), then every device sends the batches of
    ``batches(index)`` at its ``send_times`` until the plan's ``duration_s`` is up, each after the
    last was answered (``answered`` gets the answer); last, every socket is closed. A batch is
    the plan's ``batch`` messages and the one answered, so ``rate`` messages/s per device (0:
    unpaced) spaces batches ``(batch + 1) / rate`` s apart."""
    devices, errors = await connect_all(plan["tokens"], connect)
    round_trips: list[float] = []
    lost = dropped = 0
    rate = float(plan["rate"])
    interval = (int(plan["batch"]) + 1) / rate if rate > 0 else 0.0
    started = time.perf_counter()
    deadline = started + float(plan["duration_s"])

    async def drive(index: int, device: Requester[A]) -> None:
        nonlocal lost, dropped
        data = batches(index)
        schedule = send_times(
            index, len(devices), started=started, deadline=deadline, interval=interval
        )
        async for sent_at in schedule:
            try:
                answer = await device.request(next(data))
            except TimeoutError:
                lost += 1
                continue
            except ConnectionError:
                dropped += 1
                return
            round_trips.append(time.perf_counter() - sent_at)
            answered(answer)

    await asyncio.gather(*(drive(i, d) for i, d in enumerate(devices)))
    seconds = time.perf_counter() - started
    for device in devices:
        if device.transport is not None:
            device.transport.close()
    round_trips.sort()
    return Streamed(
        connected=len(devices),
        errors=errors,
        seconds=seconds,
        round_trips=round_trips,
        lost=lost,
        dropped=dropped,
    )


async def paced(
    total: int, rate: float, start: Callable[[int], Coroutine[Any, Any, None]]
) -> float:
    """Start ``start(n)`` for n = 0 .. ``total`` - 1 at ``rate`` a second, each n at its own
    time whether or not the ones before were answered (an open-loop load: a slow server makes
    requests pile up rather than the rate drop); wait for them all; return the seconds taken."""
    tasks: set[asyncio.Task[None]] = set()
    started = time.perf_counter()
    for n in range(total):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(start(n))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    return time.perf_counter() - started
