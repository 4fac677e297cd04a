"""The load process of bench/automations.py: paced device writes, the webhook receiver and the
connected devices the automations write to, timing each triggering write to its effects.

Write n is ``GET /external/api/update?token=…&v1=<value>`` to device n mod the devices, paced at
``rate``/s over ``http_connections`` keep-alive connections (``pacing.paced``). Its value says
which write it is and alternates around the rules' threshold (``RULE_THRESHOLD``): in even
rounds (n // devices even) ``n + HIGH_OFFSET``, above it, so a ``GT`` rule becomes true and
fires; in odd rounds ``-(n + 1)``, below it, so the rule is false again. Every value is unique,
so whatever carries it back (the webhook's body, the automation's write) names its write.

* The webhook receiver is a minimal HTTP/1.1 server on ``receiver_port`` (loopback, keep-alive)
  answering ``200`` with an empty body; each request's JSON body ``{"d": id, "v": value}`` is
  timed on arrival.
* ``rule_tokens`` devices are logged in over the Blynk binary protocol (``tcp_load.connect``);
  each ``vw 2 <value>`` HARDWARE frame they get (the automation forwarding the trigger value to
  datastream 2) is timed on arrival.

The first ``warmup_s`` seconds of writes are not timed and not in the CPU window; the server's
CPU is read from ``/proc`` from the end of the warm-up to the last write's answer.

Run by automations.py: ``python bench/automations_load.py PLAN_JSON``; prints one line marked
``RESULT_MARKER``.
"""

import asyncio
import json
import sys
import time
from typing import Any

import uvloop

from pacing import paced, percentile
from pinbase.domain.pins import Pin, PinType
from pinbase.protocols.device.client import parse_server_frame
from pinbase.protocols.device.frames import Frame
from pinbase.protocols.device.outbound import HardwareWriteOut
from processes import process_cpu_s
from tcp_load import HOST, close_all, connect, http_get

RESULT_MARKER = "PINBASE-AUTOMATIONS-RESULT"
RULE_THRESHOLD = 30
"""The rules fire when v1 > this (``GT``)."""
HIGH_OFFSET = 100
TARGET_PIN = Pin(PinType.VIRTUAL, 2)
SETTLE_S = 1.0
"""Time left after the last write for its webhooks and automation writes to arrive."""
OK_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


def value_of(n: int, devices: int) -> int:
    """The value of write n: above the threshold in even rounds, below it in odd ones."""
    return n + HIGH_OFFSET if (n // devices) % 2 == 0 else -(n + 1)


def write_of(value: int) -> int:
    """The write n whose value this is."""
    return value - HIGH_OFFSET if value >= HIGH_OFFSET else -value - 1


class Receiver:
    """The webhooks' target: times every request's ``v`` on arrival."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[int, float]] = []
        self.bad: list[str] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One keep-alive connection: read requests until the peer closes it."""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                now = time.perf_counter()
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                try:
                    self.arrivals.append((int(json.loads(body)["v"]), now))
                except (ValueError, KeyError, TypeError):
                    self.bad.append(body[:200].decode(errors="replace"))
                writer.write(OK_ANSWER)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def latencies(
    arrivals: list[tuple[int, float]], at: dict[int, float], *, first: int
) -> list[float]:
    """Seconds from ``at[write]`` to each arrival of a timed write (n >= ``first``), sorted."""
    found = []
    for value, arrived in arrivals:
        n = write_of(value)
        if n >= first and n in at:
            found.append(arrived - at[n])
    return sorted(found)


def spread(values: list[float]) -> dict[str, float]:
    """p50, p99 and max in milliseconds."""
    return {
        "p50_ms": percentile(values, 50) * 1e3,
        "p99_ms": percentile(values, 99) * 1e3,
        "max_ms": (values[-1] if values else 0.0) * 1e3,
    }


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    """Start the receiver, connect the rule devices, write, and sum up."""
    receiver = Receiver()
    server = await asyncio.start_server(receiver.serve, HOST, int(plan["receiver_port"]))
    forwarded: list[tuple[int, float]] = []

    def on_frame(frame: Frame, now: float) -> None:
        message = parse_server_frame(frame)
        if isinstance(message, HardwareWriteOut) and message.pin == TARGET_PIN:
            forwarded.append((int(message.values[0]), now))

    connected = [
        await connect(int(plan["hardware_port"]), token, on_frame) for token in plan["rule_tokens"]
    ]
    tokens: list[str] = plan["tokens"]
    devices = len(tokens)
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(int(plan["http_connections"])):
        pool.put_nowait(await asyncio.open_connection(HOST, int(plan["port"])))
    rate = float(plan["rate"])
    first = int(rate * float(plan["warmup_s"]))
    total = first + int(rate * float(plan["duration_s"]))
    sent: dict[int, float] = {}
    acked: dict[int, float] = {}
    statuses: dict[str, int] = {}
    host = f"{HOST}:{plan['port']}"
    server_pid = int(plan["server_pid"])
    window: dict[str, float] = {}

    async def update(n: int) -> None:
        if n == first:
            window["cpu"], window["at"] = process_cpu_s(server_pid), time.perf_counter()
        streams = await pool.get()
        token = tokens[n % devices]
        query = f"token={token}&v1={value_of(n, devices)}"
        request = f"GET /external/api/update?{query} HTTP/1.1\r\nHost: {host}\r\n\r\n"
        sent[n] = time.perf_counter()
        status = await http_get(streams, request.encode())
        acked[n] = time.perf_counter()
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        pool.put_nowait(streams)

    await paced(total, rate, update)
    seconds = time.perf_counter() - window["at"]
    server_cpu = (process_cpu_s(server_pid) - window["cpu"]) / seconds
    await asyncio.sleep(SETTLE_S)
    close_all(connected)
    while not pool.empty():
        pool.get_nowait()[1].close()
    server.close()
    timed = range(first, total)
    rule_devices = set(plan["rule_device_indexes"])
    hook_devices = set(plan["hook_device_indexes"])
    expected_forwards = sum(
        1 for n in timed if n % devices in rule_devices and value_of(n, devices) > RULE_THRESHOLD
    )
    return {
        "writes": total - first,
        "warmup_writes": first,
        "seconds": seconds,
        "writes_per_s": (total - first) / seconds,
        "statuses": statuses,
        "server_cpu": server_cpu,
        "rule_devices_connected": len(connected),
        "webhook": {
            "received": sum(1 for value, _ in receiver.arrivals if write_of(value) >= first),
            "expected": sum(1 for n in timed if n % devices in hook_devices),
            "unreadable": len(receiver.bad),
            "first_unreadable": receiver.bad[:3],
            "from_answer": spread(latencies(receiver.arrivals, acked, first=first)),
            "from_send": spread(latencies(receiver.arrivals, sent, first=first)),
        },
        "automation": {
            "received": sum(1 for value, _ in forwarded if write_of(value) >= first),
            "expected": expected_forwards,
            "from_answer": spread(latencies(forwarded, acked, first=first)),
            "from_send": spread(latencies(forwarded, sent, first=first)),
        },
    }


def main() -> None:
    """``automations_load.py PLAN_JSON``: run under uvloop and print the marked result."""
    plan = json.loads(sys.argv[1])
    result = uvloop.run(run(plan))
    print(RESULT_MARKER, json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
