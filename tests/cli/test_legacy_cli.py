"""``pinbase import-legacy`` options as a user types them: the progress bar of large folders,
refusals of bad options in one line (exit 1), ``--only`` and ``--history-since``."""

import json
from pathlib import Path

from pinbase.testing import run_cli

FIXTURES = Path(__file__).parents[1] / "fixtures" / "legacy"


def many_users(folder: Path, count: int) -> Path:
    """A legacy folder of ``count`` users without password or project (fast to import)."""
    folder.mkdir()
    for n in range(count):
        email = f"user{n}@example.com"
        (folder / f"{email}.Blynk.user").write_text(json.dumps({"email": email}))
    return folder


def test_large_folder_shows_a_progress_bar(tmp_path: Path) -> None:
    """From 20 users a Rich progress bar runs on standard error; every user is imported."""
    folder = many_users(tmp_path / "legacy", 20)
    report = tmp_path / "r.json"
    done = run_cli(
        "import-legacy", str(folder), "--data", str(tmp_path / "d"), "--report", str(report),
        "--history-since", "2021-01-01", check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # NO_PASSWORD is a warning, nothing skipped
    assert "importing users" in done.stderr
    assert json.loads(report.read_text())["counts"]["users"] == 20


def test_only_imports_the_named_users(tmp_path: Path) -> None:
    """``--only EMAIL`` (any case) keeps the other users out."""
    folder = many_users(tmp_path / "legacy", 3)
    report = tmp_path / "r.json"
    done = run_cli(
        "import-legacy", str(folder), "--data", str(tmp_path / "d"), "--report", str(report),
        "--only", "USER1@example.com", "--no-history", check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [u["email"] for u in json.loads(report.read_text())["users"]] == ["user1@example.com"]


def test_bad_options_are_refused_in_one_line(tmp_path: Path) -> None:
    """A bad ``--on-token-conflict`` or ``--history-since``, or a FOLDER that is a file: one
    line on standard error, exit 1, no data folder created."""
    data = str(tmp_path / "d")
    folder = str(FIXTURES / "modern")
    cases = [
        (["--on-token-conflict", "maybe"], "skip or fail"),
        (["--history-since", "yesterday"], "not a date"),
    ]
    for extra, message in cases:
        done = run_cli("import-legacy", folder, "--data", data, *extra, check=False)
        assert done.returncode == 1
        assert message in done.stderr
        assert done.stderr.strip().count("\n") == 0
    a_file = FIXTURES / "modern" / "alice@example.com.Blynk.user"
    done = run_cli("import-legacy", str(a_file), "--data", data, check=False)
    assert done.returncode == 1
    assert "is not a directory" in done.stderr
    assert not (tmp_path / "d").exists()


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    """A ``--database-url`` nobody answers: ``pinbase: …`` in one line, exit 1."""
    done = run_cli(
        "import-legacy", str(FIXTURES / "modern"), "--report", str(tmp_path / "r.json"),
        "--database-url", "postgresql+asyncpg://nobody@127.0.0.1:1/none", check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("pinbase: ")
    assert done.stderr.strip().count("\n") == 0
