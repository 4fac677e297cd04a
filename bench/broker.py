"""Broker benchmark: what a bus message costs alone, and across two nodes over Redis.

Theory of operation. A throwaway ``redis-server`` is started on a free port in a temp folder.
Three figures, all with the message the device write path publishes (``ValuesChanged`` with
three values):

* publish cost on a lone node (``Bus()`` with the default ``LocalBroker``, three subscribers as
  in the server): the hot path of the embedded default, which must not pay for the seam;
* publish cost on a node linked to Redis: the same plus queueing; the encoding happens once per
  loop tick for the whole batch and is measured with the burst below;
* a burst of ``--burst`` messages published by node A in ticks of 100, until node B received
  all: messages per second through Redis, encoding and decoding included;
* the cross-node latency at ``--rate`` messages/s for ``--seconds``: each message carries its
  send time, node B records the delay on arrival; p50 and p99.

Both nodes run in this one process on one event loop (two Redis connections each), so the
burst and latency figures include both nodes' CPU on one core: a lower bound of what two
processes reach. The target of issue #11 (cross-node push p99 < 5 ms at 1,000 writes/s) is
printed beside the figure, never asserted.

Run: ``.venv/bin/python bench/broker.py --help``.
"""

import argparse
import asyncio
import contextlib
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import timeit
from collections.abc import Iterator

from rich.console import Console
from rich.table import Table

from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.pins import Pin, PinType
from pinbase.services.bus import Bus, ValuesChanged, WrittenValue
from pinbase.testing import free_port
from pinbase.transports.redis_broker import RedisBroker

TARGET_P99_MS = 5.0
TICK = 100
"""Messages published per loop tick in the burst."""
SUBSCRIBERS = 3


def message(n: int, sent_ns: int = 0) -> ValuesChanged:
    """A device write of three values; ``ts`` carries the send time for the latency run."""
    pin = Pin(PinType.VIRTUAL, 1)
    writes = tuple(WrittenValue(DatastreamId(i), pin, f"v{i}", n + i) for i in range(1, 4))
    return ValuesChanged(device_id=DeviceId(n % 1000 + 1), writes=writes, ts=sent_ns, origin="b")


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A ``redis-server`` on a free loopback port; its URL."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    folder = tempfile.mkdtemp(prefix="pinbase-bench-redis-")
    port = free_port()
    options = ["--port", str(port), "--bind", "127.0.0.1", "--dir", folder, "--save", ""]
    process = subprocess.Popen([binary, *options], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)


class Arrivals:
    """What node B received: each message's delay since its send time (``ts``, ns)."""

    def __init__(self) -> None:
        self.delays: list[int] = []
        self.all = asyncio.Event()
        self._expected = 0

    def expect(self, count: int) -> None:
        """Start counting afresh; ``all`` is set once ``count`` messages arrived."""
        self.delays, self._expected = [], count
        self.all.clear()

    def note(self, message: ValuesChanged) -> None:
        """B's remote subscriber."""
        self.delays.append(time.perf_counter_ns() - message.ts)
        if len(self.delays) >= self._expected:
            self.all.set()


def publish_ns(bus: Bus, repeat: int) -> float:
    """The best per-publish time of several runs, in ns."""
    sample = message(1)
    runs = timeit.repeat(lambda: bus.publish(sample), number=repeat, repeat=5)
    return min(runs) / repeat * 1e9


async def measure(url: str, *, burst: int, rate: int, seconds: float) -> dict[str, float]:
    """Every figure of the module docstring."""
    lone = Bus()
    for _ in range(SUBSCRIBERS):
        lone.subscribe(ValuesChanged, lambda m: None)
    figures = {"lone_ns": publish_ns(lone, 200_000)}

    a, b = Bus(RedisBroker(url)), Bus(RedisBroker(url))
    for _ in range(SUBSCRIBERS):
        a.subscribe(ValuesChanged, lambda m: None)
    arrivals = Arrivals()
    b.subscribe(ValuesChanged, arrivals.note, remote=True)
    await a.start()
    await b.start()
    try:
        figures["linked_ns"] = publish_ns(a, 2_000)  # queued only: sent on the next tick
        await asyncio.sleep(1)
        arrivals.expect(burst)

        started = time.perf_counter()
        for n in range(burst):
            a.publish(message(n))
            if n % TICK == TICK - 1:
                await asyncio.sleep(0)
        await arrivals.all.wait()
        figures["burst_per_s"] = burst / (time.perf_counter() - started)

        interval = 1 / rate
        start = time.perf_counter()
        count = round(rate * seconds)
        arrivals.expect(count)
        for n in range(count):
            delay = start + n * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            a.publish(message(n, time.perf_counter_ns()))
        await arrivals.all.wait()
        latencies = sorted(arrivals.delays)
        figures["p50_ms"] = statistics.median(latencies) / 1e6
        figures["p99_ms"] = latencies[int(len(latencies) * 0.99) - 1] / 1e6
    finally:
        await a.stop()
        await b.stop()
    return figures


def main() -> None:
    """Start Redis, measure, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=100_000, help="messages in the burst")
    parser.add_argument("--rate", type=int, default=1_000, help="messages/s for the latency")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the latency run")
    args = parser.parse_args()
    with redis_server() as url:
        figures = asyncio.run(measure(url, burst=args.burst, rate=args.rate, seconds=args.seconds))
    table = Table(title="Bus and Redis broker (both nodes in one process, one core)")
    table.add_column("")
    table.add_column("measured", justify="right")
    table.add_column("target", justify="right")
    table.add_row("publish, lone node", f"{figures['lone_ns']:,.0f} ns", "")
    table.add_row("publish, node on Redis (queued)", f"{figures['linked_ns']:,.0f} ns", "")
    table.add_row("burst A → B", f"{figures['burst_per_s']:,.0f} messages/s", "")
    table.add_row(f"latency A → B at {args.rate:,}/s, p50", f"{figures['p50_ms']:.2f} ms", "")
    table.add_row(
        f"latency A → B at {args.rate:,}/s, p99",
        f"{figures['p99_ms']:.2f} ms",
        f"< {TARGET_P99_MS:g} ms",
    )
    Console().print(table)


if __name__ == "__main__":
    main()
