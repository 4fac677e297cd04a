"""Console first-render benchmark: how soon a device page with 10 datastreams and a day of history
is on the screen.

Theory of operation. A fresh data folder gets one template with 10 DOUBLE datastreams (v1..v10),
one device and one Admin with a password; a day of points for each datastream, one every
``--every`` seconds over the last 24 hours, is stored through ``Store.append_points`` (raw rows
and minute aggregates, as bench/chart.py stores its day). Then ``pinbase serve`` starts on it
(SQLite, loopback), the Admin signs in as a browser does (bench/console_sign_in.py), and:

1. the server's answer time for the device page, ``GET /dashboard/devices/{id}`` (the HTML a
   browser waits for before anything shows), ``--requests`` times over one keep-alive connection
   after a warm-up;
2. the same for the chart data of a day for the 10 datastreams,
   ``GET /dashboard/api/devices/{id}/chart?range=1d&dataStreamIds=1,…,10`` (when ``pinbase
   serve`` mounts the chart endpoint; otherwise it says so);
3. with headless Chromium (Debian's ``/usr/bin/chromium``, as tests/browser; skipped when it is
   missing), the page's own timing: first byte, first contentful paint, DOMContentLoaded and
   ``load``, first with an empty cache, then ``--loads`` reloads (HTTP cache and service worker
   warm).

Target (printed, never asserted): the device page on the screen in < 1 s on this machine.
Run: ``.venv/bin/python bench/console_render.py --help``.
"""

import argparse
import asyncio
import secrets
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from console_sign_in import session_cookie
from pinbase.domain.ids import DatastreamId, DeviceId
from pinbase.domain.points import Point
from pinbase.runtime import running_services
from pinbase.settings import Settings
from pinbase.testing import ServerProcess
from processes import exit_with, log_problems
from report import machine, print_log_problems, provisioned, write_json

DAY_S = 86_400
SERIES = 10
APPEND_CHUNK = 10_000
WARM_UP = 3
TARGET_MS = 1_000.0
CHROMIUM = Path("/usr/bin/chromium")
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "console_render.json"
EMAIL = "render@example.com"
PASSWORD = secrets.token_urlsafe(12)

PAGE_TIMING = """() => new Promise((resolve) => {
  const timing = (paint) => {
    const navigation = performance.getEntriesByType('navigation')[0];
    return {
      first_byte_ms: navigation.responseStart,
      first_contentful_paint_ms: paint ? paint.startTime : null,
      dom_content_loaded_ms: navigation.domContentLoadedEventEnd,
      load_ms: navigation.loadEventEnd,
    };
  };
  // The paint entry may come after ``load``: wait for it, a few seconds at most.
  new PerformanceObserver((list, observer) => {
    const paint = list.getEntriesByName('first-contentful-paint')[0];
    if (paint) { observer.disconnect(); resolve(timing(paint)); }
  }).observe({ type: 'paint', buffered: true });
  setTimeout(() => resolve(timing(null)), 3000);
})"""
"""Milliseconds from the navigation's start (Navigation and Paint Timing)."""


def bench_spec() -> dict[str, Any]:
    """One organization, an Admin, a template of 10 DOUBLE datastreams, one device."""
    streams = [
        {"id": n, "label": f"Sensor {n}", "pin": n, "type": "DOUBLE", "min": 0, "max": 100}
        for n in range(1, SERIES + 1)
    ]
    return {
        "organization": {"name": "Bench Org"},
        "users": [{"email": EMAIL, "password": PASSWORD, "name": "Render", "roleId": 1}],
        "templates": [{"name": "Bench Render", "datastreams": streams}],
        "devices": [{"name": "Bench Render 1", "template": "Bench Render"}],
    }


async def store_day(data_dir: Path, device_id: int, every_s: int) -> int:
    """A day of points for each datastream of the device, one every ``every_s`` seconds."""
    settings = Settings(data_dir=data_dir, database_url=None)
    async with running_services(settings) as services:
        last_s = services.clock() // 1000
        points = [
            Point(DeviceId(device_id), DatastreamId(n), s * 1000, round(20 + n + (s % 600) / 60, 2))
            for s in range(last_s - DAY_S + every_s, last_s + 1, every_s)
            for n in range(1, SERIES + 1)
        ]
        for at in range(0, len(points), APPEND_CHUNK):
            chunk = points[at : at + APPEND_CHUNK]
            await services.store.append_points(chunk, current=chunk[-SERIES:])
    return len(points)


def answer_times(client: httpx.Client, url: str, requests: int) -> dict[str, Any]:
    """Median and p95 of ``requests`` GETs after a warm-up; None when it is not served."""
    first = client.get(url)
    if first.status_code == 404:
        return {"served": False}
    first.raise_for_status()
    for _ in range(WARM_UP - 1):
        client.get(url).raise_for_status()
    times: list[float] = []
    answer = first
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    times.sort()
    return {
        "served": True,
        "median_ms": statistics.median(times),
        "p95_ms": times[max(0, round(0.95 * len(times)) - 1)],
        "bytes": len(answer.content),
    }


def browser_timings(base_url: str, cookie: str, path: str, loads: int) -> dict[str, Any]:
    """The page's timing in Chromium: an empty cache, then the median of ``loads`` reloads."""
    from playwright.sync_api import sync_playwright

    name, _, value = cookie.partition("=")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(base_url=base_url)
        context.add_cookies([{"name": name, "value": value, "url": base_url}])
        page = context.new_page()
        page.goto(path, wait_until="load")
        cold = page.evaluate(PAGE_TIMING)
        warm = []
        for _ in range(loads):
            page.reload(wait_until="load")
            warm.append(page.evaluate(PAGE_TIMING))
        browser.close()
    medians = {
        key: statistics.median(timing[key] for timing in warm)
        for key in cold
        if all(timing[key] is not None for timing in warm)
    }
    return {"cold": cold, "warm_median": medians, "loads": loads}


def run(options: argparse.Namespace) -> int:
    """Provision, store the day, serve, measure, report."""
    console = Console()
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "options": {k: str(v) for k, v in vars(options).items()},
        "target_ms": TARGET_MS,
    }
    with provisioned(
        console, bench_spec(), prefix="pinbase-bench-render-", keep=False, kept="", note=None
    ) as ready:
        device_id = ready.created["devices"][0]["id"]
        console.print(f"storing a day of points, one per {options.every} s, {SERIES} series ...")
        started = time.perf_counter()
        report["points"] = asyncio.run(store_day(ready.data_dir, device_id, options.every))
        report["store_seconds"] = time.perf_counter() - started
        with ServerProcess(ready.data_dir) as served:
            cookie = session_cookie(served.base_url, EMAIL, PASSWORD)
            page_path = f"/dashboard/devices/{device_id}"
            ids = ",".join(str(n) for n in range(1, SERIES + 1))
            chart_path = f"/dashboard/api/devices/{device_id}/chart?range=1d&dataStreamIds={ids}"
            headers = {"Cookie": cookie}
            with httpx.Client(base_url=served.base_url, headers=headers, timeout=30) as client:
                console.print("measuring the device page's answer ...")
                report["page"] = answer_times(client, page_path, options.requests)
                console.print("measuring the day's chart data ...")
                report["chart"] = answer_times(client, chart_path, options.requests)
            if CHROMIUM.exists():
                console.print("loading the page in Chromium ...")
                report["browser"] = browser_timings(
                    served.base_url, cookie, page_path, options.loads
                )
            report["server"] = {"log_problems": log_problems(served.log())}
    print_report(console, report)
    write_json(console, report, options.output)
    return 0


def print_report(console: Console, report: dict[str, Any]) -> None:
    """The figures against the target."""
    table = Table(
        title=f"Device page first render: {SERIES} datastreams, "
        f"{report['points']:,} points over a day (pinbase serve, SQLite)"
    )
    for heading in ("", "median", "p95 / cold", "target"):
        table.add_column(heading, justify="left" if not heading else "right")
    for key, label in (("page", "page answer"), ("chart", "chart 1 d x 10")):
        figures = report[key]
        if not figures["served"]:
            table.add_row(label, "not served (404)", "", "")
            continue
        table.add_row(
            f"{label} ({figures['bytes'] / 1024:,.0f} KiB)",
            f"{figures['median_ms']:.1f} ms",
            f"{figures['p95_ms']:.1f} ms",
            "",
        )
    browser = report.get("browser")
    if browser is None:
        table.add_row("Chromium", f"not measured: {CHROMIUM} is missing", "", "")
    else:
        for key, label in (
            ("first_byte_ms", "Chromium: first byte"),
            ("first_contentful_paint_ms", "Chromium: first paint (FCP)"),
            ("dom_content_loaded_ms", "Chromium: DOMContentLoaded"),
            ("load_ms", "Chromium: load"),
        ):
            warm, cold = browser["warm_median"].get(key), browser["cold"].get(key)
            table.add_row(
                label,
                "" if warm is None else f"{warm:.0f} ms",
                "" if cold is None else f"{cold:.0f} ms",
                f"< {TARGET_MS:.0f} ms" if key != "first_byte_ms" else "",
            )
    console.print(table)
    console.print(
        "median: the server's answers after a warm-up, Chromium's reloads (cache and service "
        "worker warm); the last column is p95 of the answers, and Chromium's first load with an "
        "empty cache."
    )
    print_log_problems(console, report["server"]["log_problems"])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=int, default=10, help="seconds between stored points")
    parser.add_argument("--requests", type=int, default=30, help="answers timed per URL")
    parser.add_argument("--loads", type=int, default=5, help="Chromium reloads timed")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return parser.parse_args(argv)


def main() -> None:
    """Run with the command line's options."""
    options = parse_args()
    exit_with(lambda: run(options), interrupted="interrupted; every process was stopped")


if __name__ == "__main__":
    main()
