"""``pinbase serve`` that cannot start says why in one line on stderr and exits non-zero.

Each case runs the real CLI as a subprocess, as an operator would, and checks the whole of
stderr: exactly one line, no traceback, and the exit code of docs/cli.md (2: settings, 1: the
rest).
"""

import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pinbase.testing import ServerProcess, free_port, run_cli

QUIET = ("--hardware-port", "0", "--mqtt-port", "0", "--mqtt-tls-port", "0", "--mqtt-wss-port", "0")
"""No device listener unless a test asks for one (``run_cli`` has no environment of its own)."""


@contextmanager
def held_port() -> Iterator[int]:
    """A loopback port another program listens on, as a busy port would be."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def serve(data: Path, *args: str) -> tuple[int, str]:
    """Run ``pinbase serve``, expecting it to stop at once; its exit code and stderr line."""
    done = run_cli("serve", "--data", str(data), *QUIET, *args, check=False)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("pinbase: ")
    return done.returncode, lines[0]


def test_second_server_on_a_busy_http_port_refuses_to_start(tmp_path: Path) -> None:
    """A second server on the first one's HTTP port exits 1 instead of sharing the port."""
    with ServerProcess(tmp_path / "first") as first:
        code, line = serve(tmp_path / "second", "--http-port", str(first.port))
        assert code == 1
        assert line == (
            f"pinbase: cannot listen on 127.0.0.1:{first.port} (address already in use); "
            "choose another --http-port or stop the other server"
        )
        assert not (tmp_path / "second").exists()  # stopped before it opened a database


def test_http_port_in_use(tmp_path: Path) -> None:
    """An HTTP port another program holds is named with the option that changes it."""
    with held_port() as port:
        code, line = serve(tmp_path, "--http-port", str(port))
    assert code == 1
    assert line == (
        f"pinbase: cannot listen on 127.0.0.1:{port} (address already in use); "
        "choose another --http-port or stop the other server"
    )


def test_binary_device_port_in_use(tmp_path: Path) -> None:
    """A busy Blynk binary protocol port names --hardware-port."""
    with held_port() as port:
        code, line = serve(tmp_path, "--http-port", str(free_port()), "--hardware-port", str(port))
    assert code == 1
    assert line == (
        f"pinbase: cannot listen on 127.0.0.1:{port} (address already in use); "
        "choose another --hardware-port or stop the other server"
    )


def test_mqtt_port_in_use(tmp_path: Path) -> None:
    """A busy MQTT port (a local broker on 1883, say) names --mqtt-port."""
    with held_port() as port:
        code, line = serve(tmp_path, "--http-port", str(free_port()), "--mqtt-port", str(port))
    assert code == 1
    assert line == (
        f"pinbase: cannot listen on 127.0.0.1:{port} (address already in use); "
        "choose another --mqtt-port or stop the other server"
    )


def test_reuse_port_setting_lets_a_second_server_share_the_port(tmp_path: Path) -> None:
    """With ``reuse_port`` on, the HTTP port check is skipped, as the operator asked."""
    config = tmp_path / "pinbase.toml"
    config.write_text("reuse_port = true\n")
    with (
        ServerProcess(tmp_path / "first") as first,
        ServerProcess(tmp_path / "second", "--config", str(config), port=first.port),
    ):
        pass


def test_unwritable_data_folder(tmp_path: Path) -> None:
    """A data folder that cannot be created or written names the folder and --data.

    The tests may run as root, which ignores file modes, so the folder's parent is a regular
    file: no user can create a folder there.
    """
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, line = serve(blocker / "data", "--http-port", str(free_port()))
    assert code == 1
    assert line == (
        f"pinbase: cannot write to the data folder {blocker / 'data'} (not a directory); "
        "choose another --data or make it writable"
    )


def test_postgresql_down(tmp_path: Path) -> None:
    """A PostgreSQL URL nobody answers names the URL, without its password."""
    url = f"postgresql+asyncpg://pinbase:secret@127.0.0.1:{free_port()}/pinbase"
    code, line = serve(tmp_path, "--http-port", str(free_port()), "--database-url", url)
    assert code == 1
    assert line.startswith("pinbase: cannot connect to the database postgresql+asyncpg://pinbase:")
    assert "secret" not in line
    assert line.endswith("; start the database or fix --database-url")


def test_unknown_database_url_scheme(tmp_path: Path) -> None:
    """A database URL of a driver Pinbase does not ship is a settings error (exit 2)."""
    code, line = serve(tmp_path, "--database-url", "mysql://root:secret@localhost/pinbase")
    assert code == 2
    assert line == (
        "pinbase: invalid database_url: unsupported database URL scheme 'mysql': use "
        "postgresql+asyncpg://… or leave it unset for SQLite in the data folder; change "
        "--database-url, PINBASE_DATABASE_URL or database_url in the config file"
    )


def test_missing_config_file(tmp_path: Path) -> None:
    """An explicit --config that does not exist is an error, not silently ignored."""
    missing = tmp_path / "missing.toml"
    code, line = serve(tmp_path, "--config", str(missing))
    assert code == 2
    assert line == f"pinbase: config file {missing} does not exist; fix --config or PINBASE_CONFIG"


def test_config_file_that_is_not_toml(tmp_path: Path) -> None:
    """A TOML syntax error names the file and the position."""
    config = tmp_path / "pinbase.toml"
    config.write_text('http_port = = 8080\nhost = "0.0.0.0"\n')
    code, line = serve(tmp_path, "--config", str(config))
    assert code == 2
    assert line.startswith(f"pinbase: config file {config} is not valid TOML: ")
    assert line.endswith("(at line 1, column 13)")


def test_unknown_setting_in_config_file(tmp_path: Path) -> None:
    """A misspelt TOML key is refused with the closest setting's name."""
    config = tmp_path / "pinbase.toml"
    config.write_text("http_prot = 9000\n")
    code, line = serve(tmp_path, "--config", str(config))
    assert code == 2
    assert line == (
        f"pinbase: unknown setting 'http_prot' in config file {config} "
        "(did you mean http_port?); remove it"
    )


def test_unknown_setting_in_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A misspelt ``PINBASE_*`` variable is refused instead of ignored."""
    monkeypatch.setenv("PINBASE_HTTP_PROT", "9000")
    code, line = serve(tmp_path)
    assert code == 2
    assert line == (
        "pinbase: unknown setting PINBASE_HTTP_PROT in the environment "
        "(did you mean PINBASE_HTTP_PORT?); unset it"
    )


def test_invalid_setting_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A value of the wrong type names the setting, the value and every place that sets it."""
    monkeypatch.setenv("PINBASE_HTTP_PORT", "eighty")
    code, line = serve(tmp_path)
    assert code == 2
    assert line == (
        "pinbase: invalid http_port 'eighty': Input should be a valid integer, unable to parse "
        "string as an integer; change --http-port, PINBASE_HTTP_PORT or http_port in the "
        "config file"
    )


def test_two_listeners_on_one_port(tmp_path: Path) -> None:
    """Giving two listeners the same port is a settings error, not a busy port."""
    port = str(free_port())
    code, line = serve(tmp_path, "--http-port", port, "--mqtt-port", port)
    assert code == 2
    assert line == (
        f"pinbase: invalid settings: http_port and mqtt_port are both {port}: "
        "give each its own port"
    )


def test_debug_log_level_adds_the_traceback(tmp_path: Path) -> None:
    """Under --log-level debug the traceback comes first, then the same one line."""
    with held_port() as port:
        done = run_cli(
            "serve", "--data", str(tmp_path), *QUIET, "--http-port", str(port),
            "--log-level", "debug", check=False,
        )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("Traceback")
    assert "PortUnavailable" in done.stderr
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(f"pinbase: cannot listen on 127.0.0.1:{port}")
    )


def test_other_commands_explain_settings_errors(tmp_path: Path) -> None:
    """provision and demo load the same settings and fail the same way, in one line."""
    done = run_cli("demo", "--data", str(tmp_path), "--database-url", "mysql://x/y", check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("pinbase: invalid database_url: unsupported database URL")
    assert len(done.stderr.strip().splitlines()) == 1


def test_version() -> None:
    """``pinbase --version`` prints the package version."""
    assert run_cli("--version").stdout.strip() == "pinbase 0.1.0"


def test_missing_tls_certificate(tmp_path: Path) -> None:
    """A TLS listener whose certificate file is missing names the file and both options."""
    cert, key = tmp_path / "missing.pem", tmp_path / "missing.key"
    code, line = serve(
        tmp_path / "data", "--http-port", str(free_port()), "--hardware-tls-port",
        str(free_port()), "--tls-cert", str(cert), "--tls-key", str(key),
    )  # fmt: skip
    assert code == 1
    assert line == (
        f"pinbase: cannot load the TLS certificate {cert} and key {key} (no such file: {cert}); "
        "fix --tls-cert and --tls-key"
    )
    assert not (tmp_path / "data").exists()  # checked before the database opens


def test_tls_files_that_are_not_pem(tmp_path: Path) -> None:
    """Files that are not a PEM certificate and key are refused before anything starts."""
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    code, line = serve(
        tmp_path / "data", "--http-port", str(free_port()), "--hardware-tls-port",
        str(free_port()), "--tls-cert", str(junk), "--tls-key", str(junk),
    )  # fmt: skip
    assert code == 1
    assert line.startswith(
        f"pinbase: cannot load the TLS certificate {junk} and key {junk} (not a PEM certificate"
    )
    assert line.endswith("; fix --tls-cert and --tls-key")


def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    """A pinbase.db that is not SQLite names the file and the data folder."""
    (tmp_path / "pinbase.db").write_bytes(b"not a database, " * 16)
    code, line = serve(tmp_path, "--http-port", str(free_port()))
    assert code == 1
    assert line == (
        f"pinbase: cannot open the database sqlite+aiosqlite:///{tmp_path / 'pinbase.db'} "
        "(file is not a database); check the file or choose another --data"
    )


def test_unexpected_failure_is_one_line_too(tmp_path: Path) -> None:
    """A failure with no line of its own (a database from a newer Pinbase) still ends in one
    plain line, after the log lines, and no traceback."""
    with sqlite3.connect(tmp_path / "pinbase.db") as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        db.execute("INSERT INTO alembic_version VALUES ('9999')")
    db.close()
    done = run_cli(
        "serve", "--data", str(tmp_path), *QUIET, "--http-port", str(free_port()), check=False
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "pinbase: stopped by an unexpected error: CommandError: Can't locate revision identified "
        "by '9999' (run with --log-level debug for the traceback)"
    )
