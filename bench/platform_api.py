"""Platform API benchmark: device-info reads and datastream value writes with a bearer token.

Theory of operation. A fresh data folder is provisioned with one OAuth client, one template (v1
INT 0..100) and 1,000 devices, and ``pinbase serve`` (SQLite, loopback) is started with the
per-organization rate limit raised (``PINBASE_PLATFORM_REQUESTS_PER_MINUTE``; the default 10,000
a minute would answer most requests 429 within a second). One access token is issued by
``/oauth2/token`` (client credentials), and the load client of bench/http_load.py keeps
``--connections`` keep-alive connections busy for ``--duration`` seconds, twice, request n taking
device id n mod 1,000 and the ``Authorization: Bearer`` header:

1. **reads**: PLT-DEV-06 ``GET /api/v1/organization/device?deviceId=…``;
2. **writes**: PLT-DS-02 ``POST /api/v1/organization/device/datastream`` with
   ``{"deviceId":…,"dataStreamId":1,"value":n % 101}``.

It prints requests/s, p50 and p99 latency and the answers that were not 200 (reads) or 204
(writes), against the target of 8,000 reads/s on 2 cores (printed, never asserted).
``--profile`` samples the server with py-spy during the reads.

Run: ``make bench`` or ``.venv/bin/python bench/platform_api.py --help``.
"""

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from http_load import LoadPlan, LoadResult, issue_token, parse_load_args, run_load
from pinbase.testing import ServerProcess, free_port
from processes import exit_with, sampled
from report import print_profile, provisioned, write_json, write_tokens

RATE_LIMIT = 1_000_000_000
"""Requests per organization per minute: far above what one machine can send."""
TARGET_READS = 8_000
TARGET_CPUS = 2
DEVICE_PATH = "/api/v1/organization/device"
VALUE_PATH = "/api/v1/organization/device/datastream"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "platform_api.json"


def bench_spec(devices: int) -> dict[str, Any]:
    """A provisioning file: one OAuth client, one template (v1 INT 0..100), ``devices`` devices."""
    return {
        "organization": {"name": "Bench Org"},
        "oauthClients": [{"name": "bench"}],
        "templates": [
            {
                "name": "Bench",
                "datastreams": [
                    {"id": 1, "label": "Counter", "pin": 1, "type": "INT", "min": 0, "max": 100}
                ],
            }
        ],
        "devices": [{"name": f"Bench {n}", "template": "Bench"} for n in range(devices)],
    }


def drive(
    plan: LoadPlan, server: ServerProcess, *, work_dir: Path, profile: bool
) -> tuple[LoadResult, list[dict[str, Any]]]:
    """One load run against the running server, sampled by py-spy when asked."""
    if not profile:
        return run_load(plan, server_pid=server.pid, work_dir=work_dir), []
    out = work_dir / f"profile-{plan.kind}.txt"
    with sampled(server.pid, duration_s=plan.duration_s, out=out) as found:
        result = run_load(plan, server_pid=server.pid, work_dir=work_dir)
    return result, found.rows


def run(options: argparse.Namespace) -> int:
    """Provision, serve, issue a token, drive reads then writes, report; return the exit code."""
    console = Console()
    with provisioned(
        console,
        bench_spec(options.devices),
        prefix="pinbase-bench-platform-",
        keep=options.keep,
        kept="data folder, logs and scripts",
        note=" ...",
    ) as bench:
        created = bench.created
        ids_file = write_tokens(created, bench.work_dir / "device_ids.txt", key="id")
        env = {"PINBASE_PLATFORM_REQUESTS_PER_MINUTE": str(RATE_LIMIT)}
        console.print(f"rate limit raised for the benchmark: {env}")
        results: dict[str, LoadResult] = {}
        profile: list[dict[str, Any]] = []
        with ServerProcess(bench.data_dir, port=free_port(), env=env) as server:
            bearer = (
                f"Authorization: Bearer {issue_token(server.base_url, created['oauthClients'][0])}"
            )
            common = {
                "client": options.client,
                "port": server.port,
                "tokens_file": ids_file,
                "connections": options.connections,
                "duration_s": options.duration,
                "threads": options.threads,
            }
            plans = {
                "reads": LoadPlan(
                    **common, path=DEVICE_PATH, kind="device_info", headers=(bearer,)
                ),
                "writes": LoadPlan(
                    **common,
                    path=VALUE_PATH,
                    kind="datastream_value",
                    headers=(bearer, "Content-Type: application/json"),
                ),
            }
            for name, plan in plans.items():
                console.print(f"driving {name} with {plan.client} for {plan.duration_s:g} s ...")
                results[name], rows = drive(
                    plan,
                    server,
                    work_dir=bench.work_dir,
                    profile=options.profile and name == "reads",
                )
                profile = profile or rows
        report = {
            "benchmark": "platform_api",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
            "settings": {
                "client": options.client,
                "connections": options.connections,
                "duration_s": options.duration,
                "devices": options.devices,
                "platform_requests_per_minute": RATE_LIMIT,
                "removed_env": bench.removed_env,
            },
            "results": {name: result.as_json() for name, result in results.items()},
            "targets": {"reads_rps": TARGET_READS, "cpus": TARGET_CPUS},
            "profile": profile,
        }
        print_report(console, report, results)
    write_json(console, report, options.output)
    return 0


def print_report(console: Console, report: dict[str, Any], results: dict[str, LoadResult]) -> None:
    """The figures as a table, then CPU use and the profile when there is one."""
    settings = report["settings"]
    table = Table(
        title=f"Platform API: {settings['client']}, {settings['connections']} connections, "
        f"{settings['duration_s']:g} s, {settings['devices']:,} devices"
    )
    for heading in ("", "PLT-DEV-06 reads", "PLT-DS-02 writes"):
        table.add_column(heading, justify="right")
    reads, writes = results["reads"], results["writes"]
    table.add_row("requests/s", f"{reads.rps:,.0f}", f"{writes.rps:,.0f}")
    table.add_row("target (2 cores)", f">= {TARGET_READS:,}", "")
    table.add_row("p50 latency", f"{reads.p50_ms:.2f} ms", f"{writes.p50_ms:.2f} ms")
    table.add_row("p99 latency", f"{reads.p99_ms:.2f} ms", f"{writes.p99_ms:.2f} ms")
    table.add_row(
        "expected answers", f"{reads.ok:,} x 200", f"{writes.statuses.get(204, 0):,} x 204"
    )
    table.add_row(
        "other answers",
        _others(reads.statuses, expected=200),
        _others(writes.statuses, expected=204),
    )
    table.add_row("socket errors", f"{reads.socket_errors:,}", f"{writes.socket_errors:,}")
    for label, attribute in (("server CPU", "server_cpu_s"), ("client CPU", "client_cpu_s")):
        shares = [getattr(r, attribute) / r.seconds for r in (reads, writes)]
        table.add_row(label, *(f"{share:.0%} of a core" for share in shares))
    table.add_row(
        "other CPU", *(f"{r.other_cpu_s / r.seconds:.0%} of a core" for r in (reads, writes))
    )
    console.print(table)
    if report["profile"]:
        title = "pinbase serve under PLT-DEV-06 reads: py-spy, % of samples"
        print_profile(console, report["profile"], title=title)
        console.print("(read figures above were measured while py-spy sampled the server)")


def _others(statuses: dict[int, int], *, expected: int) -> str:
    """Answers other than ``expected``, by status: ``429 x 3, 500 x 1`` or ``0``."""
    others = {code: count for code, count in sorted(statuses.items()) if code != expected}
    return ", ".join(f"{code} x {count:,}" for code, count in others.items()) or "0"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    return parse_load_args(
        argv,
        description=__doc__.split("\n", 1)[0],
        output=DEFAULT_OUTPUT,
        profile_help="sample the reads with py-spy",
    )


def main() -> None:
    """Run the benchmark and write the figures; exit 130 on Ctrl-C."""
    options = parse_args()
    interrupted = "interrupted; the server and load clients were stopped"
    exit_with(lambda: run(options), interrupted=interrupted)


if __name__ == "__main__":
    main()
