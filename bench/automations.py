"""Automations and webhooks benchmark: 1,000 devices writing 2,000 values/s, with and without
100 Device State automations and 10 webhooks.

Theory of operation. Two fresh data folders are provisioned alike, one template (v1 INT and
v2 INT, no bounds) and ``--devices`` devices: the first bare, the second with ``--rules``
automations and ``--webhooks`` webhooks, on devices spread evenly over the fleet
(``fleet_roles``), so their writes, paced in device order, spread over time too rather than come
in bursts. Each rule device's automation: "when its v1 > 30, forward the value to its v2"
(``DEVICE_STATE``, ``GT``, ``FORWARD_DEVICE_DATA``, no limit period); each webhook device's
webhook: ``POST`` ``{"d": {device_id}, "v": {device_pinValue}}`` to a local receiver on every
write of its v1 (``DEVICE_DATASTREAM``). ``pinbase serve`` (SQLite, loopback, binary
protocol on) runs on each folder in turn, and the same load process (bench/automations_load.py)
drives it: the rule devices logged in over the binary protocol, the receiver
listening, and ``--rate`` writes a second in all (``GET /external/api/update``, write n to device
n mod ``--devices``) for ``--warmup`` + ``--duration`` seconds, over keep-alive connections.
Values alternate above and below the threshold (each device's writes, in turn), so every other
write of a rule device fires its rule; every write of a webhook device fires its webhook.

Measured after the warm-up: the server's CPU (``/proc``) over the writing window in both runs,
so the rules' extra CPU; from each triggering write's ``200`` (and from its sending) to the
webhook's arrival at the receiver and to the automation's ``vw 2`` frame on the device, p50 and
p99. The webhook rate limit (10 a minute per webhook by default) would drop most deliveries,
so the servers run with it off, and the receiver's loopback address allowed
(``PINBASE_OUTBOUND_ALLOWED_NETWORKS``); the output says so.

Targets (printed, never asserted), on 2 cores: p99 < 100 ms for both, rules < 25 % extra CPU.
Run: ``.venv/bin/python bench/automations.py --help``.
"""

import argparse
import contextlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from automations_load import RESULT_MARKER, RULE_THRESHOLD, SETTLE_S
from pinbase.testing import ServerProcess, free_port
from processes import exit_with, run_measured, sampled, serving
from report import (
    cpu_shares,
    machine,
    noise_notes,
    print_log_problems,
    print_profile,
    provisioned,
    write_json,
)

TARGET_P99_MS = 100.0
TARGET_EXTRA_CPU = 0.25
BEHIND = 0.95
"""A run whose writes/s stay below this share of ``--rate`` did not carry the offered load."""
BENCH_DIR = Path(__file__).resolve().parent
LOAD_SCRIPT = BENCH_DIR / "automations_load.py"
DEFAULT_OUTPUT = BENCH_DIR / "results" / "automations.json"
TEMPLATE = "Bench Rules"


SERVER_ENV = {
    "PINBASE_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32",
    "PINBASE_WEBHOOKS_RATE_PER_MINUTE": "0",
}
"""What both servers run with: the receiver's loopback address allowed (the SSRF guard refuses
it otherwise), and the webhook rate limit (10 a minute per webhook) off, since each webhook
fires ``rate / devices`` times a second."""


def fleet_roles(options: argparse.Namespace) -> tuple[list[int], list[int]]:
    """The indexes of the rule devices and of the webhook devices: each kind evenly spread over
    the fleet, the webhooks' half-way between rule devices, no device in both."""
    devices, rules, webhooks = options.devices, options.rules, options.webhooks
    rule_devices = [i * devices // rules for i in range(rules)]
    taken = set(rule_devices)
    hook_devices = []
    for j in range(webhooks):
        k = (j * devices // webhooks + devices // (2 * max(1, rules))) % devices
        while k in taken:
            k = (k + 1) % devices
        taken.add(k)
        hook_devices.append(k)
    return rule_devices, hook_devices


def bench_spec(options: argparse.Namespace, *, receiver_port: int, rules: bool) -> dict[str, Any]:
    """One organization, one template (v1, v2 INT), the devices, and, with ``rules``, the
    automations and webhooks."""
    streams = [
        {"id": 1, "label": "Level", "pin": 1, "pinType": "VIRTUAL", "type": "INT"},
        {"id": 2, "label": "Relay", "pin": 2, "pinType": "VIRTUAL", "type": "INT"},
    ]
    spec: dict[str, Any] = {
        "organization": {"name": "Bench Org"},
        "templates": [{"name": TEMPLATE, "datastreams": streams}],
        "devices": [{"name": f"Bench {n}", "template": TEMPLATE} for n in range(options.devices)],
    }
    if not rules:
        return spec
    rule_devices, hook_devices = fleet_roles(options)
    spec["automations"] = [
        {
            "name": f"Bench rule {i}",
            "isActive": True,
            "limitPeriodSec": 0,
            "condition": {
                "kind": "DEVICE_STATE",
                "device": f"Bench {i}",
                "dataStreamId": 1,
                "operator": "GT",
                "operand": str(RULE_THRESHOLD),
            },
            "actions": [{"kind": "FORWARD_DEVICE_DATA", "device": f"Bench {i}", "dataStreamId": 2}],
        }
        for i in rule_devices
    ]
    spec["webhooks"] = [
        {
            "name": f"Bench hook {j}",
            "status": "ENABLED",
            "trigger": {
                "kind": "DEVICE_DATASTREAM",
                "device": f"Bench {k}",
                "dataStreamId": 1,
            },
            "method": "POST",
            "contentType": "JSON",
            "url": f"http://127.0.0.1:{receiver_port}/hook/{j}",
            "body": '{"d": {device_id}, "v": {device_pinValue}}',
        }
        for j, k in enumerate(hook_devices)
    ]
    return spec


def measure(
    console: Console, options: argparse.Namespace, *, rules: bool, report: dict[str, Any]
) -> dict[str, Any]:
    """Provision a folder (with or without the rules), serve it, drive it once."""
    receiver_port = free_port()
    spec = bench_spec(options, receiver_port=receiver_port, rules=rules)
    what = "with rules" if rules else "without rules"
    with provisioned(
        console,
        spec,
        prefix="pinbase-bench-rules-",
        keep=options.keep,
        kept="data folder and server log",
        note=f" ({what}) ...",
    ) as ready:
        tokens = [device["token"] for device in ready.created["devices"]]
        rule_devices, hook_devices = fleet_roles(options)
        hardware_port = free_port()
        server = ServerProcess(
            ready.data_dir,
            "--hardware-port",
            str(hardware_port),
            env=SERVER_ENV,
        )
        served: dict[str, Any] = {}
        with serving(server, served):
            plan = {
                "port": server.port,
                "hardware_port": hardware_port,
                "receiver_port": receiver_port,
                "server_pid": server.pid,
                "tokens": tokens,
                "rule_tokens": [tokens[i] for i in rule_devices],
                "rule_device_indexes": rule_devices if rules else [],
                "hook_device_indexes": hook_devices if rules else [],
                "rate": options.rate,
                "warmup_s": options.warmup,
                "duration_s": options.duration,
                "http_connections": options.http_connections,
            }
            console.print(
                f"writing {options.rate:,.0f} values/s {what} for {options.warmup:g} s of "
                f"warm-up + {options.duration:g} s ..."
            )
            with contextlib.ExitStack() as stack:
                if options.profile:
                    out = options.output.with_name(
                        f"{options.output.stem}-{'with' if rules else 'without'}-rules.prof"
                    )
                    out.parent.mkdir(parents=True, exist_ok=True)
                    found = stack.enter_context(
                        sampled(server.pid, duration_s=options.warmup + options.duration, out=out)
                    )
                result = run_measured(
                    [sys.executable, str(LOAD_SCRIPT), json.dumps(plan)],
                    name="automations_load.py",
                    server_pid=server.pid,
                    marker=RESULT_MARKER,
                    timeout_s=options.warmup + options.duration + 300,
                )
            if options.profile:
                result["profile"], result["profile_error"] = found.rows, found.error
        report.setdefault("servers", {})["with_rules" if rules else "without_rules"] = served[
            "server"
        ]
        return result


def run(options: argparse.Namespace) -> int:
    """Both runs, the report; the exit code (1 when a server did not stop cleanly)."""
    console = Console()
    env = SERVER_ENV
    console.print(
        "webhook rate limit OFF and loopback allowed for the benchmark: "
        + " ".join(f"{name}={value}" for name, value in env.items())
    )
    report: dict[str, Any] = {
        "benchmark": "automations",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {k: str(v) for k, v in vars(options).items()},
        "server_env": env,
        "targets": {"p99_ms": TARGET_P99_MS, "extra_cpu": TARGET_EXTRA_CPU},
    }
    report["without_rules"] = measure(console, options, rules=False, report=report)
    report["with_rules"] = measure(console, options, rules=True, report=report)
    print_report(console, report)
    write_json(console, report, options.output)
    codes = [server["exit_code"] for server in report["servers"].values()]
    return 0 if all(code == 0 for code in codes) else 1


def print_report(console: Console, report: dict[str, Any]) -> None:
    """The figures against the targets, then noise notes and log problems."""
    alone, ruled = report["without_rules"], report["with_rules"]
    settings = report["settings"]
    extra = ruled["server_cpu"] / alone["server_cpu"] - 1 if alone["server_cpu"] else 0.0
    title = (
        f"Automations and webhooks: {int(settings['devices']):,} devices, "
        f"{settings['rules']} Device State rules, {settings['webhooks']} webhooks, "
        f"{float(settings['duration']):g} s after {float(settings['warmup']):g} s of warm-up"
    )
    table = Table(title=title)
    table.add_column("")
    table.add_column("measured", justify="right")
    table.add_column("target (2 cores)", justify="right")
    table.add_row(
        "device writes/s without / with rules",
        f"{alone['writes_per_s']:,.0f} / {ruled['writes_per_s']:,.0f}",
        f"{float(settings['rate']):,.0f}",
    )
    table.add_row(
        "server CPU without / with rules",
        f"{alone['server_cpu']:.0%} / {ruled['server_cpu']:.0%} of a core",
        "",
    )
    table.add_row("extra CPU of the rules", f"{extra:+.0%}", f"< {TARGET_EXTRA_CPU:.0%}")
    for label, key in (("webhook", "webhook"), ("automation write", "automation")):
        part = ruled[key]
        table.add_row(
            f"{label}s received / expected", f"{part['received']:,} / {part['expected']:,}", "all"
        )
        answer, send = part["from_answer"], part["from_send"]
        table.add_row(
            f"write answered -> {label} p50 / p99",
            f"{answer['p50_ms']:.1f} / {answer['p99_ms']:.1f} ms",
            f"p99 < {TARGET_P99_MS:.0f} ms",
        )
        table.add_row(
            f"write sent -> {label} p50 / p99 / max",
            f"{send['p50_ms']:.1f} / {send['p99_ms']:.1f} / {send['max_ms']:.1f} ms",
            "",
        )
    table.add_row("answers", f"{alone['statuses']} / {ruled['statuses']}", "all 200")
    table.add_row("CPU server / load / other, without rules", cpu_shares(alone["cpu"]), "whole run")
    table.add_row("CPU server / load / other, with rules", cpu_shares(ruled["cpu"]), "whole run")
    console.print(table)
    rate = float(settings["rate"])
    for name, part in (("without rules", alone), ("with rules", ruled)):
        for note in noise_notes(part["cpu"], part=name):
            console.print(f"[yellow]{note}")
        if part["writes_per_s"] < BEHIND * rate:
            console.print(
                f"[bold red]{name}: the server fell behind the offered load "
                f"({part['writes_per_s']:,.0f} of {rate:,.0f} writes/s), so the CPU figures are "
                "not for the same load"
            )
    for label, key in (("webhooks", "webhook"), ("automation writes", "automation")):
        part = ruled[key]
        if part["received"] < part["expected"]:
            console.print(
                f"[bold red]{label}: {part['expected'] - part['received']:,} of "
                f"{part['expected']:,} had not arrived {SETTLE_S:g} s after the last write: "
                "the server falls behind, and the latencies grow with the run's length"
            )
    if ruled["webhook"]["unreadable"]:
        console.print(f"[yellow]unreadable webhook bodies: {ruled['webhook']['first_unreadable']}")
    for name, server in report["servers"].items():
        if server["exit_code"] != 0:
            console.print(f"[bold red]{name}: pinbase serve exited with {server['exit_code']}")
        print_log_problems(console, server["log_problems"])
    for name, part in (("without rules", alone), ("with rules", ruled)):
        if part.get("profile_error"):
            console.print(f"py-spy failed: {part['profile_error']}", style="yellow", markup=False)
        if part.get("profile"):
            print_profile(console, part["profile"], title=f"py-spy of the server, {name}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1_000)
    parser.add_argument("--rules", type=int, default=100, help="Device State automations")
    parser.add_argument("--webhooks", type=int, default=10)
    parser.add_argument("--rate", type=float, default=2_000.0, help="device writes/s in all")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds, not measured")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per run")
    parser.add_argument("--http-connections", type=int, default=32)
    parser.add_argument("--keep", action="store_true", help="keep the data folders and logs")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the server with py-spy in both runs (raw stacks next to --output)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    options = parser.parse_args(argv)
    if options.rules + options.webhooks > options.devices:
        parser.error("--rules + --webhooks must not exceed --devices")
    return options


def main() -> None:
    """Run with the command line's options."""
    options = parse_args()
    exit_with(lambda: run(options), interrupted="interrupted; every process was stopped")


if __name__ == "__main__":
    main()
