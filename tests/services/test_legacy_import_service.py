"""The legacy import's writes on both engines (legacy-import.md §5.4): one transaction per user,
tokens kept, the legacy password usable as is, the import trace making a rerun change nothing,
and tokens or e-mails Pinbase already has left alone."""

import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from pinbase.domain.legacy_plan import PlanOptions
from pinbase.runtime import open_store
from pinbase.services.legacy_folder import LegacyFolderError, scan_folder
from pinbase.services.legacy_import import ImportOptions, plan_folder, run_import
from pinbase.services.legacy_import_report import EXIT_DONE, EXIT_SKIPPED, ImportReport
from pinbase.services.passwords import verify_password
from pinbase.services.provisioning import parse_spec, provision
from pinbase.storage.sql import SqlStore
from postgres import BACKENDS, empty_database

FIXTURES = Path(__file__).parents[1] / "fixtures" / "legacy"
NOW = 1_700_000_000_000
TABLES = (
    "organizations",
    "users",
    "templates",
    "datastreams",
    "devices",
    "current_values",
    "properties",
    "legacy_imports",
)


def clock() -> int:
    """A fixed clock: the import's timestamps are reproducible."""
    return NOW


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStore]:
    """A migrated, empty store on each engine."""
    async with empty_database(request, tmp_path) as settings:
        opened = await open_store(settings)
        try:
            yield opened
        finally:
            await opened.close()


async def run(store: SqlStore, case: str | Path, **plan: object) -> ImportReport:
    """Scan, plan and import one fixture folder (history off: helper lhist's part)."""
    folder = case if isinstance(case, Path) else FIXTURES / case
    options = ImportOptions(plan=PlanOptions(**plan), history=False)  # type: ignore[arg-type]
    scan = scan_folder(folder)
    return await run_import(
        store, folder, scan, plan_folder(scan, options, now=NOW), options=options, clock=clock
    )


async def dump(store: SqlStore) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the tables an import writes, in a stable order."""
    async with store.transaction() as tx:
        connection = tx._db
        return {
            table: sorted(
                (tuple(row) for row in await connection.execute(text(f"SELECT * FROM {table}"))),  # noqa: S608
                key=repr,
            )
            for table in TABLES
        }


async def test_modern_folder_imports_with_tokens_password_and_values(store: SqlStore) -> None:
    """§6 "modern": one organization and Admin whose legacy password signs in, two templates,
    three devices with the legacy tokens, their current values and the property."""
    report = await run(store, "modern")
    assert report.exit_code == EXIT_DONE
    assert report.counts["devices"] == 3
    async with store.transaction() as tx:
        user = await tx.find_user_by_email("alice@example.com")
        assert user is not None
        assert (user.role_id, user.is_dev, user.last_logged_at) == (1, True, 1609459100000)
        device = await tx.find_device("Ab-_cdEFghIJklMNopQRstUVwxYZ0123")  # type: ignore[arg-type]
        assert device is not None
        assert device.owner_user_id == user.id
        living = await tx.find_device("2a5f1c0e8d7b4a6f9e3c1b0a7d6e5f4c")  # type: ignore[arg-type]
        assert living is not None
        assert living.hardware_info.template_code == "TMPL0001"
        template = await tx.load_template(living.template_id)
        assert template is not None
        assert template.name == "Home"
        (offline,) = template.events
        assert living.metafield_values == ((1, "Europe/Paris"),)
        assert offline.code == "sys_offline"
        assert offline.notifications.enabled
        values = {
            (p.datastream_id, p.value)
            for p in await tx.load_current_values()
            if p.device_id == living.id
        }
        properties = await tx.load_properties(living.id, template.datastreams[2].id)
    assert await verify_password(user.password_hash, email="Alice@Example.com", password="secret")
    assert values == {(1, 1), (2, 42), (3, 23.5), (5, "hello")}
    assert properties == {"label": '"Room temperature"'}


async def test_second_import_changes_nothing(store: SqlStore) -> None:
    """§5.4: the import trace makes a second run skip every user; no row changes."""
    await run(store, "matrix")
    before = await dump(store)
    again = await run(store, "matrix")
    assert again.counts == {"profiles": 1, "alreadyImported": 1}
    assert await dump(store) == before


async def test_tags_are_put_on_their_devices(store: SqlStore) -> None:
    """§5.1: the matrix dashboard's tag "Kitchen" is an organization tag on device "Second"."""
    await run(store, "matrix")
    async with store.transaction() as tx:
        second = await tx.find_device("00000000000000000000000000000002")  # type: ignore[arg-type]
        assert second is not None
        tags = await tx.list_device_tags(second.id)
    assert [t.name for t in tags] == ["Kitchen"]


async def test_timer_becomes_automations_on_its_device(store: SqlStore) -> None:
    """§5.3: the matrix Timer on D4 is two daily UTC automations controlling device "Main"."""
    await run(store, "matrix")
    async with store.transaction() as tx:
        main = await tx.find_device("00000000000000000000000000000001")  # type: ignore[arg-type]
        assert main is not None
        automations = await tx.list_automations([main.org_id])
    assert sorted(a.name for a in automations) == [
        "Timer D4 off (legacy Timer)",
        "Timer D4 on (legacy Timer)",
    ]


async def test_token_of_another_device_is_never_taken(store: SqlStore) -> None:
    """§5.4 step 3: a token a Pinbase device already holds skips that legacy device only."""
    spec = {
        "organization": {"name": "Existing"},
        "templates": [{"name": "T"}],
        "devices": [{"name": "Mine", "template": "T", "token": "Zz9-_aB8cD7eF6gH5iJ4kL3mN2oP1qRs"}],
    }
    await provision(store, parse_spec(spec), clock=clock)
    report = await run(store, "modern")
    assert report.exit_code == EXIT_SKIPPED
    assert [i.subject for i in report.issues if i.code == "TOKEN_TAKEN"] == [
        "alice@example.com|Blynk|2|0"
    ]
    assert report.counts["devices"] == 2
    async with store.transaction() as tx:
        mine = await tx.find_device("Zz9-_aB8cD7eF6gH5iJ4kL3mN2oP1qRs")  # type: ignore[arg-type]
    assert mine is not None
    assert mine.name == "Mine"


async def test_an_email_pinbase_has_is_skipped(store: SqlStore, tmp_path: Path) -> None:
    """A legacy user whose e-mail a Pinbase user has is skipped whole (EMAIL_TAKEN)."""
    spec = {
        "organization": {"name": "Existing"},
        "users": [{"email": "alice@example.com", "name": "Alice", "roleId": 1, "password": "x"}],
    }
    await provision(store, parse_spec(spec), clock=clock)
    report = await run(store, "modern")
    assert [i.code for i in report.issues if i.skips] == ["EMAIL_TAKEN"]
    assert report.users[0]["status"] == "skipped"


async def test_dry_run_writes_nothing(store: SqlStore) -> None:
    """``--dry-run`` plans and reports but creates nothing."""
    before = await dump(store)
    folder = FIXTURES / "modern"
    options = ImportOptions(dry_run=True, history=False)
    scan = scan_folder(folder)
    plan = plan_folder(scan, options, now=NOW)
    report = await run_import(store, folder, scan, plan, options=options, clock=clock)
    assert report.as_json()["dryRun"] is True
    assert report.counts["devices"] == 3
    assert report.users[0]["status"] == "planned"
    assert await dump(store) == before


async def test_app_export_users_nest_under_the_publisher(store: SqlStore) -> None:
    """``--nest-app-export``: the end user's organization is a child of the publisher's."""
    await run(store, "identities", nest_app_export=True)
    async with store.transaction() as tx:
        bob = await tx.find_user_by_email("bob@example.com")
        end = await tx.find_user_by_email("enduser@example.com")
        assert bob is not None
        assert end is not None
        (profile,) = await tx.load_organization_profiles([end.org_id])
        facebook = await tx.find_user_by_email("fb@example.com")
    assert profile.parent_id == bob.org_id
    assert facebook is not None
    assert facebook.password_hash is None


async def test_backup_replaces_a_broken_profile(store: SqlStore, tmp_path: Path) -> None:
    """§6 "broken + backup": the newest backup (by mtime) is imported and reported."""
    folder = tmp_path / "broken"
    shutil.copytree(FIXTURES / "broken", folder)
    older, newer = sorted((folder / "backup").iterdir())
    os.utime(older, (2_000_000_000, 2_000_000_000))
    os.utime(newer, (1_000_000_000, 1_000_000_000))
    report = await run(store, folder)
    assert [i.code for i in report.issues] == ["PROFILE_FROM_BACKUP", "NO_PASSWORD"]
    assert report.users[0]["templates"][0]["name"] == "Older backup"


def test_a_folder_without_profiles_is_refused(tmp_path: Path) -> None:
    """Not a directory, or no ``*.user``: one clear refusal."""
    with pytest.raises(LegacyFolderError, match="not a directory"):
        scan_folder(tmp_path / "missing")
    with pytest.raises(LegacyFolderError, match="no legacy profile"):
        scan_folder(tmp_path)


def test_noise_is_ignored_and_deleted_accounts_only_on_request() -> None:
    """§6 "noise": logs, clone, temp files and CSV are ignored; ``deleted/`` only with
    ``--include-deleted``."""
    assert [p.email for p in scan_folder(FIXTURES / "noise").profiles] == ["nina@example.com"]
    found = scan_folder(FIXTURES / "noise", include_deleted=True)
    assert [p.email for p in found.profiles] == ["gone@example.com", "nina@example.com"]


def test_history_files_name_their_pins() -> None:
    """§3.1: ``history_10_v1_minute.bin`` (no device part) is device 0's V1."""
    found = scan_folder(FIXTURES / "v0.30")
    assert found.history == {("dave@example.com", "Blynk", 10, 0, "v", 1)}


async def test_history_files_are_imported_once(store: SqlStore) -> None:
    """§5.4 step 4 through helper lhist's ``import_history``: the v0.30 minute file's two
    records land on the imported device's V1; a rerun adds none."""
    folder = FIXTURES / "v0.30"
    options = ImportOptions()
    scan = scan_folder(folder)
    plan = plan_folder(scan, options, now=NOW)
    first = await run_import(store, folder, scan, plan, options=options, clock=clock)
    again = await run_import(store, folder, scan, plan, options=options, clock=clock)
    assert (first.history_points, again.history_points) == (2, 0)
    async with store.transaction() as tx:
        device = await tx.find_device("d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0")  # type: ignore[arg-type]
        assert device is not None
        rows = await tx.read_history(device.id, [1], since=0, until=2**62, limit=10)  # type: ignore[list-item]
    assert [(r.ts, r.num) for r in rows] == [(1609459200000, 23.5), (1609459260000, -1.25)]


async def test_unreadable_reporting_database_is_reported(store: SqlStore) -> None:
    """A ``--pg-reporting`` server that refuses the connection: users imported, HISTORY_FAILED
    reported, exit code 2."""
    folder = FIXTURES / "v0.30"
    options = ImportOptions(pg_reporting="postgresql://nobody@127.0.0.1:1/none")
    scan = scan_folder(folder)
    plan = plan_folder(scan, options, now=NOW)
    report = await run_import(store, folder, scan, plan, options=options, clock=clock)
    assert [i.code for i in report.issues if i.skips] == ["HISTORY_FAILED"]
    assert report.exit_code == EXIT_SKIPPED
    assert report.counts["devices"] == 1


def write_profile(folder: Path, name: str, data: dict[str, object] | str) -> None:
    """A profile file in ``folder`` (JSON of ``data``, or ``data`` as is)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(data if isinstance(data, str) else json.dumps(data))


def test_unreadable_profile_without_usable_backup_is_reported(tmp_path: Path) -> None:
    """A broken profile whose backups are broken too (or absent) is PROFILE_UNREADABLE."""
    write_profile(tmp_path / "a", "a@x.io.Blynk.user", "{")
    write_profile(tmp_path / "a", "ok@x.io.Blynk.user", {"email": "ok@x.io"})
    write_profile(tmp_path / "a" / "backup", "a@x.io.Blynk.user.2021-01-01", "[")
    write_profile(tmp_path / "b", "a@x.io.Blynk.user", "{")
    for folder in ("a", "b"):
        found = scan_folder(tmp_path / folder)
        assert [i.code for i in found.issues] == ["PROFILE_UNREADABLE"]


def test_history_pins_of_unknown_folders_and_files_are_ignored(tmp_path: Path) -> None:
    """Only ``data/<email>`` and ``data/<email>_<app>`` folders of imported users, and only
    ``history_*.bin`` names, give history pins."""
    write_profile(tmp_path, "a@x.io.Blynk.user", {"email": "a@x.io"})
    write_profile(tmp_path, "a@x.io.blynkApp1.user", {"email": "a@x.io", "appName": "blynkApp1"})
    write_profile(tmp_path / "data" / "a@x.io", "history_1-2_d3_hourly.bin", "")
    write_profile(tmp_path / "data" / "a@x.io", "notes.txt", "")
    write_profile(tmp_path / "data" / "A@x.io_blynkApp1", "history_4_a5_daily.bin", "")
    write_profile(tmp_path / "data" / "ghost@x.io", "history_1-0_v1_minute.bin", "")
    write_profile(tmp_path / "data", "a@x.io_file", "")
    found = scan_folder(tmp_path)
    assert found.history == {
        ("a@x.io", "Blynk", 1, 2, "d", 3),
        ("a@x.io", "blynkApp1", 4, 0, "a", 5),
    }


async def test_nesting_without_the_publisher_stays_top_level(store: SqlStore) -> None:
    """``--only`` an end user with ``--nest-app-export``: its publisher is not imported, so
    its organization is top level (NEST_IMPOSSIBLE)."""
    report = await run(
        store,
        "identities",
        nest_app_export=True,
        only=frozenset({"enduser@example.com"}),
    )
    assert [i.code for i in report.issues if i.code == "NEST_IMPOSSIBLE"] == ["NEST_IMPOSSIBLE"]
    async with store.transaction() as tx:
        end = await tx.find_user_by_email("enduser@example.com")
        assert end is not None
        (profile,) = await tx.load_organization_profiles([end.org_id])
    assert profile.parent_id is None


async def test_a_malformed_password_hash_is_not_kept(store: SqlStore, tmp_path: Path) -> None:
    """A ``pass`` that is not Base64 of 32 bytes: the user has no password (NO_PASSWORD)."""
    write_profile(tmp_path, "a@x.io.Blynk.user", {"email": "a@x.io", "pass": "plain"})
    report = await run(store, tmp_path)
    assert [i.code for i in report.issues] == ["NO_PASSWORD"]
    async with store.transaction() as tx:
        user = await tx.find_user_by_email("a@x.io")
    assert user is not None
    assert user.password_hash is None


async def test_history_skips_devices_deleted_since_their_import(store: SqlStore) -> None:
    """A device deleted in Pinbase after its import gets no history on a rerun (and is not
    recreated)."""
    await run(store, "v0.30")
    async with store.transaction() as tx:
        device = await tx.find_device("d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0")  # type: ignore[arg-type]
        assert device is not None
        await tx.delete_device(device.id)
    folder = FIXTURES / "v0.30"
    options = ImportOptions()
    scan = scan_folder(folder)
    plan = plan_folder(scan, options, now=NOW)
    report = await run_import(store, folder, scan, plan, options=options, clock=clock)
    assert report.history_points == 0
    assert "ORPHAN_HISTORY" in [i.code for i in report.issues]
