"""The HTTP load generators of the benchmarks, and one run of either against a running server.

Two clients keep ``LoadPlan.connections`` keep-alive connections busy for ``duration_s`` seconds,
request n taking key n mod the number of keys in ``tokens_file`` (device tokens or device ids):
``wrk`` driven by a generated Lua script (``WRK_SCRIPT``), or the asyncio client below, which runs
in a process of its own (this file, started by ``client_command``) just as wrk does, so both
clients' CPU use is measured alike. ``LoadPlan.kind`` names the request built from a key and n,
in ``REQUEST_KINDS`` (Python) and in the script's ``builders`` (Lua), which must agree;
``LoadPlan.headers`` are sent with every request (a bearer token, a content type).
Either prints one result line marked with ``RESULT_MARKER``; ``run_load`` parses it into a
``LoadResult`` and adds the CPU used meanwhile by the client, the server and everything else.

``parse_load_args`` is the command line of the benchmarks that drive a load plan, and
``issue_token`` gets them a Platform API bearer token.

Run: ``python bench/http_load.py PLAN_JSON`` (the worker; ``run_load`` starts it).
"""

import argparse
import asyncio
import functools
import itertools
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx

from pacing import percentile
from processes import child_process, children_cpu_s, machine_busy_s, process_cpu_s

HOST = "127.0.0.1"
WRK_TIMEOUT = "30s"
"""Far above any expected latency: a wrk timeout is a request the server may still commit."""
RESULT_MARKER = "PINBASE-BENCH-RESULT"
DEVICES = 1_000
DEFAULT_DURATION_S = 10.0
DEFAULT_CONNECTIONS = 64

WRK_SCRIPT = """\
-- Written by bench/http_load.py. Arguments: KEYS_FILE PATH THREADS KIND [HEADER ...], where a
-- HEADER is "Name: value". Request n uses key n mod #keys (a device token or a device id);
-- thread t sends n = t, t + THREADS, t + 2 THREADS, ... Each builder mirrors the request kind of
-- the same name in REQUEST_KINDS (http_load.py) and returns method, target, body.
local threads = {}

local builders = {
  device_batch = function(key, n)
    return "GET", path .. string.format("?token=%s&v1=%d&v2=%.2f&v3=%d",
      key, n % 101, (n % 1000) / 4, n), nil
  end,
  device_info = function(key, n)
    return "GET", path .. "?deviceId=" .. key, nil
  end,
  datastream_value = function(key, n)
    return "POST", path, string.format('{"deviceId":%s,"dataStreamId":1,"value":%d}', key, n % 101)
  end,
}

function setup(thread)
  thread:set("first", #threads)
  table.insert(threads, thread)
end

function init(args)
  tokens = {}
  for line in io.lines(args[1]) do
    tokens[#tokens + 1] = line
  end
  path = args[2]
  step = tonumber(args[3])
  build = builders[args[4]]
  headers = {}
  for i = 5, #args do
    local name, value = string.match(args[i], "^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  n = first
  statuses = {}
end

function request()
  local method, target, body = build(tokens[n % #tokens + 1], n)
  n = n + step
  return wrk.format(method, target, headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    parts[#parts + 1] = string.format('"%d": %d', status, count)
  end
  local e = summary.errors
  io.write(string.format(
    '%s {"seconds": %.6f, "p50_ms": %.3f, "p99_ms": %.3f, '
      .. '"statuses": {%s}, "socket_errors": %d}\\n',
    "MARKER", summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    table.concat(parts, ", "), e.connect + e.read + e.write + e.timeout))
end
""".replace("MARKER", RESULT_MARKER)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadResult:
    """What one load run measured; CPU figures are in seconds over the run."""

    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    socket_errors: int
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    other_cpu_s: float = 0.0

    @property
    def answered(self) -> int:
        """Requests that got an answer, whatever its status."""
        return sum(self.statuses.values())

    @property
    def ok(self) -> int:
        """Answers with status 200."""
        return self.statuses.get(200, 0)

    @property
    def rps(self) -> float:
        """Answered requests per second."""
        return self.answered / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        """The result with its derived figures, for the JSON file."""
        return {
            **asdict(self),
            "statuses": {str(code): count for code, count in sorted(self.statuses.items())},
            "answered": self.answered,
            "ok": self.ok,
            "other": self.answered - self.ok,
            "rps": round(self.rps, 1),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadPlan:
    """Where and how hard to drive: shared by both clients and both servers."""

    client: str
    port: int
    path: str
    tokens_file: Path
    connections: int
    duration_s: float
    threads: int
    kind: str = "device_batch"
    headers: tuple[str, ...] = ()
    """``Name: value`` lines added to every request."""

    @property
    def url(self) -> str:
        """The base URL of the target server."""
        return f"http://{HOST}:{self.port}"


# ---------------------------------------------------------------------------------------------
# The asyncio client (runs in its own process: ``http_load.py PLAN_JSON``)


@dataclass(slots=True)
class LoadStats:
    """Answers counted by status, with their latencies in seconds."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    socket_errors: int = 0

    def summary(self, seconds: float) -> dict[str, Any]:
        """The JSON the worker prints: the shape of the wrk script's result."""
        ordered = sorted(self.latencies) or [0.0]
        return {
            "seconds": seconds,
            "p50_ms": percentile(ordered, 50) * 1e3,
            "p99_ms": percentile(ordered, 99) * 1e3,
            "statuses": {str(code): count for code, count in self.statuses.items()},
            "socket_errors": self.socket_errors,
        }


RequestBuilder = Callable[[str, str, int], tuple[str, str, str | None]]


def _device_batch(path: str, key: str, n: int) -> tuple[str, str, str | None]:
    """DEV-04 batch update of three pins; ``key`` is a device token."""
    return "GET", f"{path}?token={key}&v1={n % 101}&v2={(n % 1000) / 4:.2f}&v3={n}", None


def _device_info(path: str, key: str, n: int) -> tuple[str, str, str | None]:
    """PLT-DEV-06 device info; ``key`` is a device id."""
    return "GET", f"{path}?deviceId={key}", None


def _datastream_value(path: str, key: str, n: int) -> tuple[str, str, str | None]:
    """PLT-DS-02 write of datastream 1; ``key`` is a device id."""
    return "POST", path, f'{{"deviceId":{key},"dataStreamId":1,"value":{n % 101}}}'


REQUEST_KINDS: dict[str, RequestBuilder] = {
    "device_batch": _device_batch,
    "device_info": _device_info,
    "datastream_value": _datastream_value,
}
"""Method, target and body of request n for a key: the Lua script's ``builders``, in Python."""


def plan_requests(plan: LoadPlan, keys: list[str]) -> Iterator[bytes]:
    """Raw HTTP/1.1 requests; request n uses key n mod len(keys), as the wrk script does."""
    build = REQUEST_KINDS[plan.kind]
    head = "".join(f"{line}\r\n" for line in (f"Host: {HOST}:{plan.port}", *plan.headers))
    for n in itertools.count():
        method, target, body = build(plan.path, keys[n % len(keys)], n)
        if body is None:
            yield f"{method} {target} HTTP/1.1\r\n{head}\r\n".encode()
        else:
            data = body.encode()
            length = f"Content-Length: {len(data)}\r\n"
            yield f"{method} {target} HTTP/1.1\r\n{head}{length}\r\n".encode() + data


class KeepAliveConnection(asyncio.Protocol):
    """One keep-alive connection: sends the next request as soon as the last one is answered.

    After the deadline it sends nothing more and closes once its request in flight is answered,
    so every request sent is counted.
    """

    def __init__(
        self,
        *,
        next_request: Callable[[], bytes],
        deadline: float,
        stats: LoadStats,
        finished: asyncio.Future[None],
    ) -> None:
        self._next_request = next_request
        self._deadline = deadline
        self._stats = stats
        self._finished = finished
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._sent_at: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the first request."""
        self._transport = cast("asyncio.Transport", transport)
        self._send()

    def data_received(self, data: bytes) -> None:
        """Count a complete answer, then send the next request or close."""
        self._buffer += data
        head_end = self._buffer.find(b"\r\n\r\n")
        if head_end < 0 or self._sent_at is None or self._transport is None:
            return
        end = head_end + 4 + _content_length(bytes(self._buffer[:head_end]))
        if len(self._buffer) < end:
            return
        now = time.perf_counter()
        self._stats.statuses[int(self._buffer[9:12])] += 1
        self._stats.latencies.append(now - self._sent_at)
        del self._buffer[:end]
        self._sent_at = None
        if now < self._deadline:
            self._send()
        else:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        """Count a request left unanswered as a socket error; let the driver go on."""
        if self._sent_at is not None:
            self._stats.socket_errors += 1
        if not self._finished.done():
            self._finished.set_result(None)

    def _send(self) -> None:
        if self._transport is None:
            return
        self._sent_at = time.perf_counter()
        self._transport.write(self._next_request())


def _content_length(head: bytes) -> int:
    """The Content-Length of a response head; 0 when absent (granian always sends it)."""
    lowered = head.lower()
    at = lowered.find(b"\r\ncontent-length:")
    if at < 0:
        return 0
    start = at + len(b"\r\ncontent-length:")
    end = lowered.find(b"\r\n", start)
    return int(lowered[start : end if end >= 0 else len(lowered)])


async def _drive_connection(
    requests: Iterator[bytes], stats: LoadStats, *, plan: LoadPlan, deadline: float
) -> None:
    """Keep one connection busy until the deadline, reconnecting if the server drops it."""
    loop = asyncio.get_running_loop()
    while time.perf_counter() < deadline:
        finished: asyncio.Future[None] = loop.create_future()
        try:
            await loop.create_connection(
                functools.partial(
                    KeepAliveConnection,
                    next_request=requests.__next__,
                    deadline=deadline,
                    stats=stats,
                    finished=finished,
                ),
                HOST,
                plan.port,
            )
        except OSError:
            stats.socket_errors += 1
            await asyncio.sleep(0.01)
            continue
        await finished


async def generate_load(plan: LoadPlan) -> dict[str, Any]:
    """Drive ``plan.connections`` connections for ``plan.duration_s``; wait for every answer."""
    requests = plan_requests(plan, plan.tokens_file.read_text().split())
    stats = LoadStats()
    started = time.perf_counter()
    deadline = started + plan.duration_s
    await asyncio.gather(
        *(
            _drive_connection(requests, stats, plan=plan, deadline=deadline)
            for _ in range(plan.connections)
        )
    )
    return stats.summary(time.perf_counter() - started)


def run_load_worker(plan_json: str) -> None:
    """The worker's entry point: run the asyncio client, print its result line."""
    import uvloop  # a dependency of pinbase; imported here so only the worker needs it

    raw = json.loads(plan_json)
    plan = LoadPlan(
        **{**raw, "tokens_file": Path(raw["tokens_file"]), "headers": tuple(raw["headers"])}
    )
    result = uvloop.run(generate_load(plan))
    print(RESULT_MARKER, json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------------------
# Running a client once


def _parse_result(stdout: str) -> dict[str, Any]:
    """The client's result line, found by its marker."""
    for line in stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            result: dict[str, Any] = json.loads(line[len(RESULT_MARKER) :])
            return result
    raise RuntimeError(f"the load client printed no result:\n{stdout}")


def client_command(plan: LoadPlan, work_dir: Path) -> list[str]:
    """The command line of the chosen client."""
    if plan.client == "wrk":
        script = work_dir / "rotate_tokens.lua"
        script.write_text(WRK_SCRIPT)
        return [
            "wrk",
            f"--threads={plan.threads}",
            f"--connections={plan.connections}",
            f"--duration={plan.duration_s:g}s",
            f"--timeout={WRK_TIMEOUT}",
            f"--script={script}",
            plan.url + plan.path,
            "--",
            str(plan.tokens_file),
            plan.path,
            str(plan.threads),
            plan.kind,
            *plan.headers,
        ]
    encoded = json.dumps({**asdict(plan), "tokens_file": str(plan.tokens_file)})
    return [sys.executable, str(Path(__file__).resolve()), encoded]


def run_load(plan: LoadPlan, *, server_pid: int, work_dir: Path) -> LoadResult:
    """Run the client once against a running server and measure who used the CPU."""
    command = client_command(plan, work_dir)
    server_before = process_cpu_s(server_pid)
    children_before = children_cpu_s()
    busy_before = machine_busy_s()
    with child_process(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as client:
        stdout, stderr = client.communicate(timeout=plan.duration_s + 120)
    client_cpu = children_cpu_s() - children_before
    server_cpu = process_cpu_s(server_pid) - server_before
    busy = machine_busy_s() - busy_before
    if client.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({client.returncode}):\n{stderr}")
    raw = _parse_result(stdout)
    return LoadResult(
        seconds=raw["seconds"],
        p50_ms=raw["p50_ms"],
        p99_ms=raw["p99_ms"],
        statuses={int(code): count for code, count in raw["statuses"].items()},
        socket_errors=raw["socket_errors"],
        client_cpu_s=client_cpu,
        server_cpu_s=server_cpu,
        other_cpu_s=max(0.0, busy - client_cpu - server_cpu),
    )


# ---------------------------------------------------------------------------------------------
# What the benchmarks that drive a load plan share


def parse_load_args(
    argv: list[str] | None,
    *,
    description: str,
    output: Path,
    profile_help: str,
    database: bool = False,
) -> argparse.Namespace:
    """The command line of a benchmark that drives ``LoadPlan``s; ``--client auto`` resolved to
    wrk when it is installed, else the asyncio client. ``database`` adds ``--database-url``."""
    parser = argparse.ArgumentParser(description=description)
    if database:
        parser.add_argument(
            "--database-url",
            help="a local PostgreSQL server (postgresql+asyncpg://user@host:port/db): the run "
            "gets a fresh database on it, dropped afterwards (bench/postgres_target.py); "
            "default: SQLite in the data folder",
        )
    parser.add_argument("--duration", type=float, default=DEFAULT_DURATION_S, help="seconds")
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    parser.add_argument("--client", choices=("auto", "wrk", "asyncio"), default="auto")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--devices", type=int, default=DEVICES, help="devices to provision")
    parser.add_argument("--profile", action="store_true", help=profile_help)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    parser.add_argument("--output", type=Path, default=output, help="JSON results file")
    options = parser.parse_args(argv)
    if options.connections < options.threads:
        parser.error("--connections must be at least --threads")
    if options.client == "auto":
        options.client = "wrk" if shutil.which("wrk") else "asyncio"
    elif options.client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (Debian: apt-get install wrk); try --client asyncio")
    return options


def issue_token(base_url: str, client: dict[str, Any]) -> str:
    """An access token for a provisioned OAuth client, by client credentials."""
    with httpx.Client(base_url=base_url, timeout=10) as http:
        answer = http.post(
            "/oauth2/token?grant_type=client_credentials",
            auth=(client["clientId"], client["clientSecret"]),
        )
        answer.raise_for_status()
        token: str = answer.json()["access_token"]
        return token


def main() -> None:
    """The worker's command line: one argument, the ``LoadPlan`` as JSON."""
    parser = argparse.ArgumentParser(description="The asyncio load client of the benchmarks.")
    parser.add_argument("plan_json", metavar="PLAN_JSON", help="a LoadPlan as JSON")
    run_load_worker(parser.parse_args().plan_json)


if __name__ == "__main__":
    main()
