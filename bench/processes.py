"""Child processes of the benchmarks: starting, polling and stopping them, measuring their CPU
use, and sampling one with py-spy.

CPU figures come from ``/proc`` and ``getrusage``, so they hold on Linux only.
"""

import contextlib
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

READY_TIMEOUT_S = 30.0
PROFILE_TOP = 15


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


# ---------------------------------------------------------------------------------------------
# Profiling (``--profile``)


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
