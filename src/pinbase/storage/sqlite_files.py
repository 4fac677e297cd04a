"""The SQLite database as files: online copy, integrity check, in-use probe, removal.

Used by ``pinbase backup`` and ``pinbase restore`` (``services.backups``); the running server
never calls these. A copy is taken with SQLite's online backup API from a connection that holds
one read transaction for the whole copy: in WAL mode a reader never blocks the server's writers,
and every step reads the same snapshot, so the copy holds exactly what was committed when the
copy began, however long it takes and however much is written meanwhile. (Without that
transaction each step would open its own, and the backup API restarts from page one whenever the
source changed between two steps: under a steady write load it would never finish.)
"""

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

COPY_STEP_PAGES = 1024
"""Pages copied per backup step (4 MiB at SQLite's default page size): the progress callback
moves every step, and the per-step overhead stays well under 1% of the copy."""

COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")
"""Files SQLite keeps beside a database. A stale ``-wal`` beside a restored file would be
replayed into it, so removal takes them with the database."""

_SHM_DEAD_MAN_SWITCH = 128
"""Byte of the ``-shm`` file on which every open connection of a WAL database holds a shared
lock (the "DMS" lock of SQLite's WAL-index format, sqlite.org/walformat.html §2.3.1); an
exclusive lock on it succeeds only when no connection has the database open."""

Progress = Callable[[int, int], None]
"""Called with (pages copied, pages in all) after each step of a copy."""


class NotADatabase(Exception):
    """A file that should hold a SQLite database does not, or not a sound one."""


def copy_database(source: Path, target: Path, *, progress: Progress) -> None:
    """Copy the database ``source`` (live or not) into the new file ``target`` (mode 0600).

    Raises:
        NotADatabase: ``source`` is missing or is not a SQLite database.
        FileExistsError: ``target`` exists.
    """
    if not source.is_file():
        raise NotADatabase(f"no database at {source}")
    target.touch(mode=0o600, exist_ok=False)
    try:
        # mode=rw: a missing file is an error, never a new empty database.
        with (
            contextlib.closing(
                sqlite3.connect(
                    f"{source.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None
                )
            ) as reader,
            contextlib.closing(sqlite3.connect(target)) as writer,
        ):
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
            reader.backup(
                writer,
                pages=COPY_STEP_PAGES,
                progress=lambda _status, remaining, total: progress(total - remaining, total),
            )
            reader.execute("COMMIT")
    except sqlite3.DatabaseError as error:
        remove_database(target)
        raise NotADatabase(f"{source}: {error}") from None
    except BaseException:
        remove_database(target)
        raise


def integrity_problems(database: Path) -> list[str]:
    """What ``PRAGMA integrity_check`` finds wrong with the database; empty when it is sound.

    Raises:
        NotADatabase: the file is missing or is not a SQLite database.
    """
    if not database.is_file():
        raise NotADatabase(f"no database at {database}")
    try:
        with contextlib.closing(
            sqlite3.connect(f"{database.resolve().as_uri()}?mode=rw", uri=True)
        ) as connection:
            rows = connection.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as error:
        raise NotADatabase(f"{database}: {error}") from None
    return [] if rows == [("ok",)] else [str(row[0]) for row in rows]


def is_in_use(database: Path) -> bool:
    """Whether any process (a running server, ``pinbase provision``…) has the database open.

    Probes the WAL-index dead-man-switch lock without taking part in SQLite's protocol: the
    exclusive lock is tried and released at once. Pinbase opens every database in WAL mode, so a
    connection always holds that lock; a database with no ``-shm`` file has no connection.
    """
    shm = database.with_name(database.name + "-shm")
    try:
        descriptor = os.open(shm, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DEAD_MAN_SWITCH)
    except OSError:
        return True
    finally:
        os.close(descriptor)  # closing releases the lock, if it was taken
    return False


def remove_database(database: Path) -> None:
    """Delete the database file and the ``-wal``, ``-shm`` and ``-journal`` files beside it."""
    for path in (database, *(database.with_name(database.name + s) for s in COMPANION_SUFFIXES)):
        path.unlink(missing_ok=True)


def move_database(source: Path, target: Path) -> None:
    """Put the closed database ``source`` in the place of ``target`` and its companions."""
    remove_database(target)
    source.replace(target)
