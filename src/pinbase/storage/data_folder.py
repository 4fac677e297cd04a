"""What Pinbase keeps in its data folder, and the modes that keep it private (issue #8).

The folder holds device tokens (``pinbase.db`` and its WAL), users' data in report zips, uploads
and legacy exports, and the demo's credentials (``demo.json``). So the folder is 0700 and every
file Pinbase writes in it 0600: only the account that runs Pinbase can read them. The CLI sets
umask 077 before it writes anything; these helpers set the modes explicitly as well, so that code
using Pinbase as a library (``runtime`` in tests, ``pinbase.testing``) gets them whatever its
umask. SQLite creates ``-wal`` and ``-shm`` with the database file's mode, so creating that file
0600 before SQLite opens it covers all three.

Only the names below are touched: the data folder is Pinbase's own, but a folder given by mistake
(``--data ~``) must not have its unrelated files changed.
"""

import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from pinbase.storage.engines import SQLITE_FILE

FOLDER_MODE = 0o700
FILE_MODE = 0o600

REPORTS = "reports"
"""DEV-08 report zips (``services.report_files``)."""
UPLOADS = "uploads"
"""DEV-13 device uploads, one sub-folder per device (``services.uploads``)."""
FIRMWARE = "firmware"
"""Blynk.Air firmware files, one per id (``services.firmware``)."""
EXPORTS = "legacy_exports"
"""LEG-10 history exports (``http.legacy_api.exports``)."""
DEMO = "demo.json"
"""The demo organization's credentials, written by ``pinbase demo``."""
VAPID_KEY = "vapid_private.pem"
"""The Web Push VAPID private key (P-256, PEM), made at first start (automations.md §5.3).
Browsers' subscriptions are bound to its public key: losing it ends every subscription."""

SQLITE_FILES = tuple(SQLITE_FILE + suffix for suffix in ("", "-wal", "-shm", "-journal"))
"""The database and the companions SQLite keeps beside it."""


def private_opener(path: str, flags: int) -> int:
    """An ``opener`` for ``open()`` that creates a missing file 0600 (umask can only narrow it)."""
    return os.open(path, flags, FILE_MODE)


def create_private_file(path: Path) -> BinaryIO:
    """A new file opened for binary writing, 0600.

    Raises:
        FileExistsError: ``path`` exists (names are random: a clash is a bug, never overwritten).
    """
    return open(path, "xb", opener=private_opener)


def read_or_create_secret(path: Path, make: Callable[[], bytes]) -> bytes:
    """The content of the private file ``path``, written first from ``make()`` when missing.

    Several processes starting together on one folder (``serve --workers N``, nodes sharing the
    data folder, issue #11) agree on one secret, and none reads a half-written one: the content
    is written and synced under a name of its own, then hard-linked to ``path``, which fails
    when ``path`` exists. The loser of that race reads the winner's file, complete by then.
    """
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes()
    content = make()
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
    try:
        with create_private_file(draft) as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(draft, path)
    except FileExistsError:
        return path.read_bytes()
    finally:
        draft.unlink(missing_ok=True)
    return content


def make_private_folder(path: Path) -> None:
    """Create ``path`` and each missing parent 0700 (``mkdir -p`` would give parents 0755)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)


def secure_data_folder(data_dir: Path, *, sqlite: bool) -> None:
    """Make the data folder private before anything opens it: create it 0700, take group and
    other bits off what an older Pinbase left readable, and create a missing SQLite database
    0600 so that SQLite's own files inherit that mode. Blocking: a walk of the file folders.
    """
    make_private_folder(data_dir)
    _tighten(data_dir, FOLDER_MODE)
    for name in (*SQLITE_FILES, DEMO, VAPID_KEY):
        _tighten(data_dir / name, FILE_MODE)
    for name in (REPORTS, UPLOADS, EXPORTS):
        for folder, _, files in os.walk(data_dir / name):
            _tighten(Path(folder), FOLDER_MODE)
            for file in files:
                _tighten(Path(folder, file), FILE_MODE)
    if sqlite:
        with contextlib.suppress(FileExistsError):
            os.close(
                private_opener(str(data_dir / SQLITE_FILE), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            )


def _tighten(path: Path, allowed: int) -> None:
    """Remove every mode bit of ``path`` outside ``allowed``; never add one, never follow a link."""
    try:
        found = path.lstat()
    except FileNotFoundError:
        return
    mode = stat.S_IMODE(found.st_mode)
    if mode & ~allowed and not stat.S_ISLNK(found.st_mode):
        path.chmod(mode & allowed)
