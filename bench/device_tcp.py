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
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bare_tcp import READY_MARKER
from device_http import count_history, log_problems
from pinbase.protocols.device.flood import FLOOD_BURST, FLOOD_RATE
from pinbase.testing import ServerProcess, free_port, provision
from processes import (
    child_process,
    children_cpu_s,
    machine_busy_s,
    process_cpu_s,
    py_spy,
    top_functions,
)
from tcp_load import CONNECTED_MARKER, RESULT_MARKER, raise_nofile

PARTS = ("throughput", "idle", "latency")
TARGET_MPS = 60_000
TARGET_KB_PER_CONNECTION = 10.0
TARGET_P99_MS = 2.0
TARGET_CPUS = 2
NOISY_CPU = 0.2
PROFILE_RATE_HZ = 200
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


def parse_marked(stdout: str, marker: str) -> str:
    """The rest of the first line that starts with ``marker``."""
    for line in stdout.splitlines():
        if line.startswith(marker):
            return line[len(marker) :].strip()
    raise RuntimeError(f"the load process printed no {marker} line:\n{stdout}")


class Measured:
    """CPU used by the server, the load process and everything else between two points."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self._start = (process_cpu_s(server_pid), children_cpu_s(), machine_busy_s())
        self._at = time.perf_counter()

    def done(self) -> dict[str, float]:
        """Seconds of wall clock and CPU shares (1.0 = one core) since construction."""
        server, children, busy = self._start
        seconds = time.perf_counter() - self._at
        server = process_cpu_s(self.server_pid) - server
        client = children_cpu_s() - children
        other = max(0.0, machine_busy_s() - busy - server - client)
        return {
            "wall_s": seconds,
            "server_cpu": server / seconds,
            "client_cpu": client / seconds,
            "other_cpu": other / seconds,
        }


def run_load(mode: str, plan: dict[str, Any], server_pid: int) -> dict[str, Any]:
    """Run the load process once to completion; its result with the CPU shares added."""
    measured = Measured(server_pid)
    with child_process(
        load_command(mode, plan), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as load:
        stdout, stderr = load.communicate(timeout=float(plan.get("duration_s", 0)) + 300)
    if load.returncode != 0:
        raise RuntimeError(f"tcp_load.py {mode} failed ({load.returncode}):\n{stderr}")
    return {**json.loads(parse_marked(stdout, RESULT_MARKER)), "cpu": measured.done()}


def part_throughput(
    options: argparse.Namespace, base: dict[str, Any], server: ServerProcess, work_dir: Path
) -> dict[str, Any]:
    """Stream writes from every device; messages/s and acknowledged writes."""
    plan = {**base, "count": options.devices, "duration_s": options.duration}
    plan |= {"batch": options.batch, "rate": options.rate}
    if not options.profile:
        return run_load("stream", plan, server.pid)
    out, spy_log = work_dir / "profile.txt", work_dir / "py-spy.log"
    command = [py_spy(), "record", f"--pid={server.pid}", f"--rate={PROFILE_RATE_HZ}"]
    command += [f"--duration={max(1, int(options.duration))}", "--format=raw"]
    command += ["--nolineno", "--nonblocking", f"--output={out}"]
    with spy_log.open("w") as log, child_process(command, stdout=subprocess.DEVNULL, stderr=log):
        result = run_load("stream", plan, server.pid)
    # py-spy is stopped by now (waited or ended by child_process)
    result["profile"] = top_functions(out.read_text()) if out.exists() else []
    if not out.exists():
        result["profile_error"] = spy_log.read_text(errors="replace").strip()
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
    removed = sorted(name for name in os.environ if name.startswith("PINBASE_"))
    for name in removed:  # the benchmark is defined on SQLite in a fresh folder
        del os.environ[name]
    parts = PARTS if options.part == "all" else (options.part,)
    needed = max(
        options.devices if "throughput" in parts else 1,
        options.connections if "idle" in parts else 1,
    )
    nofile = raise_nofile(needed + 1_000)  # inherited by the server and the load process
    console = Console()
    work_dir = Path(tempfile.mkdtemp(prefix="pinbase-bench-tcp-"))
    report: dict[str, Any] = {
        "benchmark": "device_tcp",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {**{k: str(v) for k, v in vars(options).items()}, "nofile": nofile},
        "targets": {
            "messages_per_s": TARGET_MPS,
            "kb_per_connection": TARGET_KB_PER_CONNECTION,
            "p99_ms": TARGET_P99_MS,
            "cpus": TARGET_CPUS,
        },
    }
    report["machine"]["load_average_before"] = os.getloadavg()
    report["server_flood_env"] = flood_env(options)
    console.print(_flood_note(report["server_flood_env"]))
    try:
        data_dir = work_dir / "data"
        console.print(f"provisioning {needed:,} devices in {work_dir} (open-file limit {nofile})")
        created = provision(bench_spec(needed), data_dir=data_dir)
        tokens_file = work_dir / "tokens.txt"
        tokens_file.write_text("".join(f"{d['token']}\n" for d in created["devices"]))
        baseline = count_history(data_dir)
        hardware_port = free_port()
        server = ServerProcess(
            data_dir, "--hardware-port", str(hardware_port), env=flood_env(options)
        )
        base = {"port": hardware_port, "http_port": server.port, "tokens_file": str(tokens_file)}
        try:
            server.start()
            for part in parts:
                console.print(f"running {part} ...")
                if part == "throughput":
                    report[part] = part_throughput(options, base, server, work_dir)
                elif part == "idle":
                    report[part] = part_idle(options, base, server.pid)
                else:
                    report[part] = part_latency(options, base, server.pid)
        finally:
            report["server"] = {
                "exit_code": server.stop(),
                "log_problems": log_problems(server.log()),
            }
        if "throughput" in report:
            # the latency part's accepted HTTP updates are history points too
            http_points = int(report.get("latency", {}).get("statuses", {}).get("200", 0))
            points = count_history(data_dir) - baseline - http_points
            report["throughput"]["history_points"] = points
            if options.bare:
                console.print("running throughput against bench/bare_tcp.py ...")
                report["bare_throughput"] = bare_throughput(options, base)
        print_report(console, report)
        options.output.parent.mkdir(parents=True, exist_ok=True)
        options.output.write_text(json.dumps(report, indent=2) + "\n")
        console.print(f"figures written to {options.output}")
        return 0 if report["server"]["exit_code"] == 0 else 1
    finally:
        if options.keep:
            console.print(f"kept the data folder, logs and tokens in {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


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
            table.add_row("bare server / client / other CPU", _cpu(bare["cpu"]), "")
            notes += _noise("bare throughput", bare["cpu"])
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
        table.add_row("server / client / other CPU", _cpu(cpu), "")
        if t["history_points"] < t["writes_acked"]:
            notes.append(f"LOST WRITES: {t['writes_acked'] - t['history_points']:,} acknowledged")
        notes += _noise("throughput", cpu)
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
        notes += _noise("latency", lat["cpu"])
    console.print(table)
    for note in notes:
        console.print(f"[yellow]{note}")
    problems = report["server"]["log_problems"]
    if problems["count"]:
        console.print(f"[yellow]server log: {problems['count']} warning/error lines, first:")
        for line in problems["first"]:
            console.print(f"  {line}", markup=False)
    if report.get("throughput", {}).get("profile"):
        spy = Table(title="pinbase serve during throughput: py-spy, % of samples, all threads")
        for heading in ("function", "self", "total"):
            spy.add_column(heading, justify="left" if heading == "function" else "right")
        for row in report["throughput"]["profile"]:
            spy.add_row(row["function"], f"{row['self']:.1f}", f"{row['total']:.1f}")
        console.print(spy)


def _cpu(cpu: dict[str, float]) -> str:
    return f"{cpu['server_cpu']:.0%} / {cpu['client_cpu']:.0%} / {cpu['other_cpu']:.0%} of a core"


def _noise(part: str, cpu: dict[str, float]) -> list[str]:
    notes = []
    if cpu["client_cpu"] > 0.9:
        notes.append(f"{part}: the load process was saturated; figures are a lower bound")
    if cpu["other_cpu"] > NOISY_CPU:
        notes.append(f"{part}: other processes used {cpu['other_cpu']:.0%} of a core: noisy")
    return notes


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
    try:
        code = run(options)
    except KeyboardInterrupt:
        code = 130
        print("interrupted; server and load process stopped", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
