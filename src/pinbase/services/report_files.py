"""The zip files of DEV-08 reports: their names, writing, opening and expiry.

Theory of operation. A file's name carries the UTC second it was made in, so its age is read from
the name with the service clock, never from the file system: a download of an expired link is
refused before the disk is touched, and the sweep deletes exactly the names the downloads refuse.
The stamp drops the milliseconds, so a file counts as made at the end of its second and lives at
least the whole TTL (Blynk: "report files expire after 45 days", data-model.md §2.7).
"""

import re
import secrets
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from pinbase.domain.ids import DeviceId
from pinbase.storage.data_folder import create_private_file, make_private_folder

REPORT_NAME = re.compile(
    r"device_data_([0-9]{1,10})_([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2})"
    r"_([A-Za-z0-9_-]{22})\.zip"
)
"""``device_data_{deviceId}_{yyyy-MM-dd'T'HH-mm-ss}_{secret}.zip``: the only names served.

Blynk's names (``device_data_2592_2021-04-13T02-27-11.zip``) are guessable from a device id and a
second, and downloads carry no token; the 22-character random suffix (128 bits) makes the link
itself the credential. Clients follow the link and never build it, so the suffix is invisible to
them (docs/decisions.md)."""

SECRET_BYTES = 16
STAMP_FORMAT = "%Y-%m-%dT%H-%M-%S"
SECOND_MS = 1000


def expires_at(name: str, ttl_ms: int) -> int | None:
    """When the report file ``name`` expires (epoch ms); None for a name that is not one."""
    match = REPORT_NAME.fullmatch(name)
    if match is None:
        return None
    try:
        made = datetime.strptime(match[2], STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:  # the shape of a stamp, not a date (month 13): no file of ours
        return None
    return int(made.timestamp()) * SECOND_MS + SECOND_MS + ttl_ms


def write_zip(folder: Path, device_id: DeviceId, now: int, csv_text: str) -> str:
    """Write ``csv_text`` zipped under a fresh name; return the name. Blocking: run in a thread."""
    make_private_folder(folder)
    stamp = datetime.fromtimestamp(now // SECOND_MS, UTC).strftime(STAMP_FORMAT)
    name = f"device_data_{device_id}_{stamp}_{secrets.token_urlsafe(SECRET_BYTES)}.zip"
    try:
        with (
            create_private_file(folder / name) as handle,
            zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive,
        ):
            archive.writestr(name.removesuffix(".zip") + ".csv", csv_text)
    except BaseException:
        (folder / name).unlink(missing_ok=True)
        raise
    return name


def open_file(path: Path) -> BinaryIO | None:
    """``path`` opened for reading, or None when there is no such file. Blocking."""
    try:
        return path.open("rb")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def delete_expired(folder: Path, *, now: int, ttl_ms: int) -> int:
    """Delete the report files of ``folder`` expired at ``now``; return how many. Blocking.

    Other names are left alone: nothing but ``write_zip`` made them.
    """
    if not folder.is_dir():
        return 0
    deleted = 0
    for path in folder.iterdir():
        expiry = expires_at(path.name, ttl_ms)
        if expiry is not None and expiry <= now:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted
