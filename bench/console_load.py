"""The load process of bench/console_live.py: device writes at a fixed rate, and WebSocket
viewers of one device page timing each value from the write's answer to their frame.

Writes are ``GET /external/api/update?token=…&v1=<n>``, update n going to device n mod the
devices, paced at ``rate``/s over ``http_connections`` keep-alive connections; the watched device
is the first. ``viewers`` WebSocket clients (``websockets``, as a browser tab would: the page's
``Origin``, the session cookie) subscribe to it first and wait for their snapshot. Every value of
a ``values`` frame is matched with the write that stored it (its ``n``): the latency is the
frame's arrival minus the write's answer (it may be negative: the server pushes before it
answers) and minus the write's sending. The server's CPU is read from ``/proc`` over the
writing window only (connecting the viewers excluded).

Run by console_live.py: ``python bench/console_load.py PLAN_JSON``; prints one line marked
``RESULT_MARKER``.
"""

import asyncio
import json
import sys
import time
from typing import Any

import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from pacing import paced, percentile
from processes import process_cpu_s
from tcp_load import HOST, http_get

RESULT_MARKER = "PINBASE-CONSOLE-RESULT"
SETTLE_S = 0.5
"""Time left after the last write for its frames to arrive."""


async def viewer(
    plan: dict[str, Any], receipts: list[tuple[int, float]], tasks: set[asyncio.Task[None]]
) -> ClientConnection:
    """One subscribed viewer; its reading task (added to ``tasks``) appends ``(n, arrival)``
    for every value it gets."""
    base = f"{HOST}:{plan['port']}"
    socket = await connect(
        f"ws://{base}/dashboard/ws",
        origin=Origin(f"http://{base}"),
        additional_headers={"Cookie": plan["cookie"]},
        max_queue=None,
    )
    await socket.send(json.dumps({"type": "subscribe", "deviceIds": [plan["watched_id"]]}))
    snapshot = json.loads(await socket.recv())
    if snapshot.get("type") != "snapshot" or not snapshot["devices"]:
        raise RuntimeError(f"no snapshot of the watched device: {snapshot}")

    async def listen() -> None:
        async for text in socket:
            now = time.perf_counter()
            frame = json.loads(text)
            if frame["type"] == "values":
                receipts.extend((int(value["value"]), now) for value in frame["values"])

    tasks.add(asyncio.get_running_loop().create_task(listen()))
    return socket


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    """Connect the viewers, write for ``duration_s``, and sum up."""
    receipts: list[tuple[int, float]] = []
    sockets = []
    listening: set[asyncio.Task[None]] = set()
    for _ in range(int(plan["viewers"])):
        sockets.append(await viewer(plan, receipts, listening))
    tokens: list[str] = plan["tokens"]
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(int(plan["http_connections"])):
        pool.put_nowait(await asyncio.open_connection(HOST, plan["port"]))
    sent: dict[int, float] = {}
    acked: dict[int, float] = {}
    statuses: dict[str, int] = {}
    host = f"{HOST}:{plan['port']}"
    rate = float(plan["rate"])
    total = int(rate * float(plan["duration_s"]))

    async def update(n: int) -> None:
        streams = await pool.get()
        token = tokens[n % len(tokens)]
        request = f"GET /external/api/update?token={token}&v1={n} HTTP/1.1\r\nHost: {host}\r\n\r\n"
        sent[n] = time.perf_counter()
        status = await http_get(streams, request.encode())
        acked[n] = time.perf_counter()
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        pool.put_nowait(streams)

    server_cpu_before = process_cpu_s(int(plan["server_pid"]))
    seconds = await paced(total, rate, update)
    server_cpu = (process_cpu_s(int(plan["server_pid"])) - server_cpu_before) / seconds
    await asyncio.sleep(SETTLE_S)
    for socket in sockets:
        await socket.close()
    await asyncio.gather(*listening, return_exceptions=True)
    while not pool.empty():
        pool.get_nowait()[1].close()
    from_ack = sorted(at - acked[n] for n, at in receipts if n in acked)
    from_send = sorted(at - sent[n] for n, at in receipts if n in sent)
    watched = sum(1 for n in range(total) if n % len(tokens) == 0)
    return {
        "writes": total,
        "seconds": seconds,
        "statuses": statuses,
        "viewers": len(sockets),
        "watched_writes": watched,
        "receipts": len(receipts),
        "expected_receipts": watched * len(sockets),
        "ack_p50_ms": percentile(from_ack, 50) * 1e3,
        "ack_p99_ms": percentile(from_ack, 99) * 1e3,
        "send_p50_ms": percentile(from_send, 50) * 1e3,
        "send_p99_ms": percentile(from_send, 99) * 1e3,
        "send_max_ms": (from_send[-1] if from_send else 0.0) * 1e3,
        "server_cpu": server_cpu,
    }


def main() -> None:
    """``console_load.py PLAN_JSON``: run under uvloop and print the marked result."""
    plan = json.loads(sys.argv[1])
    result = uvloop.run(run(plan))
    print(RESULT_MARKER, json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
