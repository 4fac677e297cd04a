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
asyncio generator in a separate process (both in bench/http_load.py). wrk never counts
requests still in flight when it stops, though the server commits them, so with wrk the
database may hold up to 3 x connections more points; the asyncio client stops sending and waits
for every answer, so its count is exact. Both clients' CPU use is measured and printed, so a
client that saturates its core (and so bounds the figures) shows.

Run: ``make bench`` or ``.venv/bin/python bench/device_http.py --help``.
"""

import argparse
import contextlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from http_load import LoadPlan, LoadResult, run_load
from pinbase.testing import ServerProcess, free_port, provision
from processes import child_process, py_spy, stop_gracefully, top_functions, wait_ready

DEVICES = 1_000
DEFAULT_DURATION_S = 10.0
DEFAULT_CONNECTIONS = 64
POINTS_PER_REQUEST = 3
"""v1, v2 and v3: each 200 answer stands for three history points."""
BATCH_PATH = "/external/api/batch/update"
BARE_PATH = "/"
TARGET_RPS = 30_000
TARGET_RATIO = 0.7
TARGET_CPUS = 2
"""The targets hold for a 2-core machine; they are printed beside the figures, never asserted."""
SATURATED_CPU = 0.9
"""A client busy more than 90% of the run bounds the figures rather than measuring the server."""
NOISY_CPU = 0.2
"""Other processes using more than a fifth of a core during a run make its figures noisy."""
PROFILE_RATE_HZ = 200

BENCH_DIR = Path(__file__).resolve().parent
BARE_APP = BENCH_DIR / "bare_app.py"
DEFAULT_OUTPUT = BENCH_DIR / "results" / "device_http.json"
SQLITE_FILE = "pinbase.db"


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
    options = parser.parse_args(argv)
    if options.connections < options.threads:
        parser.error("--connections must be at least --threads")
    return options


def main() -> None:
    """Run the benchmark; exit 1 when the points check fails, 130 on Ctrl-C."""
    options = parse_args()
    try:
        code = run(options)
    except KeyboardInterrupt:
        code = 130  # the shell's code for SIGINT; the finally blocks already stopped every child
        print("interrupted; servers and load clients stopped", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
