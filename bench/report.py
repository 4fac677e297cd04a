"""What every benchmark does around its measurement: a fresh environment and data folder, the
machine it ran on, the notes and tables it prints (CPU shares, server log problems, py-spy), and
the JSON results file."""

import contextlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from pinbase.testing import provision

SATURATED_CPU = 0.9
"""A load process busy more than 90% of the run bounds the figures rather than the server."""
NOISY_CPU = 0.2
"""Other processes using more than a fifth of a core during a run make its figures noisy."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Provisioned:
    """A benchmark's temporary folder, with the data folder ``pinbase serve`` is started on."""

    work_dir: Path
    data_dir: Path
    created: dict[str, Any]
    """What ``pinbase.testing.provision`` answered: devices with ids and tokens, OAuth clients."""
    removed_env: list[str]
    """The ``PINBASE_*`` variables removed so the server runs on its defaults (in the report)."""


@contextlib.contextmanager
def provisioned(
    console: Console,
    spec: dict[str, Any],
    *,
    prefix: str,
    keep: bool,
    kept: str,
    note: str | None = "",
    database_url: str | None = None,
) -> Iterator[Provisioned]:
    """A temporary folder whose data folder is provisioned from ``spec``, removed when the block
    exits unless ``keep`` (then ``kept`` names what stays in it). Every ``PINBASE_*`` variable is
    removed first: each benchmark is defined on SQLite in a fresh folder, or on the empty database
    ``database_url`` names. Unless ``note`` is None, says ``provisioning N devices in
    FOLDER{note}`` first (a large fleet takes a while)."""
    removed = sorted(name for name in os.environ if name.startswith("PINBASE_"))
    for name in removed:
        del os.environ[name]
    work_dir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        if note is not None:
            console.print(f"provisioning {len(spec['devices']):,} devices in {work_dir}{note}")
        data_dir = work_dir / "data"
        extra = ("--database-url", database_url) if database_url else ()
        created = provision(spec, *extra, data_dir=data_dir)
        yield Provisioned(
            work_dir=work_dir, data_dir=data_dir, created=created, removed_env=removed
        )
    finally:
        if keep:
            console.print(f"kept the {kept} in {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


def write_tokens(created: dict[str, Any], path: Path, *, key: str = "token") -> Path:
    """One provisioned device's ``key`` (token or id) a line: the load clients' keys file."""
    path.write_text("".join(f"{device[key]}\n" for device in created["devices"]))
    return path


def machine() -> dict[str, Any]:
    """The machine a run is measured on, and how busy it was before."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_before": os.getloadavg(),
    }


def cpu_shares(cpu: dict[str, float]) -> str:
    """``processes.Measured`` shares as ``server / client / other`` of a core."""
    return f"{cpu['server_cpu']:.0%} / {cpu['client_cpu']:.0%} / {cpu['other_cpu']:.0%} of a core"


def noise_notes(cpu: dict[str, float], *, part: str = "") -> list[str]:
    """Warnings that a run's ``processes.Measured`` shares bound or blur its figures."""
    prefix = f"{part}: " if part else ""
    notes = []
    if cpu["client_cpu"] > SATURATED_CPU:
        notes.append(f"{prefix}the load process was saturated; figures are a lower bound")
    if cpu["other_cpu"] > NOISY_CPU:
        notes.append(f"{prefix}other processes used {cpu['other_cpu']:.0%} of a core: noisy")
    return notes


def print_log_problems(console: Console, problems: dict[str, Any]) -> None:
    """The count and first lines of ``log_problems``, when there are any."""
    if problems["count"]:
        console.print(f"[yellow]server log: {problems['count']} warning/error lines, first:")
        for line in problems["first"]:
            console.print(f"  {line}", markup=False)


def print_profile(console: Console, rows: list[dict[str, Any]], *, title: str) -> None:
    """The py-spy table of ``processes.top_functions`` rows."""
    spy = Table(title=title)
    for heading in ("function", "self", "total"):
        spy.add_column(heading, justify="left" if heading == "function" else "right")
    for row in rows:
        spy.add_row(row["function"], f"{row['self']:.1f}", f"{row['total']:.1f}")
    console.print(spy)


def write_json(console: Console, report: dict[str, Any], path: Path) -> None:
    """Write the figures to ``path`` (folders made as needed) and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"figures written to {path}")
