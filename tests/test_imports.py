"""Every module imports on its own in a fresh interpreter: no hidden import cycles."""

import pkgutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pinbase

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(pinbase.__path__, prefix="pinbase.")
    if ".migrations" not in info.name and info.name != "pinbase.__main__"
)


def import_alone(module: str) -> tuple[str, int, str]:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, check=False
    )
    return module, done.returncode, done.stderr


def test_every_module_imports_alone() -> None:
    """Importing any single module first, in a new process, succeeds."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = [r for r in pool.map(import_alone, MODULES) if r[1] != 0]
    assert not failures, failures


def test_public_surface() -> None:
    """The package exports its version and nothing else."""
    assert pinbase.__all__ == ["__version__"]
    assert pinbase.__version__.count(".") == 2
