"""``pinbase import-legacy FOLDER``: a legacy Blynk server's data folder into Pinbase.

The work is ``services.legacy_import``; this module reads the options, shows a Rich progress bar
on standard error for large folders, prints the summary, always writes the JSON report and
exits 0 (done), 1 (fatal: nothing or not everything could be tried) or 2 (done, some things
skipped), as legacy-import.md §5.4 says. A folder it does not understand gets one line.
"""

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn

from pinbase import runtime
from pinbase.cli.options import ConfigOption, DatabaseOption, DataOption
from pinbase.cli.startup import KNOWN_FAILURES, explain
from pinbase.domain.legacy_plan import ImportPlan, PlanOptions
from pinbase.domain.legacy_tokens import FAIL, SKIP, TokenConflict
from pinbase.services.clock import system_clock
from pinbase.services.legacy_folder import FolderScan, LegacyFolderError, scan_folder
from pinbase.services.legacy_import import ImportOptions, plan_folder, run_import
from pinbase.services.legacy_import_report import EXIT_FATAL, ImportReport, describe_plan
from pinbase.settings import Settings, load_settings

err = Console(stderr=True)

DEFAULT_REPORT = "legacy-import-report.json"
RESTART_REMINDER = (
    "Restart `pinbase serve` if it runs on this database: it loaded current values at start "
    "(docs/legacy-migration.md)."
)
PROGRESS_FROM_USERS = 20
"""Fewer users than this import in a blink: no progress bar."""


def import_legacy_command(
    folder: Annotated[Path, typer.Argument(help="The legacy server's data folder (-dataFolder).")],
    data: DataOption = Path("data"),
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and report; write nothing to Pinbase.")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", help=f"Where the JSON report goes (default ./{DEFAULT_REPORT})."),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Import this legacy e-mail only (repeatable)."),
    ] = None,
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Skip the history files.")
    ] = False,
    history_since: Annotated[
        str | None,
        typer.Option("--history-since", help="Import history from this date (YYYY-MM-DD, UTC)."),
    ] = None,
    pg_reporting: Annotated[
        str | None,
        typer.Option(
            "--pg-reporting",
            help="The legacy PostgreSQL reporting database (postgresql://…), read only.",
        ),
    ] = None,
    include_deleted: Annotated[
        bool, typer.Option("--include-deleted", help="Import deleted/ accounts too.")
    ] = False,
    nest_app_export: Annotated[
        bool,
        typer.Option(
            "--nest-app-export",
            help="App Export end users become sub-organizations of their publisher's.",
        ),
    ] = False,
    on_token_conflict: Annotated[
        str,
        typer.Option(
            "--on-token-conflict",
            help="skip: the newer user keeps a shared token; fail: stop before writing.",
        ),
    ] = SKIP,
) -> None:
    """Import a legacy Blynk server's users, projects, devices (same tokens), values and
    history; a second run changes nothing."""
    if on_token_conflict not in (SKIP, FAIL):
        _refuse("--on-token-conflict is skip or fail")
    since_ms = None
    if history_since is not None:
        try:
            day = date.fromisoformat(history_since)
        except ValueError:
            _refuse(f"--history-since {history_since!r} is not a date like 2021-01-31")
        since_ms = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    options = ImportOptions(
        plan=PlanOptions(
            only=frozenset(e.lower() for e in only or ()),
            nest_app_export=nest_app_export,
            on_token_conflict=on_token_conflict,
        ),
        dry_run=dry_run,
        history=not no_history,
        history_since_ms=since_ms,
        pg_reporting=pg_reporting,
    )
    try:
        scan = scan_folder(folder, include_deleted=include_deleted)
        plan = plan_folder(scan, options, now=system_clock())
    except (LegacyFolderError, TokenConflict) as error:
        _refuse(f"import-legacy: {error}")
    retention_days = 0.0
    if dry_run:
        done = describe_plan(folder, scan, plan)
    else:
        try:
            settings = load_settings(config, data_dir=data, database_url=database_url)
            done = asyncio.run(_import(settings, folder, scan, plan, options))
            retention_days = settings.history_retention_days
        except KNOWN_FAILURES as error:
            # Exit 1 even for a settings error (2 elsewhere): 2 means "done, items skipped" here.
            _refuse(f"pinbase: {explain(error, None)[0]}")
    target = report or Path(DEFAULT_REPORT)
    target.write_text(json.dumps(done.as_json(), indent=2, ensure_ascii=False) + "\n")
    _summary(done, target)
    if done.history_points and retention_days:
        typer.echo(
            f"History older than {retention_days:g} days will be pruned by `pinbase serve`: "
            "set PINBASE_HISTORY_RETENTION_DAYS=0 (and PINBASE_AGGREGATE_RETENTION_DAYS) to "
            "keep it."
        )
    raise typer.Exit(done.exit_code)


async def _import(
    settings: Settings, folder: Path, scan: FolderScan, plan: ImportPlan, options: ImportOptions
) -> ImportReport:
    store = await runtime.open_store(settings)
    try:
        with _progress(len(plan.users)) as show:
            return await run_import(
                store, folder, scan, plan, options=options, clock=system_clock, progress=show
            )
    finally:
        await store.close()


@contextmanager
def _progress(users: int) -> Iterator[Callable[[str, int], None] | None]:
    """A Rich bar for the users and a counter of history points, on large folders only."""
    if users < PROGRESS_FROM_USERS:
        yield None
        return
    display = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )
    tasks: dict[str, TaskID] = {}

    def show(step: str, n: int) -> None:
        if step not in tasks:
            total = users if step == "users" else None
            tasks[step] = display.add_task(f"importing {step}", total=total)
        display.advance(tasks[step], n)

    with display:
        yield show


def _summary(done: ImportReport, target: Path) -> None:
    """The printed report: counts, then every issue code with how often it occurred."""
    title = "planned (dry run)" if done.dry_run else "imported"
    typer.echo(f"Legacy import of {done.folder}: {title}")
    for what, n in sorted(done.counts.items()):
        typer.echo(f"  {what:<18} {n}")
    if done.history_points:
        typer.echo(f"  {'historyPoints':<18} {done.history_points}")
    codes = done.as_json()["issueCounts"]
    if codes:
        typer.echo("Not mapped or changed on the way (code: count; details in the report):")
        for code, n in codes.items():
            first = next(i for i in done.issues if i.code == code)
            typer.echo(f"  {code}: {n}  e.g. {first.subject}: {first.reason}")
    typer.echo(f"Report: {target}")
    if not done.dry_run:
        typer.echo(RESTART_REMINDER)


def _refuse(line: str) -> NoReturn:
    """One line on standard error, then exit 1 (fatal, §5.4)."""
    err.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_FATAL)
