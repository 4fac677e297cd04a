"""Done-when of issue #12 point 1: a synthetic legacy data folder imported with
``pinbase import-legacy`` (a subprocess, as a user runs it), then a real ``blynklib`` device logs
in with its old token and syncs its imported values, the legacy HTTP API answers with them, and
a second import changes nothing (legacy-import.md §6 "round trip")."""

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from interop_driver import BLYNKLIB, DeviceClient, eventually

from pinbase.testing import ServerProcess, free_port, run_cli

FIXTURES = Path(__file__).parents[1] / "fixtures" / "legacy"
LIVING_ROOM = "2a5f1c0e8d7b4a6f9e3c1b0a7d6e5f4c"
"""The modern fixture's hex token (a legacy server up to 0.41.6 generated these)."""
BEDROOM = "Ab-_cdEFghIJklMNopQRstUVwxYZ0123"
"""Its Base64 token with ``-`` and ``_`` (0.41.7 and later)."""
TABLES = (
    "organizations",
    "users",
    "templates",
    "datastreams",
    "devices",
    "current_values",
    "history",
    "legacy_imports",
)


def dump(data: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables the import writes."""
    with sqlite3.connect(f"file:{data / 'pinbase.db'}?mode=ro", uri=True) as db:
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}  # noqa: S608


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The ``modern``, ``matrix`` and ``v0.30`` fixtures (the last with a history file)
    imported into a fresh data folder by the CLI."""
    root = tmp_path_factory.mktemp("legacy")
    folder = root / "legacy-data"
    shutil.copytree(FIXTURES / "modern", folder)
    shutil.copy(FIXTURES / "matrix" / "bob@example.com.Blynk.user", folder)
    shutil.copy(FIXTURES / "v0.30" / "dave@example.com.Blynk.user", folder)
    shutil.copytree(FIXTURES / "v0.30" / "data", folder / "data")
    data = root / "pinbase"
    report = root / "report.json"
    done = run_cli(
        "import-legacy", str(folder), "--data", str(data), "--report", str(report), check=False
    )
    assert done.returncode == 0, done.stderr
    return {
        "folder": folder,
        "data": data,
        "stdout": done.stdout,
        "report": json.loads(report.read_text()),
        "root": root,
    }


@pytest.fixture(scope="module")
def server(imported: dict[str, Any]) -> Iterator[tuple[ServerProcess, int]]:
    """``pinbase serve`` on the imported data folder, with its binary device port."""
    port = free_port()
    # Retention off: the server would otherwise prune the 2021 history at once (93 days by
    # default), and the second import would put it back (docs/legacy-migration.md).
    keep = {"PINBASE_HISTORY_RETENTION_DAYS": "0", "PINBASE_AGGREGATE_RETENTION_DAYS": "0"}
    with ServerProcess(imported["data"], f"--hardware-port={port}", env=keep) as process:
        yield process, port


def test_report_lists_what_was_mapped(imported: dict[str, Any]) -> None:
    """The printed summary and the JSON report agree: three users, their devices, the history
    file's two points, no secrets."""
    report = imported["report"]
    assert report["exitCode"] == 0
    assert report["counts"]["users"] == 3
    assert report["counts"]["devices"] == 8
    assert report["historyPoints"] == 2
    assert "Report:" in imported["stdout"]
    assert "Restart `pinbase serve`" in imported["stdout"]
    assert "History older than 93 days will be pruned" in imported["stdout"]
    text = json.dumps(report)
    assert LIVING_ROOM not in text
    assert "fD9jqz1303HXurfKkTf29V9zN5mC0lFgpyS4ovvGck4=" not in text


def test_legacy_device_syncs_its_imported_values(
    server: tuple[ServerProcess, int], tmp_path: Path
) -> None:
    """A blynklib device flashed for the old server logs in with its old token and
    ``virtual_sync`` returns the imported values of V1, V2 and V5."""
    _, port = server
    with DeviceClient(BLYNKLIB, LIVING_ROOM, port=port, log_dir=tmp_path).started() as client:
        client.command("sync", pins=[1, 2, 5])
        client.expect("write", pin=1, values=["1"])
        client.expect("write", pin=2, values=["42"])
        client.expect("write", pin=5, values=["23.5"])


def test_base64_token_logs_in_too(server: tuple[ServerProcess, int], tmp_path: Path) -> None:
    """The Base64 token with ``-`` and ``_`` was kept byte for byte: its device logs in."""
    _, port = server
    with DeviceClient(BLYNKLIB, BEDROOM, port=port, log_dir=tmp_path).started() as client:
        client.command("sync", pins=[8])
        client.expect("write", pin=8, values=["ready"])


def test_legacy_http_get_returns_the_imported_value(server: tuple[ServerProcess, int]) -> None:
    """LEG-01 with the old token: ``GET /{token}/get/V5`` answers ``["23.5"]``."""
    process, _ = server
    with httpx.Client(base_url=process.base_url, timeout=10) as http:
        answer = http.get(f"/{LIVING_ROOM}/get/V5")
        assert answer.status_code == 200
        assert answer.json() == ["23.5"]
        assert http.get(f"/{LIVING_ROOM}/get/V7").json() == ["hello"]


def test_second_import_changes_nothing(imported: dict[str, Any]) -> None:
    """Run again on the same data folder (server stopped): exit 0, every user already
    imported, every table row unchanged."""
    data = imported["data"]
    before = dump(data)
    report = imported["root"] / "again.json"
    done = run_cli(
        "import-legacy",
        str(imported["folder"]),
        "--data",
        str(data),
        "--report",
        str(report),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    again = json.loads(report.read_text())
    assert again["counts"]["alreadyImported"] == 3
    assert again["historyPoints"] == 0
    assert dump(data) == before


def test_a_folder_it_does_not_understand_is_refused(tmp_path: Path) -> None:
    """No ``*.user`` in FOLDER: one line on standard error, exit 1, nothing created."""
    done = run_cli("import-legacy", str(tmp_path), "--data", str(tmp_path / "d"), check=False)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "holds no legacy profile" in done.stderr
    assert not (tmp_path / "d").exists()


def test_dry_run_creates_no_data_folder(tmp_path: Path) -> None:
    """``--dry-run`` prints and writes the report, and touches no Pinbase data folder."""
    data, report = tmp_path / "d", tmp_path / "r.json"
    done = run_cli(
        "import-legacy", str(FIXTURES / "modern"), "--data", str(data), "--dry-run",
        "--report", str(report), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "planned (dry run)" in done.stdout
    assert json.loads(report.read_text())["counts"]["devices"] == 3
    assert not data.exists()


def test_token_conflict_fail_stops_before_writing(tmp_path: Path) -> None:
    """``--on-token-conflict fail`` with a shared token: exit 1 and nothing created;
    ``skip`` imports with exit 2 (something was left out)."""
    folder = FIXTURES / "tokens"
    data = tmp_path / "d"
    done = run_cli(
        "import-legacy", str(folder), "--data", str(data), "--on-token-conflict", "fail",
        "--report", str(tmp_path / "r.json"), check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert not data.exists()
    done = run_cli(
        "import-legacy", str(folder), "--data", str(data), "--report", str(tmp_path / "r.json"),
        check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "TOKEN_DUP" in done.stdout


def test_import_beside_a_running_server_needs_a_restart_for_values(tmp_path: Path) -> None:
    """Imported beside a running ``pinbase serve``: the server finds the new device by its token
    on first use, but serves its imported values only after a restart (it loaded current values
    at start), which the guide tells users (docs/decisions.md, "Running server")."""
    data = tmp_path / "d"
    token_url = "/d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0/get/V1"
    with ServerProcess(data) as process, httpx.Client(base_url=process.base_url) as http:
        assert http.get(token_url).status_code != 200
        done = run_cli(
            "import-legacy", str(FIXTURES / "v0.30"), "--data", str(data),
            "--report", str(tmp_path / "r.json"), check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert eventually(lambda: http.get(token_url).status_code == 200, within=30)
    with ServerProcess(data) as process, httpx.Client(base_url=process.base_url) as http:
        assert http.get(token_url).json() == ["21.5"]
