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

On PostgreSQL. ``--database-url`` names a local PostgreSQL server instead: the run provisions and
serves a fresh database on it (bench/postgres_target.py), counts the points there, and also
reports the CPU the PostgreSQL server used, so the cost of a request is Pinbase's plus the
database's (issue #11).

Run: ``make bench`` or ``.venv/bin/python bench/device_http.py --help``.
"""

import argparse
import contextlib
import sqlite3
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

import postgres_target
from http_load import LoadPlan, LoadResult, parse_load_args, run_load
from pinbase.settings import Settings
from pinbase.testing import ServerProcess, free_port
from processes import child_process, exit_with, log_problems, sampled, stop_gracefully, wait_ready
from report import (
    NOISY_CPU,
    SATURATED_CPU,
    machine,
    print_log_problems,
    print_profile,
    provisioned,
    write_json,
    write_tokens,
)

POINTS_PER_REQUEST = 3
"""v1, v2 and v3: each 200 answer stands for three history points."""
BATCH_PATH = "/external/api/batch/update"
BARE_PATH = "/"
TARGET_RPS = 30_000
TARGET_RATIO = 0.7
TARGET_CPUS = 2
"""The targets hold for a 2-core machine; they are printed beside the figures, never asserted."""

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


def count_history(data_dir: Path, database_url: str | None = None) -> int:
    """History points in the PostgreSQL database ``database_url``, else in the SQLite database
    of ``data_dir``."""
    if database_url:
        return postgres_target.count_history(database_url)
    with contextlib.closing(sqlite3.connect(data_dir / SQLITE_FILE)) as db:
        (count,) = db.execute("SELECT count(*) FROM history").fetchone()
    return int(count)


def bench_pinbase(
    plan: LoadPlan,
    *,
    data_dir: Path,
    work_dir: Path,
    profile: bool,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Drive ``pinbase serve``, stop it with SIGTERM, and return the figures and its log; on
    PostgreSQL also the CPU seconds its server used meanwhile (``database_cpu_s``)."""
    extra = ("--database-url", database_url) if database_url else ()
    server = ServerProcess(data_dir, *extra, port=plan.port)
    exit_code: int | None = None
    profile_rows: list[dict[str, Any]] = []
    profile_error = ""
    database_cpu_s: float | None = None
    try:
        server.start()
        postmaster = postgres_target.postmaster_pid(database_url) if database_url else None
        database_before = postgres_target.server_cpu_s(postmaster) if postmaster else {}
        if profile:
            out = work_dir / "profile.txt"
            with sampled(server.pid, duration_s=plan.duration_s, out=out) as found:
                result = run_load(plan, server_pid=server.pid, work_dir=work_dir)
            profile_rows, profile_error = found.rows, found.error
        else:
            result = run_load(plan, server_pid=server.pid, work_dir=work_dir)
        if postmaster:
            database_after = postgres_target.server_cpu_s(postmaster)
            database_cpu_s = postgres_target.used_cpu_s(database_before, database_after)
    finally:
        exit_code = server.stop()
    return {
        "result": result,
        "database_cpu_s": database_cpu_s,
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
    if not options.database_url:
        return run_on(options, None)
    with postgres_target.fresh_database(options.database_url) as database_url:
        return run_on(options, database_url)


def run_on(options: argparse.Namespace, database_url: str | None) -> int:
    """``run`` on the database ``database_url`` (None: SQLite in the data folder)."""
    client = options.client
    console = Console()
    with provisioned(
        console,
        bench_spec(options.devices),
        prefix="pinbase-bench-",
        keep=options.keep,
        kept="data folder, logs and scripts",
        note=" ...",
        database_url=database_url,
    ) as bench:
        work_dir, data_dir = bench.work_dir, bench.data_dir
        tokens_file = write_tokens(bench.created, work_dir / "tokens.txt")
        baseline = count_history(data_dir, database_url)
        host = machine()
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
        pinbase = bench_pinbase(
            plan,
            data_dir=data_dir,
            work_dir=work_dir,
            profile=options.profile,
            database_url=database_url,
        )
        points = count_history(data_dir, database_url) - baseline
        bare_plan = LoadPlan(**{**asdict(plan), "port": free_port(), "path": BARE_PATH})
        console.print(f"driving the bare Starlette app with {client} for {plan.duration_s:g} s ...")
        bare = bench_bare(bare_plan, work_dir=work_dir)
        report = build_report(plan=plan, pinbase=pinbase, bare=bare, points=points, host=host)
        report["settings"]["removed_env"] = bench.removed_env
        print_report(console, report, pinbase["result"], bare)
        write_json(console, report, options.output)
        return 0 if report["check"]["passed"] else 1


def build_report(
    *,
    plan: LoadPlan,
    pinbase: dict[str, Any],
    bare: LoadResult,
    points: int,
    host: dict[str, Any],
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
        "machine": host,
        "settings": {
            "client": plan.client,
            "connections": plan.connections,
            "duration_s": plan.duration_s,
            "wrk_threads": plan.threads if plan.client == "wrk" else None,
            "devices": len(plan.tokens_file.read_text().split()),
            "database": "postgresql" if pinbase["database_cpu_s"] is not None else "sqlite",
            # The server runs on the defaults: PINBASE_* variables were removed above.
            "device_requests_per_second": Settings().device_requests_per_second,
        },
        "pinbase": result.as_json(),
        "database_cpu_s": pinbase["database_cpu_s"],
        "cpu_us_per_request": cpu_per_request(result, pinbase["database_cpu_s"]),
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


def cpu_per_request(result: LoadResult, database_cpu_s: float | None) -> dict[str, float | None]:
    """Microseconds of CPU per answered request: the server's, and the database server's."""
    answered = result.answered or 1
    return {
        "server": round(result.server_cpu_s / answered * 1e6, 1),
        "database": round(database_cpu_s / answered * 1e6, 1) if database_cpu_s else None,
    }


def print_report(
    console: Console, report: dict[str, Any], ours: LoadResult, bare: LoadResult
) -> None:
    """The figures as a small table, then the point check, CPU use and any warnings."""
    settings, check = report["settings"], report["check"]
    title = (
        f"Device HTTP API: {settings['client']}, {settings['connections']} connections, "
        f"{settings['duration_s']:g} s, {settings['devices']:,} devices, {settings['database']}, "
        f"limit {settings['device_requests_per_second']} requests/s per device"
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
    per_request = report["cpu_us_per_request"]
    table.add_row("server CPU / request", f"{per_request['server']:.0f} µs", "", "")
    if per_request["database"] is not None:
        share = report["database_cpu_s"] / ours.seconds
        table.add_row("PostgreSQL CPU", f"{share:.0%} of a core", "", "")
        table.add_row("PostgreSQL CPU / request", f"{per_request['database']:.0f} µs", "", "")
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
    print_log_problems(console, report["server"]["log_problems"])
    if report["profile_error"]:
        console.print(f"py-spy failed: {report['profile_error']}", style="yellow", markup=False)
    if report["profile"]:
        title = "pinbase serve under load: py-spy, % of busy samples, all threads"
        print_profile(console, report["profile"], title=title)
        console.print("(figures above were measured while py-spy sampled the server)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    return parse_load_args(
        argv,
        description=__doc__.split("\n", 1)[0],
        output=DEFAULT_OUTPUT,
        profile_help="sample the server with py-spy",
        database=True,
    )


def main() -> None:
    """Run the benchmark; exit 1 when the points check fails, 130 on Ctrl-C."""
    options = parse_args()
    exit_with(lambda: run(options), interrupted="interrupted; servers and load clients stopped")


if __name__ == "__main__":
    main()
