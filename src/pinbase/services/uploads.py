"""Files devices upload (DEV-13): naming, storing, eviction and the daily quota.

Theory of operation. Bytes live in ``<root>/<deviceId>/<stored name>``, where the stored name is
32 random URL-safe characters plus the original extension, so the public URL cannot be guessed.
The database keeps one row per upload; eviction marks the row and deletes the bytes, and the row
keeps counting toward the daily quota. Rules (blynk.cloud/device-https-api/upload-a-file.md):

* a file of more than ``max_bytes`` is refused;
* uploading a file name the device already uploaded replaces the earlier file;
* at most ``kept_per_device`` files are kept, the oldest are evicted;
* at most ``per_day`` uploads per device per UTC day (http-api.md OP-28).

Uploads of one device run one at a time (a per-device lock), so the quota check, the new row and
the evictions cannot interleave with another upload of the same device; across the nodes of an
installation the recording transaction locks the device's row and counts again.
"""

import asyncio
import logging
import re
import secrets
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import DeviceId
from pinbase.services.clock import Clock, start_of_day
from pinbase.storage.base import Store
from pinbase.storage.data_folder import create_private_file, make_private_folder

logger = logging.getLogger(__name__)

NAME_BYTES = 24
"""24 random bytes are exactly 32 URL-safe Base64 characters, the shape of Blynk's links."""

STORED_NAME = re.compile(r"[A-Za-z0-9_-]{32}\.[a-z0-9]{1,10}")
"""The only file names the download route serves: nothing else can reach the file system."""

_EXTENSION = re.compile(r"[A-Za-z0-9]{1,10}")
DEFAULT_EXTENSION = "bin"
"""For original names without a usable extension, so every link keeps the ``name.ext`` shape."""

MAX_ORIGINAL_NAME_CHARS = 255
"""The width of the ``original_name`` column."""


class UploadRefused(PinbaseError):
    """An upload breaks a rule; the subclass says which."""


class UploadLimitReached(UploadRefused):
    """The device used its daily upload quota."""


class UploadTooLarge(UploadRefused):
    """The file is larger than the per-file limit."""


class InvalidFileName(UploadRefused):
    """The original file name is empty, too long or holds a NUL character."""


def stored_name_for(original_name: str) -> str:
    """A fresh random file name keeping the (lowercased) extension of ``original_name``."""
    _, dot, extension = original_name.rpartition(".")
    if not (dot and _EXTENSION.fullmatch(extension)):
        extension = DEFAULT_EXTENSION
    return f"{secrets.token_urlsafe(NAME_BYTES)}.{extension.lower()}"


class Uploads:
    """Stores device uploads and finds them again for download."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        root: Path,
        max_bytes: int,
        kept_per_device: int,
        per_day: int,
    ) -> None:
        self._store = store
        self._clock = clock
        self._root = root
        self._max_bytes = max_bytes
        self._kept = kept_per_device
        self._per_day = per_day
        self._locks: dict[DeviceId, tuple[asyncio.Lock, int]] = {}

    @property
    def max_bytes(self) -> int:
        """The largest file accepted, in bytes."""
        return self._max_bytes

    async def check_quota(self, device_id: DeviceId) -> None:
        """Refuse early, before a request body is read, when the daily quota is used up.

        Raises:
            UploadLimitReached: the device uploaded ``per_day`` files today.
        """
        async with self._store.transaction() as tx:
            used = await tx.count_device_files(device_id, since=start_of_day(self._clock()))
        if used >= self._per_day:
            raise UploadLimitReached(f"{used} uploads today")

    async def save(
        self, device_id: DeviceId, original_name: str, content: BinaryIO, *, size: int
    ) -> str:
        """Store an uploaded file and apply the replacement and eviction rules.

        Args:
            device_id: the uploading device.
            original_name: the file name the client sent; the same name replaces a kept file.
            content: the bytes, read from the current position.
            size: how many bytes ``content`` holds.

        Returns:
            The stored name, the last part of the file's public URL.

        Raises:
            InvalidFileName: the original name is empty, too long or holds NUL.
            UploadTooLarge: ``size`` exceeds the per-file limit.
            UploadLimitReached: the device used its daily quota.
        """
        if not original_name or len(original_name) > MAX_ORIGINAL_NAME_CHARS:
            raise InvalidFileName("the file name must be 1..255 characters")
        if "\0" in original_name:
            raise InvalidFileName("the file name holds NUL")
        if size > self._max_bytes:
            raise UploadTooLarge(f"{size} bytes")
        stored_name = stored_name_for(original_name)
        folder = self._root / str(device_id)
        async with self._device_lock(device_id):
            await self.check_quota(device_id)
            await asyncio.to_thread(_write_file, folder, stored_name, content)
            try:
                evicted = await self._record(device_id, original_name, stored_name)
            except BaseException:
                await asyncio.to_thread(_remove, folder / stored_name)
                raise
        for name in evicted:
            await asyncio.to_thread(_remove, folder / name)
        logger.info("uploads.saved device=%s evicted=%d", device_id, len(evicted))
        return stored_name

    async def open(self, device_id: DeviceId, stored_name: str) -> BinaryIO | None:
        """The kept file of that name, opened for reading, or None.

        The handle stays readable even if the file is evicted while it is being sent.
        """
        if not STORED_NAME.fullmatch(stored_name):
            return None
        async with self._store.transaction() as tx:
            kept = await tx.list_device_files(device_id)
        if not any(file.stored_name == stored_name for file in kept):
            return None
        return await asyncio.to_thread(_open, self._root / str(device_id) / stored_name)

    async def remove_device(self, device_id: DeviceId) -> None:
        """Delete every file the device uploaded (the device was deleted with its rows)."""
        await asyncio.to_thread(shutil.rmtree, self._root / str(device_id), ignore_errors=True)

    async def _record(self, device_id: DeviceId, original_name: str, stored_name: str) -> list[str]:
        """Add the row, evict replaced and surplus files; return the evicted stored names."""
        now = self._clock()
        async with self._store.transaction() as tx:
            # Counted again under the device's lock: another node may have recorded an upload of
            # the device since ``check_quota`` (this node's own uploads wait for ``_device_lock``).
            await tx.lock_device_files(device_id)
            used = await tx.count_device_files(device_id, since=start_of_day(now))
            if used >= self._per_day:
                raise UploadLimitReached(f"{used} uploads today")
            added = await tx.add_device_file(
                device_id, original_name=original_name, stored_name=stored_name, created_at=now
            )
            kept = await tx.list_device_files(device_id)
            replaced = [f for f in kept if f.original_name == original_name and f.id != added.id]
            remaining = [f for f in kept if f not in replaced]
            surplus = remaining[: max(0, len(remaining) - self._kept)]
            for file in (*replaced, *surplus):
                await tx.evict_device_file(file.id, ts=now)
        return [file.stored_name for file in (*replaced, *surplus)]

    @asynccontextmanager
    async def _device_lock(self, device_id: DeviceId) -> AsyncIterator[None]:
        """One lock per device with uploads in flight; forgotten when nobody holds or awaits it."""
        lock, users = self._locks.get(device_id, (asyncio.Lock(), 0))
        self._locks[device_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[device_id]
            if users == 1:
                del self._locks[device_id]
            else:
                self._locks[device_id] = (lock, users - 1)


def _write_file(folder: Path, name: str, content: BinaryIO) -> None:
    make_private_folder(folder)
    with create_private_file(folder / name) as target:
        shutil.copyfileobj(content, target)


def _remove(path: Path) -> None:
    with suppress(FileNotFoundError):
        path.unlink()


def _open(path: Path) -> BinaryIO | None:
    try:
        return path.open("rb")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
