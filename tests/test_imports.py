"""Every module imports on its own, first of its package: no hidden import cycles.

One fresh interpreter loads the third-party dependencies once and forks a child per module
(tests/import_each.py): the same proof as one interpreter per module, in a few seconds instead
of ~75 (issue #8).
"""

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pinbase

IMPORT_EACH = Path(__file__).parent / "import_each.py"

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(pinbase.__path__, prefix="pinbase.")
    if ".migrations" not in info.name and info.name != "pinbase.__main__"
)


def test_every_module_imports_alone() -> None:
    """Importing any single module first, with no other Pinbase module loaded, succeeds."""
    done = subprocess.run(
        [sys.executable, str(IMPORT_EACH), *MODULES],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert json.loads(done.stdout) == [], done.stderr


def test_a_broken_module_is_reported_with_its_traceback() -> None:
    """The checker itself fails a module that cannot be imported, naming it and why."""
    done = subprocess.run(
        [sys.executable, str(IMPORT_EACH), "pinbase.domain", "pinbase.no_such_module"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    [(module, code, told)] = json.loads(done.stdout)
    assert (module, code) == ("pinbase.no_such_module", 1)
    assert "ModuleNotFoundError" in told


def test_public_surface() -> None:
    """The package exports its version and nothing else."""
    assert pinbase.__all__ == ["__version__"]
    assert pinbase.__version__.count(".") == 2
