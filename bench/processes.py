"""Child processes of the benchmarks: starting, polling and stopping them, reading their marked
result lines, measuring their CPU use, and sampling one with py-spy.

CPU figures come from ``/proc`` and ``getrusage``, so they hold on Linux only.
"""

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from pinbase.testing import ServerProcess

READY_TIMEOUT_S = 30.0
PROFILE_TOP = 15
PROFILE_RATE_HZ = 200
"""py-spy samples a second: fine enough for a 10 s run, light enough not to skew it."""


# ---------------------------------------------------------------------------------------------
# Starting and stopping


@contextlib.contextmanager
def child_process(command: list[str], **options: Any) -> Iterator[subprocess.Popen[str]]:
    """A subprocess that is ended (SIGTERM, then SIGKILL) when the block exits, however it exits."""
    process = subprocess.Popen(command, text=True, **options)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_ready(url: str, process: subprocess.Popen[str]) -> None:
    """Poll ``url`` until it answers 200; fail if the process exits first."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the bare app exited early ({process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    raise RuntimeError(f"the bare app was not ready in {READY_TIMEOUT_S}s")


def parse_marked(stdout: str, marker: str) -> str:
    """The rest of the first line that starts with ``marker``."""
    for line in stdout.splitlines():
        if line.startswith(marker):
            return line[len(marker) :].strip()
    raise RuntimeError(f"the load process printed no {marker} line:\n{stdout}")


def exit_with(run: Callable[[], int], *, interrupted: str) -> NoReturn:
    """Exit with ``run``'s code; on Ctrl-C print ``interrupted`` and exit 130, the shell's code
    for SIGINT (the ``child_process`` and ``serving`` blocks have stopped every child by then)."""
    try:
        code = run()
    except KeyboardInterrupt:
        code = 130
        print(interrupted, file=sys.stderr)
    sys.exit(code)


def log_problems(log: str, limit: int = 5) -> dict[str, Any]:
    """Warnings, errors and tracebacks in a server log: how many, and the first few."""
    markers = (" WARNING ", " ERROR ", " CRITICAL ", "Traceback")
    lines = [line for line in log.splitlines() if any(m in line for m in markers)]
    return {"count": len(lines), "first": lines[:limit]}


@contextlib.contextmanager
def serving(server: ServerProcess, report: dict[str, Any]) -> Iterator[ServerProcess]:
    """``server`` started for the block; however the block exits, it is stopped with SIGTERM
    and ``report["server"]`` gets its exit code and ``log_problems``."""
    try:
        server.start()
        yield server
    finally:
        report["server"] = {"exit_code": server.stop(), "log_problems": log_problems(server.log())}


def stop_gracefully(process: subprocess.Popen[str]) -> int:
    """SIGTERM, then wait (SIGKILL after 30 s); return the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


# ---------------------------------------------------------------------------------------------
# CPU use


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process and all its threads."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds all processes spent busy since boot (every core summed)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = values
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    """CPU seconds of the children this process has waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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


def run_measured(
    command: list[str], *, name: str, server_pid: int, marker: str, timeout_s: float
) -> dict[str, Any]:
    """Run a load process to completion; the JSON of its ``marker`` line with the CPU shares
    (``Measured``) added under ``cpu``. ``name`` says which load failed."""
    measured = Measured(server_pid)
    with child_process(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as load:
        stdout, stderr = load.communicate(timeout=timeout_s)
    if load.returncode != 0:
        raise RuntimeError(f"{name} failed ({load.returncode}):\n{stderr}")
    return {**json.loads(parse_marked(stdout, marker)), "cpu": measured.done()}


# ---------------------------------------------------------------------------------------------
# Profiling (``--profile``)


@dataclass(slots=True)
class Profile:
    """What ``sampled`` found: the busiest functions, or why there are none."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


@contextlib.contextmanager
def sampled(pid: int, *, duration_s: float, out: Path) -> Iterator[Profile]:
    """py-spy samples process ``pid`` for ``duration_s`` while the block runs; once it has
    written ``out``, the yielded ``Profile`` holds its ``top_functions`` (else py-spy's log)."""
    profile = Profile()
    log_path = out.parent / "py-spy.log"
    command = [py_spy(), "record", f"--pid={pid}", f"--rate={PROFILE_RATE_HZ}"]
    command += [f"--duration={max(1, int(duration_s))}", "--format=raw"]
    command += ["--nolineno", "--nonblocking", f"--output={out}"]
    with (
        log_path.open("w") as log,
        child_process(command, stdout=subprocess.DEVNULL, stderr=log) as spy,
    ):
        yield profile
        spy.wait(timeout=duration_s + 60)
    if out.exists():
        profile.rows = top_functions(out.read_text())
    else:
        profile.error = log_path.read_text(errors="replace").strip() or "no profile written"


def py_spy() -> str:
    """The py-spy executable, installed into the venv if missing (only ``--profile`` asks)."""
    venv_bin = Path(sys.executable).parent
    found = shutil.which("py-spy", path=str(venv_bin)) or shutil.which("py-spy")
    if found:
        return found
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "py-spy"], check=True)
    return str(venv_bin / "py-spy")


def top_functions(raw_profile: str, limit: int = PROFILE_TOP) -> list[dict[str, Any]]:
    """The busiest functions of a py-spy ``--format raw`` profile (collapsed stacks).

    ``self`` is the share of samples with the function on top of the stack, ``total`` the share
    with it anywhere on the stack.
    """
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    samples = 0
    for line in raw_profile.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short_frame(frame) for frame in stack.split(";")]
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            anywhere[frame] += count
    return [
        {
            "function": frame,
            "self": round(100 * count / samples, 1),
            "total": round(100 * anywhere[frame] / samples, 1),
        }
        for frame, count in own.most_common(limit)
    ]


def _short_frame(frame: str) -> str:
    """``name (/long/path/to/pkg/module.py)`` becomes ``name (pkg/module.py)``."""
    name, _, where = frame.partition(" (")
    parts = where.rstrip(")").split("/")
    return f"{name} ({'/'.join(parts[-2:])})" if where else name
