"""Beyond one process (issue #11): the device loads against one node and against two worker
processes on the same PostgreSQL and Redis, in one run, and the cross-node push latency.

Theory of operation. The run starts a durable PostgreSQL and a Redis of its own
(bench/cluster_servers.py), provisions ``--devices`` devices (one template: v1 ``Counter`` INT,
v2 DOUBLE, v3 INT) into each deployment's fresh database, and drives three deployments in turn:

* ``sqlite``: one ``pinbase serve`` on the embedded default, the figure PostgreSQL must match;
* ``postgres``: one ``pinbase serve`` on PostgreSQL;
* ``2 workers``: ``pinbase serve --workers 2 --broker-url …`` on the same PostgreSQL and Redis.
  A build without ``--workers`` runs two nodes on ports of their own instead, each load split
  over them (half the devices each), and says so.

Each deployment gets the loads of the existing benchmarks one after the other, from load
processes of their own: the device HTTP batch update (bench/device_http.py's, wrk when
installed), the binary protocol stream and the MQTT stream (bench/device_tcp.py's and
bench/device_mqtt.py's, 4 writes and a PING or QoS 1 publish per batch). Every process's CPU is
read from ``/proc`` over each load: each Pinbase process, PostgreSQL's (the postmaster and its
backends) and Redis's. After each deployment the stored history points are counted: fewer than
the acknowledged writes is a lost write and fails the run.

Last, the cross-node push: two nodes on the broker, one device logged in on node A, and
``GET /external/api/update`` sent to node B at ``--push-rate`` (1,000)/s for
``--push-duration`` (5) s, each timed from its HTTP write to the frame on the device (as
bench/device_tcp.py's latency part, which the same-node figure beside it repeats).

The device flood rule and the HTTP requests per device are raised, as in bench/device_tcp.py,
and the run prints so. Targets (printed, never asserted): one node on PostgreSQL >= SQLite;
two workers >= 1.6 x one node on each load; cross-node push p99 < 5 ms.
Run: ``.venv/bin/python bench/cluster.py --help``.
"""

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cluster_servers import LocalPostgres, LocalRedis, local_postgres, local_redis, process_tree
from device_http import count_history
from http_load import DEFAULT_CONNECTIONS, LoadPlan, client_command
from pinbase.settings import Settings
from pinbase.testing import ServerProcess, free_port, provision
from postgres_target import fresh_database
from processes import (
    child_process,
    children_cpu_s,
    exit_with,
    log_problems,
    machine_busy_s,
    parse_marked,
    process_cpu_s,
)
from report import NOISY_CPU, machine, print_log_problems, write_json
from tcp_load import RESULT_MARKER, raise_nofile

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUTPUT = BENCH_DIR / "results" / "cluster.json"
LOADS = ("http", "tcp", "mqtt")
LOAD_NAMES = {
    "http": "HTTP batch update, requests/s",
    "tcp": "binary protocol, messages/s",
    "mqtt": "MQTT, messages/s",
}
WIDE = 132
"""Columns of the report: the tables are wide, wrapping them makes them unreadable."""
TARGET_SCALING = 1.6
TARGET_PUSH_P99_MS = 5.0
SERVER_ENV = {
    "PINBASE_DEVICE_MESSAGE_RATE": "10000",
    "PINBASE_DEVICE_MESSAGE_BURST": "10000",
    "PINBASE_DEVICE_REQUESTS_PER_SECOND": "0",
}
"""As bench/device_tcp.py: the flood rule (20 messages/s per device) would cap 1,000 devices at
20,000 messages/s, and the push part sends 1,000 requests/s to one device (50/s by default)."""
WORKERS_TIMEOUT_S = 60.0
SHOWN_CPU = 0.005
"""Processes below half a percent of a core (a worker parent, a resource tracker) are left out
of the CPU table; the JSON file has them."""
HTTP_PATH = "/external/api/batch/update"
HTTP_POINTS = 3
"""A batch update writes v1, v2 and v3: three history points per 200 answer."""


def bench_spec(devices: int) -> dict[str, Any]:
    """One template whose pins every load can write: v1 ``Counter`` INT without bounds (the
    binary and MQTT loads count up to 100,000), v2 DOUBLE, v3 INT."""
    streams = [
        {"id": 1, "label": "Counter", "pin": 1, "type": "INT"},
        {"id": 2, "label": "Level", "pin": 2, "type": "DOUBLE"},
        {"id": 3, "label": "Sequence", "pin": 3, "type": "INT"},
    ]
    return {
        "organization": {"name": "Bench Org"},
        "templates": [{"name": "Bench", "datastreams": streams}],
        "devices": [{"name": f"Bench {n}", "template": "Bench"} for n in range(devices)],
    }


def supports(name: str) -> bool:
    """Whether this build has the setting ``name`` (``workers``, ``broker_url``)."""
    return name in Settings.model_fields


# ---------------------------------------------------------------------------------------------
# Deployments


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One set of listening ports and the devices a load sends to it."""

    http_port: int
    hardware_port: int
    mqtt_port: int
    tokens_file: Path
    devices: int


@dataclass(slots=True, kw_only=True)
class Deployment:
    """Pinbase processes on one database, and where the loads go."""

    name: str
    servers: list[ServerProcess]
    targets: list[Target]
    database_url: str | None
    data_dir: Path
    brokered: bool = False
    """Whether the processes talk through Redis (its CPU is then measured too)."""
    note: str = ""

    def count_history(self) -> int:
        """History points stored so far."""
        return count_history(self.data_dir, self.database_url)


def split_tokens(tokens: list[str], parts: int, folder: Path) -> list[tuple[Path, int]]:
    """``tokens`` in ``parts`` files (every ``parts``-th token each), with their counts."""
    files = []
    for part in range(parts):
        chosen = tokens[part::parts]
        path = folder / f"tokens-{part}.txt"
        path.write_text("".join(f"{token}\n" for token in chosen))
        files.append((path, len(chosen)))
    return files


def node(
    data_dir: Path, options: list[str], *, tokens: tuple[Path, int]
) -> tuple[ServerProcess, Target]:
    """A ``pinbase serve`` on free ports of its own, and the target of its devices."""
    hardware, mqtt = free_port(), free_port()
    listeners = ["--hardware-port", str(hardware), "--mqtt-port", str(mqtt)]
    server = ServerProcess(data_dir, *listeners, *options, env=SERVER_ENV)
    target = Target(
        http_port=server.port,
        hardware_port=hardware,
        mqtt_port=mqtt,
        tokens_file=tokens[0],
        devices=tokens[1],
    )
    return server, target


@contextlib.contextmanager
def deployed(
    name: str,
    console: Console,
    *,
    folder: Path,
    devices: int,
    postgres: LocalPostgres | None,
    redis: LocalRedis | None,
    processes: int,
    as_nodes: bool = False,
) -> Iterator[Deployment]:
    """Provision a fresh database (SQLite when ``postgres`` is None) and run ``processes``
    Pinbase processes on it, on the broker when there are several: ``--workers N`` when the
    build has it (unless ``as_nodes``), else N nodes on ports of their own."""
    folder.mkdir()
    data_dir = folder / "data"
    with contextlib.ExitStack() as stack:
        database_url = (
            stack.enter_context(fresh_database(postgres.url)) if postgres is not None else None
        )
        yield from _deployed_on(
            name,
            console,
            folder=folder,
            data_dir=data_dir,
            database_url=database_url,
            devices=devices,
            redis=redis,
            processes=processes,
            as_nodes=as_nodes,
        )


def _deployed_on(
    name: str,
    console: Console,
    *,
    folder: Path,
    data_dir: Path,
    database_url: str | None,
    devices: int,
    redis: LocalRedis | None,
    processes: int,
    as_nodes: bool,
) -> Iterator[Deployment]:
    """``deployed``'s body once the database exists: provision, start, stop."""
    extra = ["--database-url", database_url] if database_url else []
    console.print(f"{name}: provisioning {devices:,} devices")
    created = provision(bench_spec(devices), *extra, data_dir=data_dir)
    tokens = [device["token"] for device in created["devices"]]
    options = list(extra)
    brokered = processes > 1 and redis is not None and supports("broker_url")
    if brokered:
        assert redis is not None
        options += ["--broker-url", redis.url]
    note = ""
    if processes > 1 and supports("workers") and not as_nodes:
        options += ["--workers", str(processes)]
        pairs = [node(data_dir, options, tokens=split_tokens(tokens, 1, folder)[0])]
    else:
        if processes > 1 and not as_nodes:
            note = f"this build has no --workers: {processes} nodes on ports of their own"
        pairs = [node(data_dir, options, tokens=t) for t in split_tokens(tokens, processes, folder)]
    deployment = Deployment(
        name=name,
        servers=[server for server, _ in pairs],
        targets=[target for _, target in pairs],
        database_url=database_url,
        data_dir=data_dir,
        brokered=brokered,
        note=note,
    )
    try:
        for server in deployment.servers:
            server.start()
            wait_for_workers(server.pid, processes if "--workers" in options else 1)
        yield deployment
    finally:
        for server in deployment.servers:
            server.stop()


def wait_for_workers(pid: int, workers: int) -> None:
    """Wait until ``pid`` has ``workers`` children (``/healthz`` answers once the first is up),
    so that every worker's CPU is measured from the first load on."""
    deadline = time.monotonic() + WORKERS_TIMEOUT_S
    while workers > 1 and len(process_tree(pid)) < workers + 1:
        if time.monotonic() > deadline:
            raise RuntimeError(f"pinbase serve {pid} has not started {workers} workers")
        time.sleep(0.1)


# ---------------------------------------------------------------------------------------------
# CPU of every process that matters


@dataclass(slots=True)
class CpuWatch:
    """CPU seconds of named process trees between ``__init__`` and ``done``."""

    roots: dict[str, int]
    """A name per tree root: each Pinbase process (its workers are named apart), PostgreSQL's
    postmaster, Redis."""
    _start: dict[int, float] = field(default_factory=dict)
    _names: dict[int, str] = field(default_factory=dict)
    _at: float = 0.0

    def __post_init__(self) -> None:
        for name, root in self.roots.items():
            tree = process_tree(root)
            for index, pid in enumerate(tree):
                suffix = "" if index == 0 or name in ("postgres", "redis") else f" child {pid}"
                self._names[pid] = name + suffix
        self._start = self._read(self._names)
        self._start[-1] = children_cpu_s()
        self._start[-2] = machine_busy_s()
        self._at = time.perf_counter()

    @staticmethod
    def _read(pids: dict[int, str]) -> dict[int, float]:
        found = {}
        for pid in pids:
            with contextlib.suppress(OSError):
                found[pid] = process_cpu_s(pid)
        return found

    def done(self) -> dict[str, float]:
        """Shares of a core (1.0 = one core) per name, plus ``load clients`` and ``other``;
        a PostgreSQL backend started meanwhile is counted from zero."""
        seconds = time.perf_counter() - self._at
        shares: dict[str, float] = {}
        for name, root in self.roots.items():
            if name in ("postgres", "redis"):
                for pid in process_tree(root):
                    self._names.setdefault(pid, name)
        end = self._read(self._names)
        for pid, cpu in end.items():
            name = self._names[pid]
            shares[name] = shares.get(name, 0.0) + (cpu - self._start.get(pid, 0.0)) / seconds
        clients = (children_cpu_s() - self._start[-1]) / seconds
        busy = (machine_busy_s() - self._start[-2]) / seconds
        shares["load clients"] = clients
        shares["other"] = max(0.0, busy - sum(shares.values()))
        shares["wall_s"] = seconds
        return shares


# ---------------------------------------------------------------------------------------------
# Loads


def load_commands(kind: str, target: Target, options: argparse.Namespace, work: Path) -> list[str]:
    """The load process of ``kind`` against one target."""
    if kind == "http":
        plan = LoadPlan(
            client=options.client,
            port=target.http_port,
            path=HTTP_PATH,
            tokens_file=target.tokens_file,
            connections=options.connections,
            duration_s=options.duration,
            threads=1,
        )
        return client_command(plan, work)
    stream = {"tokens_file": str(target.tokens_file), "count": target.devices}
    stream |= {"duration_s": options.duration, "batch": 4, "rate": 0}
    if kind == "tcp":
        plan_json = json.dumps({**stream, "port": target.hardware_port})
        return [sys.executable, str(BENCH_DIR / "tcp_load.py"), "stream", plan_json]
    plan_json = json.dumps({**stream, "port": target.mqtt_port})
    return [sys.executable, str(BENCH_DIR / "mqtt_load.py"), plan_json]


def throughput(kind: str, result: dict[str, Any]) -> tuple[float, int]:
    """Requests or messages per second, and the history points it acknowledged."""
    seconds = float(result["seconds"]) or 1.0
    if kind == "http":
        answered = sum(int(count) for count in result["statuses"].values())
        return answered / seconds, HTTP_POINTS * int(result["statuses"].get("200", 0))
    if kind == "tcp":
        sent = result["writes_sent"] + result["pings_sent"]
        return sent / seconds, int(result["writes_acked"])
    return result["publishes_sent"] / seconds, int(result["publishes_acked"])


def run_load(
    kind: str, deployment: Deployment, options: argparse.Namespace, roots: dict[str, int]
) -> dict[str, Any]:
    """One load against every target of ``deployment`` at once; figures summed over them."""
    work = deployment.data_dir.parent
    watch = CpuWatch(roots)
    with contextlib.ExitStack() as stack:
        clients = [
            stack.enter_context(
                child_process(
                    load_commands(kind, target, options, work),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            )
            for target in deployment.targets
        ]
        outputs = [client.communicate(timeout=options.duration + 300) for client in clients]
    cpu = watch.done()
    results = []
    for client, (stdout, stderr) in zip(clients, outputs, strict=True):
        if client.returncode != 0:
            raise RuntimeError(f"{kind} load failed ({client.returncode}):\n{stderr}")
        results.append(json.loads(parse_marked(stdout, RESULT_MARKER)))
    rate = sum(throughput(kind, result)[0] for result in results)
    acknowledged = sum(throughput(kind, result)[1] for result in results)
    return {"rate": rate, "acknowledged": acknowledged, "cpu": cpu, "clients": results}


def measure(
    deployment: Deployment,
    options: argparse.Namespace,
    *,
    postgres: LocalPostgres,
    redis: LocalRedis,
    console: Console,
) -> dict[str, Any]:
    """Every load against one deployment; then the stored points against the acknowledged."""
    roots = {f"pinbase {n + 1}": server.pid for n, server in enumerate(deployment.servers)}
    if deployment.database_url is not None:
        roots["postgres"] = postgres.pid
    if deployment.brokered:
        roots["redis"] = redis.pid
    before = deployment.count_history()
    figures: dict[str, Any] = {"note": deployment.note}
    for kind in LOADS:
        console.print(f"{deployment.name}: {LOAD_NAMES[kind]} for {options.duration:g} s")
        figures[kind] = run_load(kind, deployment, options, roots)
    return {**figures, "history_before": before}


def finish(deployment: Deployment, figures: dict[str, Any]) -> None:
    """Stop the servers (SIGTERM: every acknowledged write is committed first); their exit
    codes and log problems, and the points check."""
    figures["servers"] = [
        {"exit_code": server.stop(), "log_problems": log_problems(server.log())}
        for server in deployment.servers
    ]
    stored = deployment.count_history() - figures.pop("history_before")
    figures["history_points"] = stored
    figures["acknowledged_points"] = sum(figures[kind]["acknowledged"] for kind in LOADS)


def push_latency(
    options: argparse.Namespace,
    *,
    folder: Path,
    postgres: LocalPostgres,
    redis: LocalRedis,
    console: Console,
) -> dict[str, Any]:
    """HTTP updates on node B (and, for comparison, on node A) to a device on node A."""
    if not supports("broker_url"):
        return {"skipped": "this build has no --broker-url: no cross-node push to measure"}
    with deployed(
        "push",
        console,
        folder=folder,
        devices=1,
        postgres=postgres,
        redis=redis,
        processes=2,
        as_nodes=True,
    ) as nodes:
        a, b = nodes.targets  # the one device is node A's
        result: dict[str, Any] = {}
        for name, http_port in (("cross-node", b.http_port), ("same node", a.http_port)):
            plan: dict[str, Any] = {"port": a.hardware_port, "http_port": http_port, "count": 1}
            plan |= {"tokens_file": str(a.tokens_file), "rate": options.push_rate}
            plan |= {"duration_s": options.push_duration, "http_connections": 8}
            console.print(
                f"push: {name} at {options.push_rate:g}/s for {options.push_duration:g} s"
            )
            command = [sys.executable, str(BENCH_DIR / "tcp_load.py"), "push", json.dumps(plan)]
            with child_process(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as load:
                stdout, stderr = load.communicate(timeout=options.push_duration + 120)
            if load.returncode != 0:
                raise RuntimeError(f"push load failed ({load.returncode}):\n{stderr}")
            result[name] = json.loads(parse_marked(stdout, RESULT_MARKER))
        return result


# ---------------------------------------------------------------------------------------------
# The run


def run(options: argparse.Namespace) -> int:
    """Start PostgreSQL and Redis, measure each deployment, report; return the exit code."""
    nofile = raise_nofile(options.devices * 2 + 1_000)
    for name in [name for name in os.environ if name.startswith("PINBASE_")]:
        del os.environ[name]
    console = Console(width=max(Console().width, WIDE))
    report: dict[str, Any] = {
        "benchmark": "cluster",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {**{k: str(v) for k, v in vars(options).items()}, "nofile": nofile},
        "server_env": SERVER_ENV,
        "targets": {"scaling": TARGET_SCALING, "push_p99_ms": TARGET_PUSH_P99_MS},
        "build": {"workers": supports("workers"), "broker_url": supports("broker_url")},
    }
    console.print("server environment: " + " ".join(f"{k}={v}" for k, v in SERVER_ENV.items()))
    work = Path(tempfile.mkdtemp(prefix="pinbase-bench-cluster-"))
    plans: list[tuple[str, bool, int]] = [
        ("sqlite", False, 1),
        ("postgres", True, 1),
        (f"postgres, {options.workers} workers", True, options.workers),
    ]
    try:
        with local_postgres() as postgres, local_redis() as redis:
            report["deployments"] = {}
            for index, (name, on_postgres, processes) in enumerate(plans):
                with deployed(
                    name,
                    console,
                    folder=work / f"d{index}",
                    devices=options.devices,
                    postgres=postgres if on_postgres else None,
                    redis=redis,
                    processes=processes,
                ) as deployment:
                    figures = measure(
                        deployment, options, postgres=postgres, redis=redis, console=console
                    )
                    finish(deployment, figures)
                report["deployments"][name] = figures
            report["push"] = push_latency(
                options, folder=work / "push", postgres=postgres, redis=redis, console=console
            )
    finally:
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            console.print(f"kept {work}")
    print_report(console, report)
    write_json(console, report, options.output)
    lost = [
        name
        for name, figures in report["deployments"].items()
        if figures["history_points"] < figures["acknowledged_points"]
    ]
    return 1 if lost else 0


def print_report(console: Console, report: dict[str, Any]) -> None:
    """The throughput table, the CPU table, the push latency and the notes."""
    deployments: dict[str, Any] = report["deployments"]
    names = list(deployments)
    table = Table(title="Device loads: one node against several processes (loopback)")
    table.add_column("load")
    for name in names:
        table.add_column(name, justify="right")
    table.add_column("postgres / sqlite (>= 1)", justify="right")
    table.add_column(f"several / one (>= {TARGET_SCALING})", justify="right")
    for kind in LOADS:
        rates = [deployments[name][kind]["rate"] for name in names]
        table.add_row(
            LOAD_NAMES[kind],
            *(f"{rate:,.0f}" for rate in rates),
            f"{rates[1] / rates[0]:.2f}",
            f"{rates[2] / rates[1]:.2f}",
        )
    console.print(table)
    cpu = Table(title="CPU during each load (share of one core; workers are children)")
    cpu.add_column("deployment / load")
    cpu.add_column("processes")
    for name in names:
        for kind in LOADS:
            shares = deployments[name][kind]["cpu"]
            text = ", ".join(
                f"{process} {share:.0%}"
                for process, share in shares.items()
                if process != "wall_s" and share >= SHOWN_CPU
            )
            cpu.add_row(f"{name} / {kind}", text)
    console.print(cpu)
    cost = Table(title="CPU per request or message, µs (robust to a busy machine, unlike rates)")
    cost.add_column("deployment / load")
    for heading in ("pinbase", "postgres", "redis", "other CPU"):
        cost.add_column(heading, justify="right")
    for name in names:
        for kind in LOADS:
            figures = deployments[name][kind]
            per_unit = unit_costs(figures)
            cost.add_row(
                f"{name} / {kind}",
                *(f"{per_unit[part]:.1f}" if part in per_unit else "-" for part in COST_PARTS),
                f"{figures['cpu']['other']:.0%}",
            )
    console.print(cost)
    noisy = max(deployments[name][kind]["cpu"]["other"] for name in names for kind in LOADS)
    if noisy > NOISY_CPU:
        console.print(
            f"[yellow]other processes used up to {noisy:.0%} of a core during the loads: the "
            "rates and their ratios are noisy; the CPU per request or message holds better"
        )
    for name in names:
        figures = deployments[name]
        if figures["note"]:
            console.print(f"[yellow]{name}: {figures['note']}")
        stored, acked = figures["history_points"], figures["acknowledged_points"]
        colour = "red" if stored < acked else "green"
        console.print(f"[{colour}]{name}: {stored:,} history points stored, {acked:,} acknowledged")
        for server in figures["servers"]:
            print_log_problems(console, server["log_problems"])
    push = report["push"]
    if "skipped" in push:
        console.print(f"[yellow]push latency: {push['skipped']}")
    else:
        for name, figures in push.items():
            console.print(
                f"push {name}: p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms, "
                f"max {figures['max_ms']:.1f} ms, {figures['received']:,} of {figures['updates']:,}"
                f" received (target p99 < {TARGET_PUSH_P99_MS:g} ms cross-node)"
            )


COST_PARTS = ("pinbase", "postgres", "redis")


def unit_costs(figures: dict[str, Any]) -> dict[str, float]:
    """CPU µs per request or message of a load, by part: every Pinbase process summed,
    PostgreSQL, Redis (the parts that ran)."""
    cpu, rate = figures["cpu"], figures["rate"] or 1.0
    parts: dict[str, float] = {}
    for process, share in cpu.items():
        part = process.split()[0]
        if part in COST_PARTS:
            parts[part] = parts.get(part, 0.0) + share * 1e6 / rate
    return parts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--devices", type=int, default=1_000, help="devices per deployment")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each load")
    parser.add_argument("--workers", type=int, default=2, help="processes of the last deployment")
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS, help="HTTP")
    parser.add_argument("--client", choices=("auto", "wrk", "asyncio"), default="auto")
    parser.add_argument("--push-rate", type=float, default=1_000.0, help="updates/s")
    parser.add_argument("--push-duration", type=float, default=5.0, help="seconds")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    options = parser.parse_args(argv)
    if options.client == "auto":
        options.client = "wrk" if shutil.which("wrk") else "asyncio"
    return options


def main() -> None:
    """Run the benchmark; exit 1 on a lost write, 130 on Ctrl-C."""
    options = parse_args()
    exit_with(lambda: run(options), interrupted="interrupted; servers and load processes stopped")


if __name__ == "__main__":
    main()
