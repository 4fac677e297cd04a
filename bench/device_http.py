"""Device HTTP API benchmark: ``GET /external/api/batch/update`` under keep-alive load.

Theory of operation. A fresh data folder is provisioned with one template (v1 INT 0..100,
v2 DOUBLE, v3 INT) and 1,000 devices, and ``pinbase serve`` (SQLite, loopback) is started on it.
A load client keeps ``--connections`` keep-alive connections busy for ``--duration`` seconds,
each request taking the next device token in turn and writing three values. The server is then
stopped with SIGTERM, so everything it acknowledged is committed, and the history points in
``pinbase.db`` are compared with 3 x the 200 answers: a shortfall is a lost acknowledged write.
Last, a bare Starlette app served the same way (bench/bare_app.py) is driven by the same client
with the same settings, which gives the ratio Pinbase / bare.

Clients. ``wrk`` (a Lua script rotates tokens and counts statuses) when installed, else an
asyncio generator in a separate process (this file with ``--load-worker``). wrk never counts
requests still in flight when it stops, though the server commits them, so with wrk the
database may hold up to 3 x connections more points; the asyncio client stops sending and waits
for every answer, so its count is exact. Both clients' CPU use is measured and printed, so a
client that saturates its core (and so bounds the figures) shows.

Run: ``make bench`` or ``.venv/bin/python bench/device_http.py --help``.
"""

import argparse
import asyncio
import contextlib
import functools
import itertools
import json
import math
import os
import platform
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from rich.console import Console
from rich.table import Table

from pinbase.testing import ServerProcess, free_port, provision

DEVICES = 1_000
DEFAULT_DURATION_S = 10.0
DEFAULT_CONNECTIONS = 64
POINTS_PER_REQUEST = 3
"""v1, v2 and v3: each 200 answer stands for three history points."""
BATCH_PATH = "/external/api/batch/update"
BARE_PATH = "/"
HOST = "127.0.0.1"
TARGET_RPS = 30_000
TARGET_RATIO = 0.7
TARGET_CPUS = 2
"""The targets hold for a 2-core machine; they are printed beside the figures, never asserted."""
SATURATED_CPU = 0.9
"""A client busy more than 90% of the run bounds the figures rather than measuring the server."""
NOISY_CPU = 0.2
"""Other processes using more than a fifth of a core during a run make its figures noisy."""
WRK_TIMEOUT = "30s"
"""Far above any expected latency: a wrk timeout is a request the server may still commit."""
READY_TIMEOUT_S = 30.0
PROFILE_RATE_HZ = 200
PROFILE_TOP = 15

BENCH_DIR = Path(__file__).resolve().parent
BARE_APP = BENCH_DIR / "bare_app.py"
DEFAULT_OUTPUT = BENCH_DIR / "results" / "device_http.json"
SQLITE_FILE = "pinbase.db"
RESULT_MARKER = "PINBASE-BENCH-RESULT"

WRK_SCRIPT = """\
-- Written by bench/device_http.py. Arguments: TOKENS_FILE PATH THREADS.
-- Request n goes to token n mod #tokens; thread t sends n = t, t + THREADS, t + 2 THREADS, ...
local threads = {}

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
  n = first
  statuses = {}
end

function request()
  local query = string.format("?token=%s&v1=%d&v2=%.2f&v3=%d",
    tokens[n % #tokens + 1], n % 101, (n % 1000) / 4, n)
  n = n + step
  return wrk.format("GET", path .. query)
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

    @property
    def url(self) -> str:
        """The base URL of the target server."""
        return f"http://{HOST}:{self.port}"


# ---------------------------------------------------------------------------------------------
# The asyncio client (runs in its own process: ``device_http.py --load-worker PLAN_JSON``)


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
            "p50_ms": _percentile(ordered, 50) * 1e3,
            "p99_ms": _percentile(ordered, 99) * 1e3,
            "statuses": {str(code): count for code, count in self.statuses.items()},
            "socket_errors": self.socket_errors,
        }


def _percentile(ordered: list[float], percent: float) -> float:
    """Nearest-rank percentile of a sorted, non-empty list."""
    rank = max(0, min(len(ordered) - 1, math.ceil(percent / 100 * len(ordered)) - 1))
    return ordered[rank]


def batch_requests(tokens: list[str], *, path: str, host: str) -> Iterator[bytes]:
    """Raw HTTP/1.1 requests; request n uses token n mod len(tokens), as the wrk script does."""
    for n in itertools.count():
        token = tokens[n % len(tokens)]
        query = f"token={token}&v1={n % 101}&v2={(n % 1000) / 4:.2f}&v3={n}"
        yield f"GET {path}?{query} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


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
    tokens = plan.tokens_file.read_text().split()
    requests = batch_requests(tokens, path=plan.path, host=f"{HOST}:{plan.port}")
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
    """The ``--load-worker`` entry point: run the asyncio client, print its result line."""
    import uvloop  # a dependency of pinbase; imported here so only the worker needs it

    raw = json.loads(plan_json)
    plan = LoadPlan(**{**raw, "tokens_file": Path(raw["tokens_file"])})
    result = uvloop.run(generate_load(plan))
    print(RESULT_MARKER, json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------------------
# Running clients and servers


def _process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process and all its threads."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy_s() -> float:
    """CPU seconds all processes spent busy since boot (every core summed)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = values
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def _children_cpu_s() -> float:
    """CPU seconds of the children this process has waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _parse_result(stdout: str) -> dict[str, Any]:
    """The client's result line, found by its marker."""
    for line in stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            result: dict[str, Any] = json.loads(line[len(RESULT_MARKER) :])
            return result
    raise RuntimeError(f"the load client printed no result:\n{stdout}")


@contextlib.contextmanager
def child_process(command: list[str], **options: Any) -> Iterator[subprocess.Popen[str]]:
    """A subprocess that is ended (SIGTERM, then SIGKILL) when the block exits, however it exits."""
    process = subprocess.Popen(command, text=True, **options)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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
        ]
    encoded = json.dumps({**asdict(plan), "tokens_file": str(plan.tokens_file)})
    return [sys.executable, str(Path(__file__).resolve()), "--load-worker", encoded]


def run_load(plan: LoadPlan, *, server_pid: int, work_dir: Path) -> LoadResult:
    """Run the client once against a running server and measure who used the CPU."""
    command = client_command(plan, work_dir)
    server_before = _process_cpu_s(server_pid)
    children_before = _children_cpu_s()
    busy_before = _machine_busy_s()
    with child_process(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as client:
        stdout, stderr = client.communicate(timeout=plan.duration_s + 120)
    client_cpu = _children_cpu_s() - children_before
    server_cpu = _process_cpu_s(server_pid) - server_before
    busy = _machine_busy_s() - busy_before
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


def wait_ready(url: str, process: subprocess.Popen[str]) -> None:
    """Poll ``url`` until it answers 200; fail if the process exits first."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the bare app exited early ({process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    raise RuntimeError(f"the bare app was not ready in {READY_TIMEOUT_S}s")


def stop_gracefully(process: subprocess.Popen[str]) -> int:
    """SIGTERM, then wait (SIGKILL after 30 s); return the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


# ---------------------------------------------------------------------------------------------
# Profiling (``--profile``)


def py_spy() -> str:
    """The py-spy executable, installed into the venv if missing (only ``--profile`` asks)."""
    venv_bin = Path(sys.executable).parent
    found = shutil.which("py-spy", path=str(venv_bin)) or shutil.which("py-spy")
    if found:
        return found
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "py-spy"], check=True)
    return str(venv_bin / "py-spy")


def top_functions(raw_profile: str, limit: int = PROFILE_TOP) -> list[dict[str, Any]]:
    """The busiest functions of a py-spy ``--format raw`` profile (collapsed stacks).

    ``self`` is the share of samples with the function on top of the stack, ``total`` the share
    with it anywhere on the stack.
    """
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    samples = 0
    for line in raw_profile.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short_frame(frame) for frame in stack.split(";")]
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            anywhere[frame] += count
    return [
        {
            "function": frame,
            "self": round(100 * count / samples, 1),
            "total": round(100 * anywhere[frame] / samples, 1),
        }
        for frame, count in own.most_common(limit)
    ]


def _short_frame(frame: str) -> str:
    """``name (/long/path/to/pkg/module.py)`` becomes ``name (pkg/module.py)``."""
    name, _, where = frame.partition(" (")
    parts = where.rstrip(")").split("/")
    return f"{name} ({'/'.join(parts[-2:])})" if where else name


# ---------------------------------------------------------------------------------------------
# The benchmark


def bench_spec(devices: int) -> dict[str, Any]:
    """A provisioning file: one template (v1 INT 0..100, v2 DOUBLE, v3 INT), ``devices`` devices."""
    return {
        "organization": {"name": "Bench Org"},
        "templates": [
            {
                "name": "Bench",
                "datastreams": [
                    {"id": 1, "label": "Counter", "pin": 1, "type": "INT", "min": 0, "max": 100},
                    {"id": 2, "label": "Level", "pin": 2, "type": "DOUBLE"},
                    {"id": 3, "label": "Sequence", "pin": 3, "type": "INT"},
                ],
            }
        ],
        "devices": [{"name": f"Bench {n}", "template": "Bench"} for n in range(devices)],
    }


def count_history(data_dir: Path) -> int:
    """History points in the SQLite database of ``data_dir``."""
    with contextlib.closing(sqlite3.connect(data_dir / SQLITE_FILE)) as db:
        (count,) = db.execute("SELECT count(*) FROM history").fetchone()
    return int(count)


def log_problems(log: str, limit: int = 5) -> dict[str, Any]:
    """Warnings, errors and tracebacks in a server log: how many, and the first few."""
    markers = (" WARNING ", " ERROR ", " CRITICAL ", "Traceback")
    lines = [line for line in log.splitlines() if any(m in line for m in markers)]
    return {"count": len(lines), "first": lines[:limit]}


def bench_pinbase(
    plan: LoadPlan, *, data_dir: Path, work_dir: Path, profile: bool
) -> dict[str, Any]:
    """Drive ``pinbase serve``, stop it with SIGTERM, and return the figures and its log."""
    server = ServerProcess(data_dir, port=plan.port)
    exit_code: int | None = None
    profile_rows: list[dict[str, Any]] = []
    profile_error = ""
    try:
        server.start()
        if profile:
            out, spy_log = work_dir / "profile.txt", work_dir / "py-spy.log"
            command = [py_spy(), "record", f"--pid={server.pid}", f"--rate={PROFILE_RATE_HZ}"]
            command += [f"--duration={max(1, int(plan.duration_s))}", "--format=raw"]
            command += ["--nolineno", "--nonblocking", f"--output={out}"]
            with (
                spy_log.open("w") as log,
                child_process(command, stdout=subprocess.DEVNULL, stderr=log) as spy,
            ):
                result = run_load(plan, server_pid=server.pid, work_dir=work_dir)
                spy.wait(timeout=plan.duration_s + 60)
            if out.exists():
                profile_rows = top_functions(out.read_text())
            else:
                profile_error = spy_log.read_text(errors="replace").strip() or "no profile written"
        else:
            result = run_load(plan, server_pid=server.pid, work_dir=work_dir)
    finally:
        exit_code = server.stop()
    return {
        "result": result,
        "exit_code": exit_code,
        "log": log_problems(server.log()),
        "profile": profile_rows,
        "profile_error": profile_error,
    }


def bench_bare(plan: LoadPlan, *, work_dir: Path) -> LoadResult:
    """Drive the bare Starlette app of bench/bare_app.py with the same plan."""
    log_path = work_dir / "bare.log"
    with (
        log_path.open("w") as log,
        child_process(
            [sys.executable, str(BARE_APP), str(plan.port)], stdout=log, stderr=subprocess.STDOUT
        ) as bare,
    ):
        wait_ready(plan.url + BARE_PATH, bare)
        result = run_load(plan, server_pid=bare.pid, work_dir=work_dir)
        stop_gracefully(bare)
    return result


def choose_client(wanted: str) -> str:
    """``auto`` picks wrk when it is installed, else the asyncio client."""
    if wanted == "auto":
        return "wrk" if shutil.which("wrk") else "asyncio"
    if wanted == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk); try --client asyncio")
    return wanted


def verdict(*, client: str, points: int, expected: int, connections: int) -> tuple[bool, str]:
    """Compare history points with 3 x the 200 answers, the rule of the issue."""
    difference = points - expected
    if difference < 0:
        return False, f"LOST WRITES: {-difference} acknowledged points are missing"
    if client == "asyncio":
        if difference:
            return False, f"MISMATCH: {difference} more points than acknowledged"
        return True, "exact: points = 3 x 200 answers"
    bound = POINTS_PER_REQUEST * connections
    if difference > bound:
        return False, f"UNEXPECTED: {difference} extra points, more than in flight (<= {bound})"
    return True, (
        f"+{difference} points from requests in flight when wrk stopped "
        f"(bounded by {connections} connections x 3 = {bound}; wrk never counts them)"
    )


def run(options: argparse.Namespace) -> int:
    """Provision, benchmark Pinbase and the bare app, report; return the exit code."""
    client = choose_client(options.client)
    removed = sorted(name for name in os.environ if name.startswith("PINBASE_"))
    for name in removed:  # the benchmark is defined on SQLite in a fresh folder
        del os.environ[name]
    console = Console()
    work_dir = Path(tempfile.mkdtemp(prefix="pinbase-bench-"))
    try:
        data_dir = work_dir / "data"
        console.print(f"provisioning {options.devices:,} devices in {work_dir} ...")
        created = provision(bench_spec(options.devices), data_dir=data_dir)
        tokens_file = work_dir / "tokens.txt"
        tokens_file.write_text("".join(f"{d['token']}\n" for d in created["devices"]))
        baseline = count_history(data_dir)
        load_before = os.getloadavg()
        plan = LoadPlan(
            client=client,
            port=free_port(),
            path=BATCH_PATH,
            tokens_file=tokens_file,
            connections=options.connections,
            duration_s=options.duration,
            threads=options.threads,
        )
        console.print(f"driving pinbase with {client} for {plan.duration_s:g} s ...")
        pinbase = bench_pinbase(plan, data_dir=data_dir, work_dir=work_dir, profile=options.profile)
        points = count_history(data_dir) - baseline
        bare_plan = LoadPlan(**{**asdict(plan), "port": free_port(), "path": BARE_PATH})
        console.print(f"driving the bare Starlette app with {client} for {plan.duration_s:g} s ...")
        bare = bench_bare(bare_plan, work_dir=work_dir)
        report = build_report(
            plan=plan, pinbase=pinbase, bare=bare, points=points, load_before=load_before
        )
        report["settings"]["removed_env"] = removed
        print_report(console, report, pinbase["result"], bare)
        options.output.parent.mkdir(parents=True, exist_ok=True)
        options.output.write_text(json.dumps(report, indent=2) + "\n")
        console.print(f"figures written to {options.output}")
        return 0 if report["check"]["passed"] else 1
    finally:
        if options.keep:
            console.print(f"kept the data folder, logs and scripts in {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


def build_report(
    *,
    plan: LoadPlan,
    pinbase: dict[str, Any],
    bare: LoadResult,
    points: int,
    load_before: tuple[float, float, float],
) -> dict[str, Any]:
    """Everything measured, as written to the JSON file."""
    result: LoadResult = pinbase["result"]
    expected = POINTS_PER_REQUEST * result.ok
    passed, message = verdict(
        client=plan.client, points=points, expected=expected, connections=plan.connections
    )
    if pinbase["exit_code"] != 0:
        passed, message = False, f"{message}; pinbase serve exited with {pinbase['exit_code']}"
    return {
        "benchmark": "device_http",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_before,
        },
        "settings": {
            "client": plan.client,
            "connections": plan.connections,
            "duration_s": plan.duration_s,
            "wrk_threads": plan.threads if plan.client == "wrk" else None,
            "devices": len(plan.tokens_file.read_text().split()),
        },
        "pinbase": result.as_json(),
        "bare": bare.as_json(),
        "ratio": round(result.rps / bare.rps, 3) if bare.rps else None,
        "targets": {"rps": TARGET_RPS, "ratio": TARGET_RATIO, "cpus": TARGET_CPUS},
        "check": {
            "history_points": points,
            "expected_points": expected,
            "difference": points - expected,
            "passed": passed,
            "message": message,
        },
        "server": {"exit_code": pinbase["exit_code"], "log_problems": pinbase["log"]},
        "profile": pinbase["profile"],
        "profile_error": pinbase["profile_error"],
    }


def print_report(
    console: Console, report: dict[str, Any], ours: LoadResult, bare: LoadResult
) -> None:
    """The figures as a small table, then the point check, CPU use and any warnings."""
    settings, check = report["settings"], report["check"]
    title = (
        f"Device HTTP API: {settings['client']}, {settings['connections']} connections, "
        f"{settings['duration_s']:g} s, {settings['devices']:,} devices"
    )
    table = Table(title=title)
    for heading in ("", "pinbase", "bare Starlette", f"target ({TARGET_CPUS} cores)"):
        table.add_column(heading, justify="right")
    ratio = report["ratio"]
    table.add_row("requests/s", f"{ours.rps:,.0f}", f"{bare.rps:,.0f}", f">= {TARGET_RPS:,}")
    table.add_row("pinbase / bare", f"{ratio:.2f}" if ratio else "-", "", f">= {TARGET_RATIO}")
    table.add_row("p50 latency", f"{ours.p50_ms:.2f} ms", f"{bare.p50_ms:.2f} ms", "")
    table.add_row("p99 latency", f"{ours.p99_ms:.2f} ms", f"{bare.p99_ms:.2f} ms", "")
    table.add_row("200 answers", f"{ours.ok:,}", f"{bare.ok:,}", "")
    table.add_row(
        "other answers", f"{ours.answered - ours.ok:,}", f"{bare.answered - bare.ok:,}", ""
    )
    table.add_row("socket errors", f"{ours.socket_errors:,}", f"{bare.socket_errors:,}", "")
    for label, attribute in (("server CPU", "server_cpu_s"), ("client CPU", "client_cpu_s")):
        shares = [getattr(r, attribute) / r.seconds for r in (ours, bare)]
        table.add_row(label, *(f"{share:.0%} of a core" for share in shares), "")
    table.add_row("history points", f"{check['history_points']:,}", "", "")
    table.add_row("3 x 200 answers", f"{check['expected_points']:,}", "", "")
    table.add_row("difference", f"{check['difference']:+,}", "", "")
    console.print(table)
    style = "green" if check["passed"] else "bold red"
    console.print(f"[{style}]points check: {check['message']}[/{style}]")
    for name, r in (("pinbase", ours), ("bare", bare)):
        if r.client_cpu_s / r.seconds > SATURATED_CPU:
            console.print(f"[yellow]{name}: the client was saturated; figures are a lower bound")
        if r.other_cpu_s / r.seconds > NOISY_CPU:
            share = r.other_cpu_s / r.seconds
            console.print(f"[yellow]{name}: other processes used {share:.0%} of a core: noisy")
    problems = report["server"]["log_problems"]
    if problems["count"]:
        console.print(f"[yellow]server log: {problems['count']} warning/error lines, first:")
        for line in problems["first"]:
            console.print(f"  {line}", markup=False)
    if report["profile_error"]:
        console.print(f"py-spy failed: {report['profile_error']}", style="yellow", markup=False)
    if report["profile"]:
        spy = Table(title="pinbase serve under load: py-spy, % of busy samples, all threads")
        for heading in ("function", "self", "total"):
            spy.add_column(heading, justify="left" if heading == "function" else "right")
        for row in report["profile"]:
            spy.add_row(row["function"], f"{row['self']:.1f}", f"{row['total']:.1f}")
        console.print(spy)
        console.print("(figures above were measured while py-spy sampled the server)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=DEFAULT_DURATION_S, help="seconds")
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    parser.add_argument("--client", choices=("auto", "wrk", "asyncio"), default="auto")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--devices", type=int, default=DEVICES, help="devices to provision")
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    parser.add_argument("--load-worker", metavar="PLAN_JSON", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.connections < options.threads:
        parser.error("--connections must be at least --threads")
    return options


def main() -> None:
    """Run the benchmark (or, with ``--load-worker``, the asyncio client)."""
    options = parse_args()
    if options.load_worker:
        run_load_worker(options.load_worker)
        return
    try:
        code = run(options)
    except KeyboardInterrupt:
        code = 130  # the shell's code for SIGINT; the finally blocks already stopped every child
        print("interrupted; servers and load clients stopped", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
