"""Console live-update benchmark: 200 WebSocket viewers of one device page while devices write
1,000 values/s.

Theory of operation. A fresh data folder is provisioned with one template (v1 INT, no bounds)
and ``--devices`` devices, and the server is started on SQLite, loopback, with the per-device
HTTP limit off (``PINBASE_DEVICE_REQUESTS_PER_SECOND=0``: the load process sends each device
``rate / devices`` updates a second, and says so). A load process of its own
(bench/console_load.py) then runs twice, with the same writes: ``GET /external/api/update`` at
``--rate``/s, update n to device n mod ``--devices``, so the watched device (the first) gets
``rate / devices`` a second, slower than the 50 ms flush: every one of its values reaches every
viewer, none coalesced away.

1. without viewers: the server's CPU over the writing window;
2. with ``--viewers`` WebSocket viewers subscribed to the watched device (``/dashboard/ws``,
   page ``Origin``, session cookie): the server's CPU again, and each value's latency from the
   write's answer (and from its sending) to each viewer's frame, p50 and p99.

Sign-in. The server is ``pinbase serve``; the provisioned Admin signs in through
``/dashboard/login`` as a browser does (bench/console_sign_in.py), and every viewer uses
that session's cookie.

Targets (printed, never asserted), on 2 cores: p99 < 50 ms from the write's answer to the
viewer's frame, viewers costing < 20 % extra server CPU.
Run: ``.venv/bin/python bench/console_live.py --help``.
"""

import argparse
import json
import secrets
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from console_load import RESULT_MARKER
from console_sign_in import session_cookie
from pinbase.testing import ServerProcess
from processes import (
    child_process,
    exit_with,
    log_problems,
    parse_marked,
)
from report import machine, print_log_problems, provisioned, write_json

TARGET_P99_MS = 50.0
TARGET_EXTRA_CPU = 0.20
BENCH_DIR = Path(__file__).resolve().parent
LOAD_SCRIPT = BENCH_DIR / "console_load.py"
DEFAULT_OUTPUT = BENCH_DIR / "results" / "console_live.json"
UNLIMITED_HTTP_ENV = {"PINBASE_DEVICE_REQUESTS_PER_SECOND": "0"}
"""Each device gets rate / devices updates a second; with fewer devices that passes the Device
HTTPS API's 50/s per device, so the benchmark's server turns the limit off."""
USER_EMAIL = "viewer@example.com"
USER_PASSWORD = secrets.token_urlsafe(12)


def bench_spec(devices: int) -> dict[str, Any]:
    """One organization, one template (v1 INT, no bounds), ``devices`` devices, one user."""
    stream = {"id": 1, "label": "Counter", "pin": 1, "pinType": "VIRTUAL", "type": "INT"}
    return {
        "organization": {"name": "Bench Org"},
        "users": [{"email": USER_EMAIL, "password": USER_PASSWORD, "name": "Viewer", "roleId": 1}],
        "templates": [{"name": "Bench Live", "datastreams": [stream]}],
        "devices": [{"name": f"Bench {n}", "template": "Bench Live"} for n in range(devices)],
    }


def run_load(plan: dict[str, Any], *, timeout_s: float) -> dict[str, Any]:
    """One run of the load process; its result."""
    command = [sys.executable, str(LOAD_SCRIPT), json.dumps(plan)]
    with child_process(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as load:
        stdout, stderr = load.communicate(timeout=timeout_s)
    if load.returncode != 0:
        raise RuntimeError(f"console_load.py failed ({load.returncode}):\n{stderr}")
    result: dict[str, Any] = json.loads(parse_marked(stdout, RESULT_MARKER))
    return result


def measure(options: argparse.Namespace, base: dict[str, Any]) -> dict[str, Any]:
    """Both runs against the started server."""
    timeout = options.duration + 120
    console = Console()
    console.print("running without viewers ...")
    alone = run_load({**base, "viewers": 0}, timeout_s=timeout)
    console.print(f"running with {options.viewers} viewers ...")
    watched = run_load({**base, "viewers": options.viewers}, timeout_s=timeout)
    return {"without_viewers": alone, "with_viewers": watched}


def run(options: argparse.Namespace) -> int:
    """Provision, serve, measure, report."""
    console = Console()
    console.print(
        "HTTP requests per device UNLIMITED for the benchmark: PINBASE_DEVICE_REQUESTS_PER_SECOND=0"
    )
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "options": {k: v for k, v in vars(options).items() if k != "output"},
    }
    with provisioned(
        console, bench_spec(options.devices), prefix="pinbase-bench-live-", keep=False, kept=""
    ) as ready:
        devices = ready.created["devices"]
        base = {
            "tokens": [device["token"] for device in devices],
            "watched_id": devices[0]["id"],
            "rate": options.rate,
            "duration_s": options.duration,
            "http_connections": options.http_connections,
        }
        with ServerProcess(ready.data_dir, env=UNLIMITED_HTTP_ENV) as served:
            plan = {**base, "port": served.port, "server_pid": served.pid}
            cookie = session_cookie(served.base_url, USER_EMAIL, USER_PASSWORD)
            report |= measure(options, {**plan, "cookie": cookie})
            report["server"] = {"log_problems": log_problems(served.log())}
    print_report(console, report)
    write_json(console, report, options.output)
    return 0


def print_report(console: Console, report: dict[str, Any]) -> None:
    """The figures against the targets."""
    alone, watched = report["without_viewers"], report["with_viewers"]
    extra = watched["server_cpu"] / alone["server_cpu"] - 1 if alone["server_cpu"] else 0.0
    table = Table(title="Console live updates (WebSocket viewers of one device page)")
    table.add_column("")
    table.add_column("measured", justify="right")
    table.add_column("target (2 cores)", justify="right")
    table.add_row("device writes/s", f"{watched['writes'] / watched['seconds']:,.0f}", "1,000")
    table.add_row("viewers", f"{watched['viewers']}", "200")
    table.add_row("watched device's writes", f"{watched['watched_writes']:,}", "")
    table.add_row(
        "values received / expected",
        f"{watched['receipts']:,} / {watched['expected_receipts']:,}",
        "all",
    )
    table.add_row(
        "write answered -> viewer p50 / p99",
        f"{watched['ack_p50_ms']:.1f} / {watched['ack_p99_ms']:.1f} ms",
        f"p99 < {TARGET_P99_MS:.0f} ms",
    )
    table.add_row(
        "write sent -> viewer p50 / p99 / max",
        f"{watched['send_p50_ms']:.1f} / {watched['send_p99_ms']:.1f} / "
        f"{watched['send_max_ms']:.1f} ms",
        "",
    )
    table.add_row(
        "server CPU without / with viewers",
        f"{alone['server_cpu']:.0%} / {watched['server_cpu']:.0%} of a core",
        "",
    )
    table.add_row("extra CPU of the viewers", f"{extra:+.0%}", f"< {TARGET_EXTRA_CPU:.0%}")
    table.add_row("answers", f"{alone['statuses']} / {watched['statuses']}", "all 200")
    console.print(table)
    print_log_problems(console, report["server"]["log_problems"])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--devices", type=int, default=100, help="devices writing")
    parser.add_argument("--rate", type=float, default=1_000.0, help="device writes/s in all")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of writes per run")
    parser.add_argument("--http-connections", type=int, default=16)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return parser.parse_args(argv)


def main() -> None:
    """Run with the command line's options."""
    options = parse_args()
    exit_with(lambda: run(options), interrupted="interrupted; every process was stopped")


if __name__ == "__main__":
    main()
