"""History read benchmark: one day of one-per-second points, read over HTTP.

Theory of operation. A fresh data folder is provisioned with one template (v1 DOUBLE), one device
and one OAuth client. 86,400 points, one per second over the last 24 hours, are stored through
the storage layer's group-commit call (``Store.append_points``, which also folds the per-minute
aggregates), the way the history writer stores an import, only without 9 HTTP round trips and
the import quota. ``pinbase serve`` (SQLite, loopback) is then started on the folder, a token is
issued by ``/oauth2/token``, and each request below is sent ``--requests`` times in a row over
one keep-alive connection after a few unmeasured warm-up requests:

* PLT-DS-06 ``/api/v1/organization/device/datastream/history``: the first page (newest 100
  points), the last page of the day (the oldest 100), and a one-hour ``from``/``to`` window
  (first page of 1,000);
* DEV-08 ``/external/api/data/get`` with ``output=JSON`` over ``period=DAY``: ``RAW_DATA``
  (all 86,400 points in one answer) and ``MINUTE`` (1,440 averaged rows).

It prints the median and p95 latency of each, against the 50 ms target (printed, never asserted).
DEV-08 allows 10 exports per device and day; the server is started with
``PINBASE_REPORTS_PER_DAY`` raised so the benchmark can repeat them, and says so.

Run: ``make bench`` or ``.venv/bin/python bench/history.py --help``.
"""

import argparse
import asyncio
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from http_load import issue_token
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.points import Point
from pinbase.runtime import open_store
from pinbase.settings import Settings
from pinbase.testing import ServerProcess
from report import provisioned, write_json

DAY_S = 86_400
PAGE = 100
WINDOW_PAGE = 1_000
DEFAULT_REQUESTS = 50
WARM_UP = 3
TARGET_MS = 50.0
REPORTS_PER_DAY = 1_000_000
"""Raised from the default 10 so DEV-08 can be measured ``--requests`` times (settings.py)."""
APPEND_CHUNK = 10_000
"""Points per ``append_points`` call: the size of one DEV-05 / PLT-DS-04 import."""
HISTORY = "/api/v1/organization/device/datastream/history"
REPORT = "/external/api/data/get"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "history.json"


def bench_spec() -> dict[str, Any]:
    """A provisioning file: one OAuth client, one template (v1 DOUBLE), one device."""
    return {
        "organization": {"name": "Bench Org"},
        "oauthClients": [{"name": "bench"}],
        "templates": [
            {
                "name": "History",
                "datastreams": [{"id": 1, "label": "Level", "pin": 1, "type": "DOUBLE"}],
            }
        ],
        "devices": [{"name": "Logger", "template": "History"}],
    }


async def store_day(data_dir: Path, device_id: int, *, last_s: int) -> float:
    """Store one point per second for the day ending at ``last_s``; return the seconds taken."""
    store = await open_store(Settings(data_dir=data_dir, database_url=None))
    try:
        device, datastream = DeviceId(device_id), DatastreamId(1)
        first_s = last_s - DAY_S + 1
        points = [
            Point(device, datastream, s * 1000, round(20 + (s % 600) / 100, 2))
            for s in range(first_s, last_s + 1)
        ]
        started = time.perf_counter()
        for at in range(0, len(points), APPEND_CHUNK):
            chunk = points[at : at + APPEND_CHUNK]
            await store.append_points(chunk, current=chunk[-1:])
        return time.perf_counter() - started
    finally:
        await store.close()


def measure(
    http: httpx.Client, url: str, *, requests: int, headers: dict[str, str]
) -> dict[str, Any]:
    """Latencies of ``requests`` GETs after a warm-up; every answer must be a 200."""
    for _ in range(WARM_UP):
        http.get(url, headers=headers).raise_for_status()
    times: list[float] = []
    size = 0
    for _ in range(requests):
        started = time.perf_counter()
        answer = http.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
        size = len(answer.content)
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p95_ms": times[max(0, round(0.95 * len(times)) - 1)],
        "bytes": size,
        "requests": requests,
    }


def run(options: argparse.Namespace) -> dict[str, Any]:
    """Provision, store the day, serve, measure; return the figures."""
    console = Console()
    with provisioned(
        console,
        bench_spec(),
        prefix="pinbase-bench-history-",
        keep=options.keep,
        kept="data folder and server log",
        note=None,
    ) as bench:
        work_dir, data_dir, created = bench.work_dir, bench.data_dir, bench.created
        device_id = int(created["devices"][0]["id"])
        token = created["devices"][0]["token"]
        client = created["oauthClients"][0]
        last_s = int(time.time())
        console.print(f"storing {DAY_S:,} points (one per second, last 24 h) in {work_dir} ...")
        stored_s = asyncio.run(store_day(data_dir, device_id, last_s=last_s))
        console.print(f"stored in {stored_s:.1f} s ({DAY_S / stored_s:,.0f} points/s)")
        env = {"PINBASE_REPORTS_PER_DAY": str(REPORTS_PER_DAY)}
        console.print(f"starting pinbase serve with PINBASE_REPORTS_PER_DAY={REPORTS_PER_DAY} ...")
        with (
            ServerProcess(data_dir, env=env) as server,
            httpx.Client(base_url=server.base_url, timeout=60) as http,
        ):
            bearer = {"Authorization": f"Bearer {issue_token(server.base_url, client)}"}
            noon_ms = (last_s - DAY_S // 2) * 1000
            history = f"{HISTORY}?deviceId={device_id}&pin=v1"
            report = f"{REPORT}?token={token}&pin=v1&period=DAY&output=JSON"
            plan = [
                ("PLT-DS-06 first page", f"{history}&size={PAGE}", bearer),
                ("PLT-DS-06 last page", f"{history}&size={PAGE}&page={DAY_S // PAGE - 1}", bearer),
                (
                    "PLT-DS-06 from/to 1 h",
                    f"{history}&size={WINDOW_PAGE}&from={noon_ms}&to={noon_ms + 3_600_000}",
                    bearer,
                ),
                ("DEV-08 RAW_DATA day", f"{report}&granularityType=RAW_DATA", {}),
                ("DEV-08 MINUTE day", f"{report}&granularityType=MINUTE", {}),
            ]
            figures = {}
            for label, url, headers in plan:
                console.print(f"measuring {label} ...")
                figures[label] = measure(http, url, requests=options.requests, headers=headers)
        result = {
            "benchmark": "history",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
            "settings": {
                "points": DAY_S,
                "requests": options.requests,
                "reports_per_day": REPORTS_PER_DAY,
                "removed_env": bench.removed_env,
            },
            "store_seconds": stored_s,
            "target_ms": TARGET_MS,
            "requests": figures,
        }
        print_report(console, result)
        return result


def print_report(console: Console, result: dict[str, Any]) -> None:
    """The figures as a table."""
    settings = result["settings"]
    table = Table(
        title=f"History reads: {settings['points']:,} points, {settings['requests']} requests each"
    )
    for heading in ("request", "median", "p95", "answer", f"target {TARGET_MS:g} ms"):
        table.add_column(heading, justify="left" if heading == "request" else "right")
    for label, figures in result["requests"].items():
        met = figures["p95_ms"] < TARGET_MS
        table.add_row(
            label,
            f"{figures['median_ms']:.1f} ms",
            f"{figures['p95_ms']:.1f} ms",
            f"{figures['bytes'] / 1024:,.0f} KiB",
            "[green]met[/green]" if met else "[red]missed[/red]",
        )
    console.print(table)
    load = ", ".join(f"{x:.1f}" for x in result["machine"]["load_average"])
    console.print(f"load average at the end: {load} on {result['machine']['cpus']} CPUs")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS, help="per request kind")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    return parser.parse_args(argv)


def main() -> None:
    """Run the benchmark and write the figures."""
    options = parse_args()
    result = run(options)
    write_json(Console(), result, options.output)


if __name__ == "__main__":
    main()
