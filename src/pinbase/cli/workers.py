"""``serve --workers N``: one parent process and N servers sharing this machine's ports.

The parent serves nothing. It checks the ports first (a busy one is refused as a lone server
refuses it), migrates the database once, then starts the workers: fresh interpreters
(multiprocessing's ``spawn``: no inherited event loop, connection or thread), each running
``runtime.serve`` with ``reuse_port``, so that the kernel spreads the HTTP, binary and MQTT
connections over them (SO_REUSEPORT). The workers are nodes of one installation like nodes on
other machines: they share the PostgreSQL database and the broker, and elect the leader that
runs the once-per-installation work (``services.leadership``).

SIGINT and SIGTERM are forwarded to every worker as SIGTERM; each stops as a lone server does
(every acknowledged write committed), and the parent exits when all have. A worker that dies
on its own is started again after a back-off (``RESTART_DELAYS_S``); one that keeps dying
(``len(RESTART_DELAYS_S)`` times in a row, each within ``STABLE_S`` of its start) stops the
others and the parent exits 1, for systemd or the operator to see.
"""

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

from pinbase import runtime
from pinbase.cli.serving import configure_logging, run_server
from pinbase.settings import Settings

logger = logging.getLogger(__name__)

RESTART_DELAYS_S = (1.0, 2.0, 4.0, 8.0, 16.0)
"""How long a worker that died waits before its next start, by how many times in a row it
died; after the last one the parent gives up (about half a minute of trying)."""

STABLE_S = 60.0
"""A worker that ran this long counts as healthy again: its next death starts the back-off
over."""

STOP_TIMEOUT_S = 60.0
"""How long the parent waits for the workers to stop after forwarding the signal before it
kills them. A worker's own stop is bounded (listeners: 5 s, then the writers' last commit)."""

POLL_S = 0.5
"""How often the parent looks for due restarts and for a stop asked by a signal."""

EXIT_GAVE_UP = 1

PR_SET_PDEATHSIG = 1
"""Linux ``prctl`` option: the signal a process gets when its parent dies."""


@dataclass(slots=True)
class _Worker:
    """One worker slot: the process now in it, and its history of deaths."""

    index: int
    process: BaseProcess | None = None
    started_at: float = 0.0
    deaths: int = 0
    restart_at: float | None = None


class Supervisor:
    """Starts, watches and stops the workers of one ``serve --workers N``."""

    def __init__(self, settings: Settings) -> None:
        self._checked = settings
        self._settings = settings.model_copy(update={"reuse_port": True})
        self._context = multiprocessing.get_context("spawn")
        self._workers = [_Worker(index) for index in range(1, settings.workers + 1)]
        self._stop_signal: int | None = None

    def run(self) -> int:
        """Start the workers and watch them until a signal stops them or they keep dying;
        the exit code.

        Raises:
            PortUnavailable, TlsUnusable, DataFolderUnusable, DatabaseUnavailable: before any
                worker starts (see ``runtime.prepare``).
        """
        runtime.check_listeners(self._checked)
        runtime.prepare(self._settings)
        previous = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for worker in self._workers:
                self._start(worker)
            code = self._watch()
            self._stop_all()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        logger.info("workers.stopped code=%d", code)
        return code

    def _stopping(self) -> bool:
        """Whether a signal asked to stop (set by the handler, between any two lines)."""
        return self._stop_signal is not None

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self._stop_signal is None:
            logger.info("workers.stopping signal=%s", signal.Signals(signum).name)
        self._stop_signal = signum
        self._signal_all()

    def _signal_all(self) -> None:
        for worker in self._workers:
            process = worker.process
            if process is not None and process.pid is not None and process.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)

    def _start(self, worker: _Worker) -> None:
        process = self._context.Process(
            target=serve_worker,
            args=(self._settings, worker.index),
            kwargs={"parent": os.getpid()},
            name=f"pinbase-worker-{worker.index}",
        )
        process.start()
        worker.process = process
        worker.started_at = time.monotonic()
        worker.restart_at = None
        logger.info("workers.started worker=%d pid=%s", worker.index, process.pid)

    def _watch(self) -> int:
        """Until a stop signal: restart dead workers when due; ``EXIT_GAVE_UP`` when one keeps
        dying, else 0."""
        while not self._stopping():
            sentinels = [w.process.sentinel for w in self._workers if w.process is not None]
            wait(sentinels, timeout=POLL_S)
            now = time.monotonic()
            for worker in self._workers:
                if self._stopping():
                    break
                process = worker.process
                if process is not None and process.exitcode is not None:
                    worker.process = None
                    if not self._plan_restart(worker, process, now):
                        return EXIT_GAVE_UP
                elif worker.restart_at is not None and worker.restart_at <= now:
                    self._start(worker)
        return 0

    def _plan_restart(self, worker: _Worker, process: BaseProcess, now: float) -> bool:
        """Note the death of ``worker``'s process; False when it died too often in a row."""
        if now - worker.started_at >= STABLE_S:
            worker.deaths = 0
        worker.deaths += 1
        if worker.deaths > len(RESTART_DELAYS_S):
            logger.error(
                "workers.giving_up worker=%d deaths=%d code=%s",
                worker.index,
                worker.deaths,
                process.exitcode,
            )
            return False
        delay = RESTART_DELAYS_S[worker.deaths - 1]
        worker.restart_at = now + delay
        logger.error(
            "workers.died worker=%d pid=%s code=%s restart_in_s=%.0f",
            worker.index,
            process.pid,
            process.exitcode,
            delay,
        )
        return True

    def _stop_all(self) -> None:
        """Forward the stop to every live worker, wait for them (bounded), kill what is left."""
        self._signal_all()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for worker in self._workers:
            process = worker.process
            if process is None:
                continue
            process.join(max(0.0, deadline - time.monotonic()))
            if process.exitcode is None:
                logger.error("workers.killed worker=%d pid=%s", worker.index, process.pid)
                process.kill()
                process.join()
            elif process.exitcode != 0:
                logger.warning(
                    "workers.exit worker=%d pid=%s code=%s",
                    worker.index,
                    process.pid,
                    process.exitcode,
                )


def serve_worker(settings: Settings, index: int, *, parent: int) -> None:
    """The body of worker ``index``: a lone server on shared ports (runs in the child).

    SIGINT is ignored until the server handles it: Ctrl-C in a terminal reaches the whole
    process group, and the parent forwards it as SIGTERM anyway.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(parent)
    configure_logging(settings)
    logger.info("worker.serving worker=%d pid=%d", index, os.getpid())
    run_server(settings)


def _die_with(parent: int) -> None:
    """Ask Linux to send SIGTERM when the parent dies (kill -9), so no orphan keeps serving;
    a parent that already died is noticed at once."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        raise SystemExit(0)
