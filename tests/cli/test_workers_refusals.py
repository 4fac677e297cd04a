"""``pinbase serve --workers N`` refuses, in one line and exit code 2, what could not act as one
server (issue #11): several workers on SQLite, several without a broker, fewer than one. Each
refusal comes before anything opens: no data folder is created."""

from pathlib import Path

import pytest
from test_startup import held_port, serve

from pinbase.testing import free_port

POSTGRES = "postgresql+asyncpg://pinbase@127.0.0.1:1/pinbase"
"""A PostgreSQL URL nothing listens on: a refusal must come before any connection."""


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("--workers", "2"),
            "pinbase: invalid settings: several workers share one database, and SQLite belongs "
            "to one process: set --database-url postgresql+asyncpg://… or --workers 1",
        ),
        (
            ("--workers", "2", "--database-url", POSTGRES),
            "pinbase: invalid settings: several workers are one installation only through a "
            "broker (a value written on one must reach devices on the others): set "
            "--broker-url redis://… or --workers 1",
        ),
        (
            ("--workers", "0"),
            "pinbase: invalid workers 0: at least 1 process must serve (1: this process "
            "alone); change --workers, PINBASE_WORKERS or workers in the config file",
        ),
        (
            ("--workers", "-3", "--database-url", POSTGRES),
            "pinbase: invalid workers -3: at least 1 process must serve (1: this process "
            "alone); change --workers, PINBASE_WORKERS or workers in the config file",
        ),
        (
            ("--broker-url", "redis://127.0.0.1:1"),
            "pinbase: invalid settings: a broker links nodes sharing one PostgreSQL database, "
            "and SQLite belongs to one process: set --database-url postgresql+asyncpg://… or "
            "unset --broker-url",
        ),
        (
            (
                "--workers",
                "2",
                "--database-url",
                POSTGRES,
                "--broker-url",
                "redis://127.0.0.1:1",
                "--http-port",
                "0",
            ),
            "pinbase: invalid settings: several workers share fixed ports, and http_port 0 "
            "would give each its own: set --http-port",
        ),
    ],
    ids=["sqlite", "no-broker", "zero", "negative", "broker-on-sqlite", "http-port-0"],
)
def test_a_run_mode_that_cannot_work_is_refused(
    tmp_path: Path, args: tuple[str, ...], line: str
) -> None:
    """The refusal is one line naming the cause and the way out; exit code 2; nothing opened."""
    data = tmp_path / "data"
    if "--http-port" not in args:
        args = (*args, "--http-port", str(free_port()))
    code, said = serve(data, *args)
    assert (code, said) == (2, line)
    assert not data.exists()


def test_the_environment_variable_is_refused_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``PINBASE_WORKERS=2`` on SQLite is refused like ``--workers 2``."""
    monkeypatch.setenv("PINBASE_WORKERS", "2")
    code, said = serve(tmp_path / "data", "--http-port", str(free_port()))
    assert code == 2
    assert said.startswith("pinbase: invalid settings: several workers share one database")


def test_a_busy_port_is_refused_before_any_worker_starts(tmp_path: Path) -> None:
    """The parent checks the ports as a lone server does: a port another program holds stops
    ``--workers 2`` with the option's name, before the database is opened."""
    with held_port() as port:
        code, said = serve(
            tmp_path / "data",
            "--workers",
            "2",
            "--database-url",
            POSTGRES,
            "--broker-url",
            "redis://127.0.0.1:1",
            "--http-port",
            str(port),
        )
    assert code == 1
    assert said == (
        f"pinbase: cannot listen on 127.0.0.1:{port} (address already in use); "
        "choose another --http-port or stop the other server"
    )
    assert not (tmp_path / "data").exists()
