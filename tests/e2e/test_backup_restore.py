"""``pinbase backup`` of a server under write load, ``pinbase restore``, and a second server on it.

Writers keep storing an increasing counter through the device HTTP API while the backup runs as
a subprocess, as an operator's cron job would. Every value acknowledged before the backup began
must read back from a server started on the restored copy.
"""

import asyncio
import contextlib
import sqlite3
import sys
from pathlib import Path
from typing import Any

import httpx

from pinbase.testing import ServerProcess, provision, run_cli
from testspec import UNTHROTTLED, load_spec

WRITERS = 4
WARM_UP_WRITES = 50
"""Values each writer has acknowledged before the backup starts, so there is data to lose."""


async def write_counter(
    base_url: str, token: str, acknowledged: list[int], warm: asyncio.Event
) -> None:
    """Write 1, 2, 3… to v2 until cancelled; record each value answered 200, in order, and
    set ``warm`` once ``WARM_UP_WRITES`` are."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        value = 0
        while True:
            value += 1
            answer = await client.get(f"/external/api/batch/update?token={token}&v2={value}")
            if answer.status_code == 200:
                acknowledged.append(value)
                if len(acknowledged) >= WARM_UP_WRITES:
                    warm.set()


async def back_up_under_load(
    server: ServerProcess, devices: list[dict[str, Any]], target: Path
) -> tuple[list[list[int]], int, str]:
    """Run ``pinbase backup`` while the writers write.

    Returns what each writer had acknowledged when the backup began, how many values were
    acknowledged while it ran, and the backup's exit code and output.
    """
    acknowledged: list[list[int]] = [[] for _ in devices]
    warm = [asyncio.Event() for _ in devices]
    writers = [
        asyncio.create_task(write_counter(server.base_url, device["token"], acks, event))
        for device, acks, event in zip(devices, acknowledged, warm, strict=True)
    ]
    try:
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in warm)), timeout=60)
        before = [list(acks) for acks in acknowledged]
        backup = await asyncio.create_subprocess_exec(
            *(
                sys.executable,
                "-m",
                "pinbase",
                "backup",
                str(target),
                "--data",
                str(server.data_dir),
            ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(backup.communicate(), timeout=120)
        during = sum(len(acks) for acks in acknowledged) - sum(len(acks) for acks in before)
    finally:
        for writer in writers:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
    assert backup.returncode == 0, output.decode()
    return before, during, output.decode()


def test_backup_under_load_restores_every_value_acknowledged_before_it(tmp_path: Path) -> None:
    """A server on the restored backup answers every value acknowledged before the backup."""
    data, target, restored = tmp_path / "data", tmp_path / "backup", tmp_path / "restored"
    devices = provision(load_spec(WRITERS), data_dir=data)["devices"]
    with ServerProcess(data, env=UNTHROTTLED) as server:
        before, during, output = asyncio.run(back_up_under_load(server, devices, target))
        assert during > 0, "no value was written while the backup ran"
        refused = run_cli("restore", str(target), "--data", str(data), "--force", check=False)
        assert refused.returncode == 1
        assert "in use: stop the server" in refused.stderr

    assert "backed up" in output
    assert target.stat().st_mode & 0o777 == 0o700
    assert (target / "pinbase.db").stat().st_mode & 0o777 == 0o600
    run_cli("restore", str(target), "--data", str(restored))
    with contextlib.closing(sqlite3.connect(restored / "pinbase.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

    with ServerProcess(restored) as second, httpx.Client(base_url=second.base_url) as http:
        for device, acks in zip(devices, before, strict=True):
            answer = http.get(
                "/external/api/data/get",
                params={
                    "token": device["token"],
                    "output": "JSON",
                    "pin": "v2",
                    "period": "HOUR",
                    "granularityType": "RAW_DATA",
                },
            )
            assert answer.status_code == 200, answer.text
            stored = {int(row["value"]) for row in answer.json()["data"]}
            missing = set(acks) - stored
            assert not missing, f"device {device['id']} lost {sorted(missing)[:10]}"
            current = http.get(f"/external/api/get?token={device['token']}&v2").text
            assert int(current) >= acks[-1]


def test_a_restore_refuses_a_data_folder_with_data_unless_forced(tmp_path: Path) -> None:
    """Restoring over existing data needs --force; with it the backup's database and uploads
    replace the folder's, its report files go, and every copied file is 0600."""
    original, changed = tmp_path / "original", tmp_path / "changed"
    provision(load_spec(1), data_dir=original)
    (original / "uploads" / "1").mkdir(parents=True)
    (original / "uploads" / "1" / "photo.jpg").write_bytes(b"jpeg")
    run_cli("backup", str(tmp_path / "backup"), "--data", str(original))
    provision(load_spec(3), data_dir=changed)
    (changed / "reports").mkdir()
    (changed / "reports" / "old.zip").write_bytes(b"zip")

    refused = run_cli("restore", str(tmp_path / "backup"), "--data", str(changed), check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"restore failed: {changed} is not empty: restore with --force to replace its data"
    ]
    run_cli("restore", str(tmp_path / "backup"), "--data", str(changed), "--force")
    with contextlib.closing(sqlite3.connect(changed / "pinbase.db")) as db:
        assert db.execute("SELECT count(*) FROM devices").fetchone() == (1,)
    upload = changed / "uploads" / "1" / "photo.jpg"
    assert upload.read_bytes() == b"jpeg"
    assert upload.stat().st_mode & 0o777 == 0o600
    assert not (changed / "reports").exists()


def test_backup_of_postgresql_refuses_in_one_line_naming_pg_dump(tmp_path: Path) -> None:
    """With a PostgreSQL URL, backup and restore point at pg_dump and pg_restore, unconnected."""
    url = "postgresql+asyncpg://pinbase@127.0.0.1:1/pinbase"  # nothing listens: never dialled
    for command in ("backup", "restore"):
        done = run_cli(command, str(tmp_path / "b"), "--database-url", url, check=False)
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            "pinbase backup and restore copy embedded SQLite only: back up PostgreSQL with"
            " `pg_dump -Fc`, restore with `pg_restore` (docs/backup.md)"
        ]
    assert not (tmp_path / "b").exists()
