"""Import each named module first, alone, in a forked child of one fresh interpreter.

``tests/test_imports.py`` runs this as a script. One interpreter start-up instead of one per
module: the third-party and standard-library modules that Pinbase imports are loaded once, then
every child starts from that state with no ``pinbase`` module loaded, so each Pinbase module is
still the first of its package imported, as in a fresh process, and an import cycle among
Pinbase's modules still fails. A child that breaks prints its traceback on stderr.

Usage: ``python tests/import_each.py MODULE...``; prints a JSON list of failures
``[module, exit status, traceback]`` and exits 0 either way.
"""

import importlib
import json
import os
import sys
import traceback

CONCURRENT_CHILDREN = 4
"""Children importing at once; more gains nothing on a two-core machine."""

MAX_TOLD = 16 * 1024
"""Traceback characters a failing child sends: under a pipe's 64 KiB buffer, so a child never
blocks on a parent that reads only after it exits."""


def dependencies(modules: list[str]) -> list[str]:
    """Modules outside ``pinbase`` that importing every one of ``modules`` loads, in load order.

    Found in a child, so this process stays free of ``pinbase``.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            before = set(sys.modules)
            for module in modules:
                try:
                    importlib.import_module(module)
                except Exception:  # noqa: S112 - its own child reports it
                    continue
            loaded = [name for name in sys.modules if name not in before]
            outside = [name for name in loaded if name.partition(".")[0] != "pinbase"]
            with os.fdopen(write_end, "w") as pipe:
                json.dump(outside, pipe)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        found: list[str] = json.load(pipe)
    os.waitpid(pid, 0)
    return found


def preload(names: list[str]) -> None:
    """Import what Pinbase depends on, skipping what only imports as a side effect of another."""
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: S112 - a module another import registered under an alias
            continue


def start_child(module: str) -> tuple[int, int]:
    """Fork a child that imports ``module`` and exits 0, or prints why and exits 1."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        code = 0
        try:
            importlib.import_module(module)
        except BaseException:
            code = 1
            with os.fdopen(write_end, "w") as pipe:
                pipe.write(traceback.format_exc()[-MAX_TOLD:])
        os._exit(code)
    os.close(write_end)
    return pid, read_end


def main(modules: list[str]) -> None:
    """Import each of ``modules`` alone and print the failures as JSON."""
    preload(dependencies(modules))
    failures: list[tuple[str, int, str]] = []
    waiting = list(reversed(modules))
    running: dict[int, tuple[str, int]] = {}
    while waiting or running:
        while waiting and len(running) < CONCURRENT_CHILDREN:
            module = waiting.pop()
            pid, read_end = start_child(module)
            running[pid] = (module, read_end)
        pid, status = os.wait()
        module, read_end = running.pop(pid)
        with os.fdopen(read_end) as pipe:
            told = pipe.read()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            failures.append((module, code, told))
    json.dump(failures, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
