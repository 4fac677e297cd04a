"""Backups of a data folder with embedded SQLite: ``pinbase backup`` and ``pinbase restore``.

A backup is itself a data folder: ``pinbase.db``, a consistent copy of the database taken while
the server runs (``storage.sqlite_files``), beside a copy of the files the database refers to
(device uploads) and of ``demo.json``. ``pinbase serve --data BACKUP`` would run on it; ``restore``
puts one back. Report files are left out: they are exports of the history the database holds,
which a client can ask for again, and they expire within 45 days anyway; a restore removes the
ones of the data folder it replaces, whose links would point at data that is gone.

The database is copied first and the files second. An upload stored in between is in the
backup's files but not in its database (an orphan file, never served); a file evicted in
between is in neither, so its row, which eviction marks, may name a missing file that answers
like any evicted one. Every folder is created 0700 and every file 0600: they hold device tokens.

PostgreSQL is backed up with ``pg_dump`` and restored with ``pg_restore`` (docs/backup.md).
"""

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pinbase.domain.errors import PinbaseError
from pinbase.storage.engines import SQLITE_FILE
from pinbase.storage.sqlite_files import (
    NotADatabase,
    copy_database,
    integrity_problems,
    is_in_use,
    move_database,
    remove_database,
)

Progress = Callable[[str, int, int], None]
"""Told (step, done, total) as a backup or restore advances: step "database" counts pages,
"files" counts files, "check" is 0 of 1 while the integrity check runs and 1 of 1 after it."""


class BackupError(PinbaseError):
    """A backup or restore that cannot be done; the message says why in one line."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DataFolder:
    """Where one configuration keeps its data (``runtime.data_folder`` builds it)."""

    root: Path
    database: Path
    """The SQLite file; inside ``root`` unless a ``sqlite://`` database URL puts it elsewhere."""
    kept: tuple[str, ...]
    """Folders and files inside ``root`` that a backup holds besides the database."""
    derived: tuple[str, ...]
    """Folders inside ``root`` that a backup leaves out and a restore clears (report files)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Copied:
    """What a backup or restore copied."""

    database_bytes: int
    files: int


def back_up(folder: DataFolder, target: Path, *, progress: Progress) -> Copied:
    """Copy the data folder, live, into ``target``, a new or empty folder.

    Raises:
        BackupError: ``target`` is not empty, there is no database, or the copy is unsound.
    """
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} is not an empty folder: a backup goes into a new one")
    _make_private_folder(target)
    partial = target / f"{SQLITE_FILE}.partial"
    _copy_checked(folder.database, partial, progress=progress)
    move_database(partial, target / SQLITE_FILE)
    files = _copy_kept(folder.root, target, folder.kept, progress=progress)
    return Copied(database_bytes=(target / SQLITE_FILE).stat().st_size, files=files)


def restore(source: Path, folder: DataFolder, *, force: bool, progress: Progress) -> Copied:
    """Replace the data folder's database and kept files by those of the backup ``source``.

    Raises:
        BackupError: the backup is missing or unsound, a process has the database open, or the
            data folder holds anything and ``force`` is not set.
    """
    backup = source / SQLITE_FILE
    if source.resolve() == folder.root.resolve():
        raise BackupError(f"{source} is the data folder itself")
    if not backup.is_file():
        raise BackupError(f"{source} holds no {SQLITE_FILE}: not a Pinbase backup")
    if is_in_use(folder.database):
        raise BackupError(f"{folder.database} is in use: stop the server (and any pinbase command)")
    if not force and (folder.database.exists() or _holds_anything(folder.root)):
        raise BackupError(f"{folder.root} is not empty: restore with --force to replace its data")
    _make_private_folder(folder.root)
    staged = folder.database.with_name(f"{folder.database.name}.restoring")
    remove_database(staged)
    _copy_checked(backup, staged, progress=progress)
    for name in (*folder.kept, *folder.derived):
        _remove(folder.root / name)
    move_database(staged, folder.database)
    files = _copy_kept(source, folder.root, folder.kept, progress=progress)
    return Copied(database_bytes=folder.database.stat().st_size, files=files)


def _copy_checked(source: Path, target: Path, *, progress: Progress) -> None:
    """Copy a database into ``target`` and run ``integrity_check`` on the copy."""
    try:
        copy_database(
            source, target, progress=lambda done, total: progress("database", done, total)
        )
        progress("check", 0, 1)
        problems = integrity_problems(target)
    except NotADatabase as error:
        remove_database(target)
        raise BackupError(str(error)) from None
    if problems:
        remove_database(target)
        raise BackupError(f"the copy of {source} fails its integrity check: {problems[0]}")
    progress("check", 1, 1)


def _copy_kept(root: Path, target: Path, kept: tuple[str, ...], *, progress: Progress) -> int:
    """Copy the kept files and folders of ``root`` into ``target``; return how many files.

    A file that disappears while it is copied (an upload evicted meanwhile) is skipped.
    """
    files: list[Path] = []
    for name in kept:
        path = root / name
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            files.append(path)
    progress("files", 0, len(files))
    copied = 0
    for done, path in enumerate(files, start=1):
        destination = target / path.relative_to(root)
        for parent in reversed(destination.relative_to(target).parents[:-1]):
            _make_private_folder(target / parent)
        try:
            _copy_private(path, destination)
        except FileNotFoundError:
            pass
        else:
            copied += 1
        progress("files", done, len(files))
    return copied


def _copy_private(source: Path, target: Path) -> None:
    """Copy one file's bytes into a new file readable by its owner only."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with source.open("rb") as reader, os.fdopen(descriptor, "wb") as writer:
        shutil.copyfileobj(reader, writer)


def _make_private_folder(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def _holds_anything(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
