"""Blynk binary protocol (plain TCP) benchmark: throughput, idle memory, push latency.

Theory of operation. A fresh data folder is provisioned with one template whose datastream v1
is an unbounded INT, and as many devices as the largest part needs; ``pinbase serve`` (SQLite,
loopback) is started with ``--hardware-port`` on a free port. Every part drives it from a load
process of its own (bench/tcp_load.py, asyncio on uvloop), so the server's and the client's CPU
are measured apart, as in bench/device_http.py.

* ``throughput``: ``--devices`` devices write ``vw 1 <n>`` in batches of ``--batch`` followed
  by a PING, waiting for the PING's answer before the next batch, for ``--duration`` s. The
  server is then stopped with SIGTERM and the history points in ``pinbase.db`` are compared with
  the writes acknowledged by an answered PING (points below that are lost acknowledged writes).
  The server's flood rule (device-protocols.md §1.12, 20 messages/s per device by default)
  would cap 1,000 devices at 20,000 messages/s, so the benchmark raises it through the server's
  settings (``PINBASE_DEVICE_MESSAGE_RATE`` and ``_BURST``, ``--flood-rate``/``--flood-burst``)
  and says so; the PING after every batch is then the only pacing. ``--flood-rate 0`` keeps the
  server's default rule, and each device is then paced under it (``--rate``). Last, the same
  load drives bench/bare_tcp.py, a bare server answering pings over the same loop and sockets
  (``--no-bare`` skips it): Pinbase / bare is the share of that ceiling Pinbase keeps, and the
  bare figure tells a slow machine from a slow Pinbase.
* ``idle``: ``--connections`` devices log in and stay idle; the server's RSS (``VmRSS`` of
  ``/proc/PID/status``) before and after, divided by the connections, is the memory per
  connection. The open-file limit is raised in both processes (children inherit it).
* ``latency``: one device is connected; ``GET /external/api/update`` runs at ``--rate``/s
  for ``--latency-duration`` s and each update is timed until its HARDWARE frame arrives.

Targets (printed, never asserted), on 2 cores: >= 60,000 messages/s, < 10 KB per idle
connection, p99 push latency < 2 ms. Run: ``.venv/bin/python bench/device_tcp.py --help``.
"""

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bare_tcp import READY_MARKER
from device_http import count_history
from pinbase.protocols.device.flood import FLOOD_BURST, FLOOD_RATE
from pinbase.testing import ServerProcess, free_port
from processes import child_process, exit_with, parse_marked, run_measured, sampled, serving
from report import (
    cpu_shares,
    machine,
    noise_notes,
    print_log_problems,
    print_profile,
    provisioned,
    write_json,
    write_tokens,
)
from tcp_load import CONNECTED_MARKER, RESULT_MARKER, raise_nofile

PARTS = ("throughput", "idle", "latency")
TARGET_MPS = 60_000
TARGET_KB_PER_CONNECTION = 10.0
TARGET_P99_MS = 2.0
TARGET_CPUS = 2
SAFE_RATE = 0.9 * FLOOD_RATE
"""Messages/s per device under the server's default flood rule (FLOOD_RATE per device, burst
FLOOD_BURST), which drops, then warns, then disconnects a faster device: ``--rate``'s default
when ``--flood-rate 0`` keeps that rule."""
BENCH_FLOOD_RATE = 10_000.0
"""The flood rule the benchmark sets by default: far above what one device reaches in a PING
round trip (~100 messages/s at 60,000 over 1,000 devices), so it never drops a message, while
every message still passes through the meter as in production."""
BENCH_FLOOD_BURST = 10_000
FLOOD_ENV = ("PINBASE_DEVICE_MESSAGE_RATE", "PINBASE_DEVICE_MESSAGE_BURST")
UNLIMITED_HTTP_ENV = {"PINBASE_DEVICE_REQUESTS_PER_SECOND": "0"}
"""The latency part sends --push-rate HTTP updates per second to one device, past the Device
HTTPS API's own limit per device (50/s by default), so the benchmark's server turns it off."""
"""The settings (pinbase.settings.Settings.device_message_rate and _burst) that carry the rule."""

BENCH_DIR = Path(__file__).resolve().parent
LOAD_SCRIPT = BENCH_DIR / "tcp_load.py"
BARE_SCRIPT = BENCH_DIR / "bare_tcp.py"
DEFAULT_OUTPUT = BENCH_DIR / "results" / "device_tcp.json"


def bench_spec(devices: int) -> dict[str, Any]:
    """A provisioning file: one template (v1 INT, no bounds), ``devices`` devices."""
    stream = {"id": 1, "label": "Counter", "pin": 1, "pinType": "VIRTUAL", "type": "INT"}
    return {
        "organization": {"name": "Bench Org"},
        "templates": [{"name": "Bench TCP", "datastreams": [stream]}],
        "devices": [{"name": f"Bench {n}", "template": "Bench TCP"} for n in range(devices)],
    }


def rss_kb(pid: int) -> int:
    """Resident set size of a process in KiB (``VmRSS`` of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def load_command(mode: str, plan: dict[str, Any]) -> list[str]:
    """The load process's command line."""
    return [sys.executable, str(LOAD_SCRIPT), mode, json.dumps(plan)]


def run_load(mode: str, plan: dict[str, Any], server_pid: int) -> dict[str, Any]:
    """Run the load process once to completion; its result with the CPU shares added."""
    return run_measured(
        load_command(mode, plan),
        name=f"tcp_load.py {mode}",
        server_pid=server_pid,
        marker=RESULT_MARKER,
        timeout_s=float(plan.get("duration_s", 0)) + 300,
    )


def part_throughput(
    options: argparse.Namespace, base: dict[str, Any], server: ServerProcess, work_dir: Path
) -> dict[str, Any]:
    """Stream writes from every device; messages/s and acknowledged writes."""
    plan = {**base, "count": options.devices, "duration_s": options.duration}
    plan |= {"batch": options.batch, "rate": options.rate}
    if not options.profile:
        return run_load("stream", plan, server.pid)
    with sampled(server.pid, duration_s=options.duration, out=work_dir / "profile.txt") as found:
        result = run_load("stream", plan, server.pid)
    result["profile"] = found.rows
    if found.error:
        result["profile_error"] = found.error
    return result


def bare_throughput(options: argparse.Namespace, base: dict[str, Any]) -> dict[str, Any]:
    """The throughput part's load against bench/bare_tcp.py on a port of its own."""
    port = free_port()
    plan = {**base, "port": port, "count": options.devices, "duration_s": options.duration}
    plan |= {"batch": options.batch, "rate": options.rate}
    command = [sys.executable, str(BARE_SCRIPT), str(port)]
    with child_process(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as bare:
        assert bare.stdout is not None
        if bare.stdout.readline().strip() != READY_MARKER:
            raise RuntimeError(f"bench/bare_tcp.py did not start ({bare.poll()})")
        return run_load("stream", plan, bare.pid)


def part_idle(options: argparse.Namespace, base: dict[str, Any], server_pid: int) -> dict[str, Any]:
    """Hold ``--connections`` idle devices; the server's RSS per connection."""
    plan = {**base, "count": options.connections}
    before = rss_kb(server_pid)
    with child_process(
        load_command("idle", plan),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as load:
        assert load.stdout is not None
        lines: list[str] = []
        while line := load.stdout.readline():
            lines.append(line)
            if line.startswith(CONNECTED_MARKER):
                break
        connected = int(parse_marked("".join(lines), CONNECTED_MARKER))
        time.sleep(1.0)  # let the server settle its buffers
        after = rss_kb(server_pid)
        stdout, stderr = load.communicate("\n", timeout=120)
    if load.returncode != 0:
        raise RuntimeError(f"tcp_load.py idle failed ({load.returncode}):\n{stderr}")
    result = json.loads(parse_marked(stdout, RESULT_MARKER))
    per = (after - before) / connected if connected else 0.0
    return {**result, "rss_before_kb": before, "rss_after_kb": after, "kb_per_connection": per}


def part_latency(
    options: argparse.Namespace, base: dict[str, Any], server_pid: int
) -> dict[str, Any]:
    """HTTP updates at ``--rate``/s to one connected device; p50/p99 to the device."""
    plan = {**base, "count": 1, "rate": options.push_rate, "duration_s": options.latency_duration}
    plan["http_connections"] = options.http_connections
    return run_load("push", plan, server_pid)


def run(options: argparse.Namespace) -> int:
    """Provision, start the server, run the chosen parts, report; return the exit code."""
    parts = PARTS if options.part == "all" else (options.part,)
    needed = max(
        options.devices if "throughput" in parts else 1,
        options.connections if "idle" in parts else 1,
    )
    nofile = raise_nofile(needed + 1_000)  # inherited by the server and the load process
    console = Console()
    report: dict[str, Any] = {
        "benchmark": "device_tcp",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {**{k: str(v) for k, v in vars(options).items()}, "nofile": nofile},
        "targets": {
            "messages_per_s": TARGET_MPS,
            "kb_per_connection": TARGET_KB_PER_CONNECTION,
            "p99_ms": TARGET_P99_MS,
            "cpus": TARGET_CPUS,
        },
    }
    report["server_flood_env"] = flood_env(options)
    console.print(_flood_note(report["server_flood_env"]))
    console.print(
        "HTTP requests per device UNLIMITED for the latency part: "
        + " ".join(f"{name}={value}" for name, value in UNLIMITED_HTTP_ENV.items())
    )
    with provisioned(
        console,
        bench_spec(needed),
        prefix="pinbase-bench-tcp-",
        keep=options.keep,
        kept="data folder, logs and tokens",
        note=f" (open-file limit {nofile})",
    ) as bench:
        work_dir, data_dir = bench.work_dir, bench.data_dir
        tokens_file = write_tokens(bench.created, work_dir / "tokens.txt")
        baseline = count_history(data_dir)
        hardware_port = free_port()
        server = ServerProcess(
            data_dir,
            "--hardware-port",
            str(hardware_port),
            env={**flood_env(options), **UNLIMITED_HTTP_ENV},
        )
        base = {"port": hardware_port, "http_port": server.port, "tokens_file": str(tokens_file)}
        with serving(server, report):
            for part in parts:
                console.print(f"running {part} ...")
                if part == "throughput":
                    report[part] = part_throughput(options, base, server, work_dir)
                elif part == "idle":
                    report[part] = part_idle(options, base, server.pid)
                else:
                    report[part] = part_latency(options, base, server.pid)
        if "throughput" in report:
            # the latency part's accepted HTTP updates are history points too
            http_points = int(report.get("latency", {}).get("statuses", {}).get("200", 0))
            points = count_history(data_dir) - baseline - http_points
            report["throughput"]["history_points"] = points
            if options.bare:
                console.print("running throughput against bench/bare_tcp.py ...")
                report["bare_throughput"] = bare_throughput(options, base)
        print_report(console, report)
        write_json(console, report, options.output)
        return 0 if report["server"]["exit_code"] == 0 else 1


def flood_env(options: argparse.Namespace) -> dict[str, str]:
    """The server's environment that raises its flood rule; empty to keep the default."""
    if options.flood_rate <= 0:
        return {}
    return dict(zip(FLOOD_ENV, (f"{options.flood_rate:g}", str(options.flood_burst)), strict=True))


def _flood_note(env: dict[str, str]) -> str:
    if not env:
        return f"server flood rule: the default, {FLOOD_RATE:g}/s per device, burst {FLOOD_BURST}"
    settings = " ".join(f"{name}={value}" for name, value in env.items())
    return (
        f"server flood rule RAISED for the benchmark through its settings: {settings} "
        f"(default {FLOOD_RATE:g}/s, burst {FLOOD_BURST})"
    )


def print_report(console: Console, report: dict[str, Any]) -> None:
    """One table of figures beside their targets, then notes and any profile."""
    table = Table(title="Blynk binary protocol over plain TCP (loopback)")
    for heading in ("", "measured", f"target ({TARGET_CPUS} cores)"):
        table.add_column(heading, justify="right")
    notes: list[str] = []
    if t := report.get("throughput"):
        messages = t["writes_sent"] + t["pings_sent"]
        table.add_row("devices streaming", f"{t['connected']:,}", "")
        env = report["server_flood_env"]
        flood = f"{env[FLOOD_ENV[0]]}/s, burst {env[FLOOD_ENV[1]]} (raised)" if env else "default"
        table.add_row("server flood rule per device", flood, f"{FLOOD_RATE:g}/s by default")
        table.add_row(
            "messages/s (writes + pings)", f"{messages / t['seconds']:,.0f}", f">= {TARGET_MPS:,}"
        )
        if bare := report.get("bare_throughput"):
            bare_mps = (bare["writes_sent"] + bare["pings_sent"]) / bare["seconds"]
            ratio = messages / t["seconds"] / bare_mps if bare_mps else 0.0
            table.add_row("bare server messages/s (same load)", f"{bare_mps:,.0f}", "")
            table.add_row("pinbase / bare", f"{ratio:.2f}", "")
            table.add_row("bare server / client / other CPU", cpu_shares(bare["cpu"]), "")
            notes += noise_notes(bare["cpu"], part="bare throughput")
        table.add_row("writes/s", f"{t['writes_sent'] / t['seconds']:,.0f}", "")
        table.add_row("writes sent", f"{t['writes_sent']:,}", "")
        table.add_row("writes acknowledged by a ping", f"{t['writes_acked']:,}", "")
        table.add_row("history points after SIGTERM", f"{t['history_points']:,}", ">= acknowledged")
        table.add_row(
            "ping round trip p50 / p99", f"{t['ping_p50_ms']:.1f} / {t['ping_p99_ms']:.1f} ms", ""
        )
        table.add_row(
            "lost pings / dropped conns", f"{t['lost_pings']} / {t['dropped_connections']}", ""
        )
        cpu = t["cpu"]
        table.add_row("server / client / other CPU", cpu_shares(cpu), "")
        if t["history_points"] < t["writes_acked"]:
            notes.append(f"LOST WRITES: {t['writes_acked'] - t['history_points']:,} acknowledged")
        notes += noise_notes(cpu, part="throughput")
    if i := report.get("idle"):
        table.add_row(
            "idle connections open", f"{i['connected']:,} (errors {i['connect_errors']})", ""
        )
        table.add_row(
            "server RSS before / after", f"{i['rss_before_kb']:,} / {i['rss_after_kb']:,} KiB", ""
        )
        table.add_row(
            "RSS per connection",
            f"{i['kb_per_connection']:.1f} KiB",
            f"< {TARGET_KB_PER_CONNECTION:g} KB",
        )
        if i["first_errors"]:
            notes.append(f"idle: connect errors, first: {i['first_errors']}")
    if lat := report.get("latency"):
        table.add_row("HTTP updates / received", f"{lat['updates']:,} / {lat['received']:,}", "")
        table.add_row("push latency p50", f"{lat['p50_ms']:.2f} ms", "")
        table.add_row(
            "push latency p99 / max",
            f"{lat['p99_ms']:.2f} / {lat['max_ms']:.2f} ms",
            f"p99 < {TARGET_P99_MS:g} ms",
        )
        notes += noise_notes(lat["cpu"], part="latency")
    console.print(table)
    for note in notes:
        console.print(f"[yellow]{note}")
    print_log_problems(console, report["server"]["log_problems"])
    if report.get("throughput", {}).get("profile"):
        title = "pinbase serve during throughput: py-spy, % of samples, all threads"
        print_profile(console, report["throughput"]["profile"], title=title)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("part", nargs="?", choices=(*PARTS, "all"), default="all")
    parser.add_argument("--devices", type=int, default=1_000, help="throughput: devices")
    parser.add_argument("--duration", type=float, default=10.0, help="throughput: seconds")
    parser.add_argument("--batch", type=int, default=4, help="throughput: writes per ping")
    parser.add_argument(
        "--flood-rate",
        type=float,
        default=BENCH_FLOOD_RATE,
        help=f"server flood rule, messages/s per device, set with {FLOOD_ENV[0]}; 0 keeps the"
        f" default {FLOOD_RATE:g}/s (default {BENCH_FLOOD_RATE:g})",
    )
    parser.add_argument(
        "--flood-burst",
        type=int,
        default=BENCH_FLOOD_BURST,
        help=f"server flood burst, set with {FLOOD_ENV[1]} (default {BENCH_FLOOD_BURST})",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="throughput: messages/s per device, 0 unpaced (default: 0 with a raised flood"
        f" rule, {SAFE_RATE:g} under the server's default {FLOOD_RATE:g}/s)",
    )
    parser.add_argument("--connections", type=int, default=20_000, help="idle: connections")
    parser.add_argument("--push-rate", type=float, default=1_000.0, help="latency: updates/s")
    parser.add_argument("--latency-duration", type=float, default=5.0, help="latency: seconds")
    parser.add_argument("--http-connections", type=int, default=8, help="latency: HTTP conns")
    parser.add_argument("--profile", action="store_true", help="py-spy the server (throughput)")
    parser.add_argument(
        "--no-bare",
        dest="bare",
        action="store_false",
        help="throughput: skip the run against bench/bare_tcp.py",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    options = parser.parse_args(argv)
    if options.rate is None:
        options.rate = 0.0 if options.flood_rate > 0 else SAFE_RATE
    return options


def main() -> None:
    """Run the benchmark; exit 130 on Ctrl-C, after every child was stopped."""
    options = parse_args()
    exit_with(lambda: run(options), interrupted="interrupted; server and load process stopped")


if __name__ == "__main__":
    main()
