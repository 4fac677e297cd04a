"""The data folder is 0700 and every file Pinbase writes in it 0600 (issue #8, THREAT_MODEL.md).

Checked after ``pinbase demo``, while ``pinbase serve`` runs after writing a value, storing an
upload, a report zip and a legacy export, for code that uses Pinbase as a library whatever its
umask, and for a data folder an older Pinbase left readable to everyone.
"""

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pinbase.http.app import create_app
from pinbase.runtime import open_store, running_services
from pinbase.services.clock import system_clock
from pinbase.services.provisioning import parse_spec, provision
from pinbase.settings import Settings
from pinbase.testing import ServerProcess, run_cli
from pinbase.testing import provision as provision_cli
from testspec import load_spec

WRITTEN = {"pinbase.db", "reports", "uploads", "legacy_exports"}
"""What ``write_every_kind`` leaves in the data folder, besides SQLite's companions."""


def loose_entries(data_dir: Path) -> dict[str, str]:
    """Each entry of the folder (itself ``.``) whose mode is not 0700 (folders) or 0600 (files)."""
    loose = {}
    for path in [data_dir, *data_dir.rglob("*")]:
        found = path.lstat()
        wanted = 0o700 if stat.S_ISDIR(found.st_mode) else 0o600
        if stat.S_IMODE(found.st_mode) != wanted:
            loose[str(path.relative_to(data_dir))] = oct(stat.S_IMODE(found.st_mode))
    return loose


async def write_every_kind(http: httpx.AsyncClient, token: str) -> None:
    """Store a value, upload a file, make a report zip (DEV-08) and a legacy export (LEG-10)."""
    answers = [
        await http.get(f"/external/api/batch/update?token={token}&v1=7"),
        await http.post(f"/external/api/upload?token={token}", files={"upfile": ("a.png", b"png")}),
        await http.get(f"/external/api/data/get?token={token}&pin=v1"),
        await http.get(f"/{token}/data/V1"),
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 301]


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A process umask of 0, as a library user's may be: every mode must come from Pinbase."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_demo_writes_only_private_files(tmp_path: Path) -> None:
    """``pinbase demo`` creates the folder 0700, the database and ``demo.json`` 0600."""
    data = tmp_path / "new" / "data"
    run_cli("demo", "--data", str(data))
    assert {"pinbase.db", "demo.json"} <= {path.name for path in data.iterdir()}
    assert loose_entries(data) == {}
    assert loose_entries(tmp_path / "new") == {}  # a missing parent is created 0700 too


async def test_running_server_keeps_every_file_private(tmp_path: Path) -> None:
    """While ``pinbase serve`` runs, the database, its WAL and shared memory, report zips,
    uploads and legacy exports are all 0600 in 0700 folders."""
    data = tmp_path / "data"
    created = provision_cli(load_spec(1), data_dir=data)
    with ServerProcess(data) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            await write_every_kind(http, created["devices"][0]["token"])
        names = {path.name for path in data.iterdir()}
        assert {*WRITTEN, "pinbase.db-wal", "pinbase.db-shm"} <= names
        assert loose_entries(data) == {}


@pytest.mark.usefixtures("open_umask")
async def test_library_use_gets_private_files_whatever_the_umask(tmp_path: Path) -> None:
    """With umask 0, the runtime and the ASGI app still create nothing readable by others."""
    data = tmp_path / "data"
    settings = Settings(data_dir=data, database_url=None)
    store = await open_store(settings)
    try:
        created = await provision(store, parse_spec(load_spec(1)), clock=system_clock)
    finally:
        await store.close()
    async with running_services(settings) as services:
        transport = httpx.ASGITransport(app=create_app(services, settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            await write_every_kind(http, created["devices"][0]["token"])
        assert {path.name for path in data.iterdir()} >= WRITTEN
        assert loose_entries(data) == {}


def test_an_older_readable_install_is_tightened_at_start(tmp_path: Path) -> None:
    """A 0755 folder holding a 0644 database, report and upload becomes 0700 and 0600 when
    the server starts; files that are not Pinbase's, and what a link points to, keep their
    modes."""
    data = tmp_path / "data"
    provision_cli(load_spec(1), data_dir=data)
    (data / "reports").mkdir()
    (data / "reports" / "old.zip").write_bytes(b"zip")
    (data / "uploads" / "1").mkdir(parents=True)
    (data / "uploads" / "1" / "old.png").write_bytes(b"png")
    (data / "notes.txt").write_text("mine")
    for path in [data, *data.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    outside = tmp_path / "outside.txt"
    outside.write_text("not Pinbase's")
    outside.chmod(0o644)
    (data / "uploads" / "1" / "link.png").symlink_to(outside)
    with ServerProcess(data):
        loose = loose_entries(data)
    assert loose == {"notes.txt": "0o644", "uploads/1/link.png": "0o777"}
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
