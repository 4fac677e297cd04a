"""Blynk MQTT device API benchmark: 1,000 connected devices publishing a datastream steadily.

Theory of operation, as bench/device_tcp.py's throughput part. A fresh data folder is
provisioned with one template (``Counter``, v1 INT without bounds) and ``--devices`` devices;
``pinbase serve`` (SQLite, loopback) is started with ``--mqtt-port`` on a free port; the load
runs in a process of its own (bench/mqtt_load.py, asyncio on uvloop), so the server's and the
client's CPU are measured apart. Each device publishes ``ds/Counter`` in batches of ``--batch``
QoS 0 publishes closed by one QoS 1 publish, and waits for its PUBACK (sent once the batch is
stored) before the next batch, for ``--duration`` s. The server is then stopped with SIGTERM
and the history points in ``pinbase.db`` are compared with the acknowledged publishes (fewer
points is a lost acknowledged write).

With ``--websocket`` the devices speak MQTT over WebSocket to ``/mqtt`` of the HTTP port
(device-lifecycle.md §3), the same sessions behind granian's WebSocket.

Target (printed, never asserted): >= 20,000 messages/s on 2 cores (issue 4).
Run: ``.venv/bin/python bench/device_mqtt.py --help``.
"""

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from device_http import count_history
from device_tcp import bench_spec
from pinbase.testing import ServerProcess, free_port
from processes import exit_with, run_measured, serving
from report import (
    cpu_shares,
    machine,
    noise_notes,
    print_log_problems,
    provisioned,
    write_json,
    write_tokens,
)
from tcp_load import RESULT_MARKER, raise_nofile

TARGET_MPS = 20_000
BENCH_FLOOD_ENV = {"PINBASE_DEVICE_MESSAGE_RATE": "10000", "PINBASE_DEVICE_MESSAGE_BURST": "10000"}
"""The per-device flood rule (20/s by default, device-protocols.md §1.12) would cap 1,000
devices at 20,000 messages/s; it is raised, as bench/device_tcp.py does, and every publish still
passes through the meter."""
TARGET_CPUS = 2
BENCH_DIR = Path(__file__).resolve().parent
LOAD_SCRIPT = BENCH_DIR / "mqtt_load.py"
DEFAULT_OUTPUT = BENCH_DIR / "results" / "device_mqtt.json"


def run_load(plan: dict[str, Any], server_pid: int) -> dict[str, Any]:
    """Run the load process once; its result with the CPU shares added."""
    return run_measured(
        [sys.executable, str(LOAD_SCRIPT), json.dumps(plan)],
        name="mqtt_load.py",
        server_pid=server_pid,
        marker=RESULT_MARKER,
        timeout_s=float(plan["duration_s"]) + 300,
    )


def run(options: argparse.Namespace) -> int:
    """Provision, start the server, stream, count the points; return the exit code."""
    nofile = raise_nofile(options.devices + 1_000)
    console = Console()
    report: dict[str, Any] = {
        "benchmark": "device_mqtt",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {**{k: str(v) for k, v in vars(options).items()}, "nofile": nofile},
        "targets": {"messages_per_s": TARGET_MPS, "cpus": TARGET_CPUS},
    }
    with provisioned(
        console,
        bench_spec(options.devices),
        prefix="pinbase-bench-mqtt-",
        keep=options.keep,
        kept="data folder, logs and tokens",
    ) as bench:
        data_dir = bench.data_dir
        tokens_file = write_tokens(bench.created, bench.work_dir / "tokens.txt")
        baseline = count_history(data_dir)
        mqtt_port = free_port()
        server = ServerProcess(data_dir, "--mqtt-port", str(mqtt_port), env=BENCH_FLOOD_ENV)
        port = server.port if options.websocket else mqtt_port
        plan = {"port": port, "tokens_file": str(tokens_file), "count": options.devices}
        plan["websocket"] = options.websocket
        plan |= {"duration_s": options.duration, "batch": options.batch, "rate": options.rate}
        with serving(server, report):
            console.print("running throughput ...")
            report["throughput"] = run_load(plan, server.pid)
        report["server_flood_env"] = BENCH_FLOOD_ENV
        report["throughput"]["history_points"] = count_history(data_dir) - baseline
        print_report(console, report)
        write_json(console, report, options.output)
        return 0 if report["server"]["exit_code"] == 0 else 1


def print_report(console: Console, report: dict[str, Any]) -> None:
    """One table of figures beside their target, then notes."""
    t = report["throughput"]
    over = "WebSocket (/mqtt)" if report["settings"].get("websocket") == "True" else "plain TCP"
    table = Table(title=f"Blynk MQTT device API over {over} (loopback)")
    for heading in ("", "measured", f"target ({TARGET_CPUS} cores)"):
        table.add_column(heading, justify="right")
    table.add_row("devices publishing", f"{t['connected']:,} (errors {t['connect_errors']})", "")
    rate = t["publishes_sent"] / t["seconds"]
    table.add_row("messages/s (publishes)", f"{rate:,.0f}", f">= {TARGET_MPS:,}")
    table.add_row(
        "publishes sent / acknowledged", f"{t['publishes_sent']:,} / {t['publishes_acked']:,}", ""
    )
    table.add_row("history points after SIGTERM", f"{t['history_points']:,}", ">= acknowledged")
    table.add_row(
        "PUBACK round trip p50 / p99", f"{t['ack_p50_ms']:.1f} / {t['ack_p99_ms']:.1f} ms", ""
    )
    table.add_row("lost acks / dropped conns", f"{t['lost_acks']} / {t['dropped_connections']}", "")
    cpu = t["cpu"]
    per_cpu = t["publishes_sent"] / max(cpu["server_cpu"] * cpu["wall_s"], 1e-9)
    table.add_row("messages per server CPU-second", f"{per_cpu:,.0f}", "")
    table.add_row("server / client / other CPU", cpu_shares(cpu), "")
    console.print(table)
    if t["history_points"] < t["publishes_acked"]:
        console.print(f"[red]LOST WRITES: {t['publishes_acked'] - t['history_points']:,}")
    for note in noise_notes(cpu):
        console.print(f"[yellow]{note}")
    if t["first_errors"]:
        console.print(f"[yellow]connect errors, first: {t['first_errors']}")
    print_log_problems(console, report["server"]["log_problems"])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--devices", type=int, default=1_000, help="devices publishing")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--batch", type=int, default=4, help="QoS 0 publishes per QoS 1 one")
    parser.add_argument("--rate", type=float, default=0.0, help="messages/s per device, 0 unpaced")
    parser.add_argument(
        "--websocket", action="store_true", help="MQTT over WebSocket at /mqtt of the HTTP port"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    return parser.parse_args(argv)


def main() -> None:
    """Run the benchmark; exit 130 on Ctrl-C, after every child was stopped."""
    options = parse_args()
    exit_with(lambda: run(options), interrupted="interrupted; server and load process stopped")


if __name__ == "__main__":
    main()
