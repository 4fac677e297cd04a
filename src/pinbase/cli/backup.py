"""``pinbase backup`` and ``pinbase restore``: copies of a data folder with embedded SQLite.

The work is ``services.backups``; this module resolves the settings, shows progress with Rich on
standard error and turns refusals into one line and a non-zero exit code (1; 2 for PostgreSQL,
which these commands do not handle).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn

from pinbase import runtime
from pinbase.cli.options import ConfigOption, DatabaseOption, DataOption
from pinbase.services.backups import BackupError, DataFolder, back_up, restore
from pinbase.services.backups import Progress as ProgressHook
from pinbase.settings import load_settings

backup_app = typer.Typer()
err = Console(stderr=True)

POSTGRES_REFUSAL = (
    "pinbase backup and restore copy embedded SQLite only: back up PostgreSQL with"
    " `pg_dump -Fc`, restore with `pg_restore` (docs/backup.md)"
)
STEPS = {"database": "copying the database", "check": "checking it", "files": "copying files"}


@backup_app.command("backup")
def backup_command(
    dest: Annotated[Path, typer.Argument(help="A new or empty folder to hold the backup.")],
    data: DataOption = Path("data"),
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Copy the data folder into DEST while the server runs: the database as of this moment
    (SQLite's online backup, then integrity_check) and the device uploads."""
    folder = _data_folder(data, database_url, config)
    try:
        with _progress() as show:
            copied = back_up(folder, dest, progress=show)
    except BackupError as error:
        _say(f"backup failed: {error}")
        raise typer.Exit(1) from None
    typer.echo(f"backed up {copied.database_bytes} bytes of database and {copied.files} files")


@backup_app.command("restore")
def restore_command(
    src: Annotated[Path, typer.Argument(help="A folder made by `pinbase backup`.")],
    data: DataOption = Path("data"),
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the data of a data folder that has some.")
    ] = False,
) -> None:
    """Put the backup SRC into the data folder; the server must be stopped. Migrations bring
    an older backup up to date when the server next starts."""
    folder = _data_folder(data, database_url, config)
    try:
        with _progress() as show:
            copied = restore(src, folder, force=force, progress=show)
    except BackupError as error:
        _say(f"restore failed: {error}")
        raise typer.Exit(1) from None
    typer.echo(f"restored {copied.database_bytes} bytes of database and {copied.files} files")


def _data_folder(data: Path, database_url: str | None, config: Path | None) -> DataFolder:
    """The configured data folder; exits with the PostgreSQL refusal when there is no SQLite."""
    folder = runtime.data_folder(load_settings(config, data_dir=data, database_url=database_url))
    if folder is None:
        _say(POSTGRES_REFUSAL)
        raise typer.Exit(2)
    return folder


@contextmanager
def _progress() -> Iterator[ProgressHook]:
    """A Rich progress display on standard error, one bar per step, and the hook feeding it.

    The display starts with the first step, so a refusal prints its one line and nothing else.
    """
    tasks: dict[str, TaskID] = {}
    display = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )

    def show(step: str, done: int, total: int) -> None:
        if step not in tasks:
            display.start()
            tasks[step] = display.add_task(STEPS.get(step, step), total=total)
        display.update(tasks[step], completed=done, total=total)

    try:
        yield show
    finally:
        if tasks:
            display.stop()


def _say(line: str) -> None:
    """One line on standard error, never wrapped or styled."""
    err.print(line, markup=False, highlight=False, soft_wrap=True)
