"""``pinbase serve --broker-url`` refuses SQLite and an unreachable Redis in one line."""

from pathlib import Path

import pytest

from pinbase.testing import free_port, run_cli
from postgres import create_database, drop_database

QUIET = ("--hardware-port", "0", "--mqtt-port", "0", "--mqtt-tls-port", "0")


def serve(data: Path, *args: str) -> tuple[int, str]:
    """Run ``pinbase serve``, expecting it to stop at once; its exit code and stderr line."""
    done = run_cli("serve", "--data", str(data), *QUIET, *args, check=False)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return done.returncode, lines[0]


def test_a_broker_with_sqlite_is_refused(tmp_path: Path) -> None:
    """A broker links nodes of one PostgreSQL database: with SQLite, serve exits 2 at once,
    before it opens anything."""
    code, line = serve(tmp_path / "data", "--broker-url", "redis://127.0.0.1:6379/0")
    assert code == 2
    assert line == (
        "pinbase: invalid settings: a broker links nodes sharing one PostgreSQL database, and "
        "SQLite belongs to one process: set --database-url postgresql+asyncpg://… or unset "
        "--broker-url"
    )
    assert not (tmp_path / "data").exists()


def test_an_unknown_broker_scheme_is_refused(tmp_path: Path) -> None:
    """A broker URL that is not Redis's is refused by name, exit 2."""
    code, line = serve(tmp_path, "--broker-url", "amqp://rabbit/")
    assert code == 2
    assert line.startswith("pinbase: invalid broker_url: unsupported broker URL scheme 'amqp'")
    assert "rabbit" not in line  # a broker URL may hold a password: never repeated


@pytest.mark.postgres
async def test_an_unreachable_broker_stops_serve(tmp_path: Path, postgres_url: str) -> None:
    """Redis down at start: one line naming the broker (password masked) and the option, exit 1."""
    database = await create_database(postgres_url)
    try:
        url = f"redis://:secret@127.0.0.1:{free_port()}/0"
        done = run_cli(
            "serve", "--data", str(tmp_path), *QUIET, "--database-url", database,
            "--broker-url", url, check=False,
        )  # fmt: skip
    finally:
        await drop_database(database)
    assert done.returncode == 1
    line = done.stderr.strip().splitlines()[-1]  # after the migrations' log lines
    assert "Traceback" not in done.stderr
    assert line.startswith("pinbase: cannot connect to the broker redis://:***@127.0.0.1:")
    assert line.endswith("; start Redis or fix --broker-url")
