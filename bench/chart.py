"""Chart read benchmark: a day of one-per-second points in three datastreams, charted.

Theory of operation. A fresh data folder gets one template (v1..v3 DOUBLE) and one device;
86,400 points per datastream, one per second over the last 24 hours (259,200 in all), are stored
through ``Store.append_points`` in groups of 10,000, as ``bench/history.py`` stores its day
(raw rows and minute aggregates). The console's chart endpoint (``http/console/chart_data.py``)
is then mounted at ``/dashboard`` in a Starlette app over the running services (SQLite), with a
caller that sees the device's organization, and each range is requested ``--requests`` times
for all three datastreams after a few warm-up requests, through httpx's ASGI transport: the
figures are the server's work (lookup, SQL, JSON), without a socket. The console's own
application (sessions) is not in this branch yet.

It prints the median and p95 per range, against the 100 ms target for a day (printed, never
asserted). Run: ``.venv/bin/python bench/chart.py --help``.
"""

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.points import Point
from pinbase.http.console.chart_data import chart_routes
from pinbase.runtime import running_services
from pinbase.services.oauth import Caller
from pinbase.services.provisioning import parse_spec, provision
from pinbase.settings import Settings
from report import write_json

DAY_S = 86_400
SERIES = 3
APPEND_CHUNK = 10_000
DEFAULT_REQUESTS = 30
WARM_UP = 3
TARGET_MS = 100.0
RANGES = ("live", "1h", "6h", "1d", "1w", "1mo", "3mo")
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "chart.json"

SPEC = {
    "organization": {"name": "Bench Org"},
    "templates": [
        {
            "name": "Chart",
            "datastreams": [
                {"id": n, "label": f"Level {n}", "pin": n, "type": "DOUBLE"}
                for n in range(1, SERIES + 1)
            ],
        }
    ],
    "devices": [{"name": "Logger", "template": "Chart"}],
}


async def measure(client: httpx.AsyncClient, url: str, requests: int) -> dict[str, Any]:
    """Latencies of ``requests`` GETs after a warm-up; every answer must be a 200."""
    for _ in range(WARM_UP):
        (await client.get(url)).raise_for_status()
    times: list[float] = []
    answer = None
    for _ in range(requests):
        started = time.perf_counter()
        answer = await client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    assert answer is not None
    times.sort()
    points = [len(series["points"]) for series in answer.json()["series"]]
    return {
        "median_ms": statistics.median(times),
        "p95_ms": times[max(0, round(0.95 * len(times)) - 1)],
        "bytes": len(answer.content),
        "points_per_series": points,
    }


async def run(options: argparse.Namespace, console: Console) -> dict[str, Any]:
    """Store the day, mount the endpoint, measure every range."""
    with tempfile.TemporaryDirectory(prefix="pinbase-bench-chart-") as work:
        settings = Settings(data_dir=Path(work), database_url=None)
        async with running_services(settings) as services:
            created = await provision(
                services.store, parse_spec(SPEC), clock=services.clock, bus=services.bus
            )
            device_id = DeviceId(created["devices"][0]["id"])
            last_s = services.clock() // 1000
            points = [
                Point(device_id, DatastreamId(n), s * 1000, round(20 + n + (s % 600) / 100, 2))
                for s in range(last_s - DAY_S + 1, last_s + 1)
                for n in range(1, SERIES + 1)
            ]
            console.print(f"storing {len(points):,} points ({SERIES} series, 1 Hz, 24 h) ...")
            started = time.perf_counter()
            for at in range(0, len(points), APPEND_CHUNK):
                chunk = points[at : at + APPEND_CHUNK]
                await services.store.append_points(chunk, current=chunk[-SERIES:])
            stored_s = time.perf_counter() - started
            bound = await services.directory.find_by_id(device_id)
            assert bound is not None
            org_id = bound.device.org_id
            caller = Caller(
                client_id="bench", org_id=org_id, scope=services.directory.subtree(org_id)
            )

            async def caller_of(conn: HTTPConnection) -> Caller:
                return caller

            app = Starlette(routes=chart_routes(services, settings, caller_of))
            ids = ",".join(str(n) for n in range(1, SERIES + 1))
            figures = {}
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench"
            ) as client:
                for name in RANGES:
                    console.print(f"measuring {name} ...")
                    url = (
                        f"/dashboard/api/devices/{device_id}/chart?range={name}&dataStreamIds={ids}"
                    )
                    figures[name] = await measure(client, url, options.requests)
    return {
        "benchmark": "chart",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "settings": {"points": DAY_S * SERIES, "series": SERIES, "requests": options.requests},
        "store_seconds": stored_s,
        "target_ms": TARGET_MS,
        "ranges": figures,
    }


def print_report(console: Console, result: dict[str, Any]) -> None:
    """The figures as a table."""
    table = Table(
        title=f"Chart reads: {result['settings']['points']:,} points in {SERIES} series, "
        f"{result['settings']['requests']} requests each (in process, SQLite)"
    )
    for heading in ("range", "median", "p95", "answer", "points per series"):
        table.add_column(heading, justify="left" if heading == "range" else "right")
    for name, figures in result["ranges"].items():
        table.add_row(
            name,
            f"{figures['median_ms']:.1f} ms",
            f"{figures['p95_ms']:.1f} ms",
            f"{figures['bytes'] / 1024:,.0f} KiB",
            ", ".join(str(n) for n in figures["points_per_series"]),
        )
    console.print(table)
    load = ", ".join(f"{x:.1f}" for x in result["machine"]["load_average"])
    console.print(f"1d target {TARGET_MS:g} ms; load average at the end: {load}")


def main() -> None:
    """Run the benchmark and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS, help="per range")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    options = parser.parse_args()
    console = Console()
    result = asyncio.run(run(options, console))
    print_report(console, result)
    write_json(console, result, options.output)


if __name__ == "__main__":
    main()
