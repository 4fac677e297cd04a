"""The Blynk binary-protocol load generator of bench/device_tcp.py, run in a process of its own.

Three modes, one per part of the benchmark (``python bench/tcp_load.py MODE PLAN_JSON``):

* ``stream``: log every token in, then each device writes ``vw 1 <n>`` in batches of
  ``batch`` frames followed by a PING in one socket write, and waits for the PING's answer
  before the next batch (hardware writes get no reply). Writes before an answered PING are
  *acknowledged*. ``rate`` caps each device's messages/s (0: as fast as the answers come).
* ``idle``: log ``count`` devices in (login, then an info message with a long ``h-beat``), print
  a ``CONNECTED`` line, hold the sockets until a line arrives on stdin, then close them.
* ``push``: log one device in, send ``GET /external/api/update?token=…&v1=<n>`` at ``rate``
  per second over a few keep-alive HTTP connections, and time each request from its write to
  the HARDWARE frame ``vw 1 <n>`` arriving on the device socket.

Frames are built with the device side of Pinbase's codec (``pinbase.protocols.device.client``)
and read with its ``FrameDecoder``. The result is one JSON line marked with ``RESULT_MARKER``.
"""

import asyncio
import json
import resource
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

import pacing
from pinbase.domain.pins import Pin, PinType
from pinbase.protocols.device.client import encode_device_message, parse_server_frame
from pinbase.protocols.device.events import DeviceInfo, HardwareWrite, Login, Message, Ping
from pinbase.protocols.device.frames import Command, Frame, FrameDecoder, encode_frame
from pinbase.protocols.device.outbound import HardwareWriteOut

HOST = "127.0.0.1"
RESULT_MARKER = "PINBASE-BENCH-RESULT"
CONNECTED_MARKER = "PINBASE-BENCH-CONNECTED"
OK = 200
PIN = Pin(PinType.VIRTUAL, 1)
VALUE_CYCLE = 100_000
"""Write frames are built once for values 0..VALUE_CYCLE-1 and reused by every device."""
ANSWER_TIMEOUT_S = 10.0
"""A PING or login left unanswered this long counts as lost (the flood rule drops silently)."""
HEARTBEAT_S = 3600
"""Announced in the info message so idle devices are not timed out while the test runs."""


def wire(message: Message) -> bytes:
    """The bytes a device puts on the wire for ``message``."""
    return encode_frame(encode_device_message(message))


def raise_nofile(wanted: int) -> int:
    """Raise the soft open-file limit towards ``wanted`` (at most the hard limit); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft


class Device(asyncio.Protocol):
    """One fake device: counts RESPONSE frames and hands every other frame to ``on_frame``."""

    def __init__(self, on_frame: Callable[[Frame, float], None] | None = None) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()
        self._decoder = FrameDecoder()
        self._statuses: list[int] = []
        self._waiter: asyncio.Future[int] | None = None
        self._on_frame = on_frame

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        """Cut frames; wake the waiter on a RESPONSE."""
        now = time.perf_counter()
        self._decoder.feed(data)
        while (frame := self._decoder.next_frame()) is not None:
            if frame.command == Command.RESPONSE:
                if self._waiter is not None and not self._waiter.done():
                    self._waiter.set_result(cast("int", frame.status))
            elif self._on_frame is not None:
                self._on_frame(frame, now)

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail a pending wait."""
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("closed by the server"))
        if not self.closed.done():
            self.closed.set_result(None)

    async def request(self, data: bytes) -> int:
        """Write ``data`` (ending with a frame that is answered) and return the answer's status."""
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("not connected")
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await asyncio.wait_for(self._waiter, ANSWER_TIMEOUT_S)


async def connect(
    port: int, token: str, on_frame: Callable[[Frame, float], None] | None = None
) -> Device:
    """A device logged in with ``token`` and past the info exchange (READY)."""
    loop = asyncio.get_running_loop()
    _, device = await loop.create_connection(lambda: Device(on_frame), HOST, port)
    login = await device.request(wire(Login(msg_id=1, token=token)))
    info = DeviceInfo(msg_id=2, fields=(("h-beat", str(HEARTBEAT_S)), ("buff-in", "1024")))
    status = await device.request(wire(info)) if login == OK else login
    if status != OK:
        cast("asyncio.Transport", device.transport).close()
        raise ConnectionError(f"login answered {status}")
    return device


async def connect_all(port: int, tokens: list[str]) -> tuple[list[Device], list[str]]:
    """Log every token in, a few at a time (``pacing``); return devices and errors."""
    return await pacing.connect_all(tokens, lambda token: connect(port, token))


def close_all(devices: list[Device]) -> None:
    """Close every device socket."""
    for device in devices:
        if device.transport is not None:
            device.transport.close()


# ---------------------------------------------------------------------------------------------
# stream: throughput


async def stream(plan: dict[str, Any]) -> dict[str, Any]:
    """Every device writes in batches paced by PINGs; counts messages and acknowledged writes."""
    writes = [wire(HardwareWrite(msg_id=1, pin=PIN, values=(str(v),))) for v in range(VALUE_CYCLE)]
    ping = wire(Ping(msg_id=2))
    batch, port = int(plan["batch"]), plan["port"]
    totals = {"writes_sent": 0, "writes_acked": 0, "pings_sent": 0, "pings_answered": 0}
    refused = 0

    def batches(index: int) -> Iterator[bytes]:
        value = index * 997
        while True:
            data = b"".join(writes[(value + i) % VALUE_CYCLE] for i in range(batch)) + ping
            value += batch
            totals["writes_sent"] += batch
            totals["pings_sent"] += 1
            yield data

    def answered(status: int) -> None:
        nonlocal refused
        if status == OK:
            totals["pings_answered"] += 1
            totals["writes_acked"] += batch
        else:
            refused += 1

    run = await pacing.stream_batches(
        plan, lambda token: connect(port, token), batches=batches, answered=answered
    )
    return {
        **totals,
        "lost_pings": run.lost,
        "refused": refused,
        "dropped_connections": run.dropped,
        **run.figures(round_trip="ping"),
    }


# ---------------------------------------------------------------------------------------------
# idle: memory per connection


async def idle(plan: dict[str, Any]) -> dict[str, Any]:
    """Open the connections, report, hold them until stdin says so, then close them."""
    nofile = raise_nofile(len(plan["tokens"]) + 1_000)
    started = time.perf_counter()
    devices, errors = await connect_all(plan["port"], plan["tokens"])
    seconds = time.perf_counter() - started
    print(CONNECTED_MARKER, len(devices), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    alive = sum(1 for d in devices if not d.closed.done())
    close_all(devices)
    return {
        "connected": len(devices),
        "alive_at_end": alive,
        "connect_errors": len(errors),
        "first_errors": errors[:3],
        "connect_seconds": seconds,
        "client_nofile": nofile,
    }


# ---------------------------------------------------------------------------------------------
# push: latency from an HTTP update to the device


async def http_get(
    streams: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
) -> int:
    """Send one keep-alive request; read the whole answer; return its status."""
    reader, writer = streams
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return int(head[9:12])


async def push(plan: dict[str, Any]) -> dict[str, Any]:
    """Send HTTP updates at ``rate``/s; time each until the device receives its value."""
    sent: dict[int, float] = {}
    latencies: list[float] = []
    received = 0

    def on_frame(frame: Frame, now: float) -> None:
        nonlocal received
        message = parse_server_frame(frame)
        if isinstance(message, HardwareWriteOut) and message.pin == PIN:
            received += 1
            at = sent.pop(int(message.values[0]), None)
            if at is not None:
                latencies.append(now - at)

    token = plan["tokens"][0]
    device = await connect(plan["port"], token, on_frame)
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(int(plan["http_connections"])):
        pool.put_nowait(await asyncio.open_connection(HOST, plan["http_port"]))
    statuses: dict[str, int] = {}
    host = f"{HOST}:{plan['http_port']}"
    total = int(float(plan["rate"]) * float(plan["duration_s"]))

    async def update(n: int) -> None:
        streams = await pool.get()
        request = f"GET /external/api/update?token={token}&v1={n} HTTP/1.1\r\nHost: {host}\r\n\r\n"
        sent[n] = time.perf_counter()
        status = await http_get(streams, request.encode())
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        pool.put_nowait(streams)

    seconds = await pacing.paced(total, float(plan["rate"]), update)
    await asyncio.sleep(0.5)  # the last pushes
    close_all([device])
    while not pool.empty():
        pool.get_nowait()[1].close()
    latencies.sort()
    return {
        "updates": total,
        "statuses": statuses,
        "received": received,
        "timed": len(latencies),
        "seconds": seconds,
        "p50_ms": pacing.percentile(latencies, 50) * 1e3,
        "p99_ms": pacing.percentile(latencies, 99) * 1e3,
        "max_ms": (latencies[-1] if latencies else 0.0) * 1e3,
    }


MODES = {"stream": stream, "idle": idle, "push": push}


def main() -> None:
    """``tcp_load.py MODE PLAN_JSON``: run one mode under uvloop (when installed)."""
    mode, plan_json = sys.argv[1], sys.argv[2]
    plan = json.loads(plan_json)
    with open(plan.pop("tokens_file")) as handle:
        plan["tokens"] = handle.read().split()[: int(plan.get("count") or 10**9)]
    raise_nofile(len(plan["tokens"]) + 1_000)
    try:
        import uvloop

        result = uvloop.run(MODES[mode](plan))
    except ImportError:  # pragma: no cover - uvloop is a dependency of pinbase
        result = asyncio.run(MODES[mode](plan))
    print(RESULT_MARKER, json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
