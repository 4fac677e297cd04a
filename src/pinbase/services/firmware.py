"""The Blynk.Air firmware store: uploaded firmware files, their digests and the firmware info
tag read from them (device-lifecycle.md §1.2, §1.7 "Firmware store").

The bytes live in ``<data>/firmware/<id>``; the row keeps the original name, size, MD5 (hex, the
``x-md5`` header), SHA-256 (base64, ``x-sha256``) and the ``blnkinf`` pairs. The row is inserted
and the file written in one transaction: a file that cannot be written leaves no row.
"""

import asyncio
import base64
import hashlib
import logging
from pathlib import Path

from pinbase.domain.errors import PinbaseError
from pinbase.domain.firmware_tags import find_tag
from pinbase.domain.shipments import Firmware, check_filename
from pinbase.services.clock import Clock
from pinbase.services.directory import Directory
from pinbase.services.scope import Scoped, organization_in_scope
from pinbase.storage.base import Store
from pinbase.storage.data_folder import create_private_file, make_private_folder

logger = logging.getLogger(__name__)


class FirmwareNotFound(PinbaseError):
    """No such firmware in the caller's scope; ``args[0]`` is the id asked for."""


class FirmwareRefused(PinbaseError):
    """An upload breaks a rule (empty, too large, bad file name); ``args[0]`` says which."""


class FirmwareStore:
    """Stores firmware uploads and finds them again."""

    def __init__(
        self, store: Store, directory: Directory, clock: Clock, *, root: Path, max_bytes: int
    ) -> None:
        """``root``: the folder of the files; ``max_bytes``: the largest file accepted."""
        self._store = store
        self._directory = directory
        self._clock = clock
        self.root = root
        self.max_bytes = max_bytes

    async def upload(
        self, caller: Scoped, *, filename: str, data: bytes, org_id: int | None = None
    ) -> Firmware:
        """Keep a firmware file for ``org_id`` (the caller's own by default).

        Raises:
            FirmwareRefused: empty, larger than ``max_bytes``, or a bad file name.
            OrganizationOutOfScope: ``org_id`` is not within the caller's scope.
        """
        owner = organization_in_scope(self._directory, caller, org_id)
        try:
            name = check_filename(filename)
        except ValueError as error:
            raise FirmwareRefused(str(error)) from None
        if not data:
            raise FirmwareRefused("the firmware file is empty")
        if len(data) > self.max_bytes:
            raise FirmwareRefused(f"the firmware file is larger than {self.max_bytes} bytes")
        md5, sha256 = await asyncio.to_thread(_digests, data)
        tag = find_tag(data)
        async with self._store.transaction() as tx:
            firmware = await tx.add_firmware(
                owner,
                filename=name,
                size=len(data),
                md5=md5,
                sha256=sha256,
                tag=tag,
                uploaded_at=self._clock(),
            )
            await asyncio.to_thread(self._write, firmware.id, data)
        logger.info(
            "firmware.uploaded firmware_id=%d org_id=%d size=%d tagged=%s",
            firmware.id,
            owner,
            firmware.size,
            tag is not None,
        )
        return firmware

    async def listing(self, caller: Scoped) -> list[Firmware]:
        """The firmware files of the caller's own organization, newest first."""
        async with self._store.transaction() as tx:
            return await tx.list_firmware(caller.org_id)

    async def get(self, caller: Scoped, firmware_id: int) -> Firmware:
        """One firmware file of the caller's scope.

        Raises:
            FirmwareNotFound: missing or outside the caller's scope.
        """
        async with self._store.transaction() as tx:
            firmware = await tx.get_firmware(firmware_id)
        if firmware is None or not caller.can_see(firmware.org_id):
            raise FirmwareNotFound(firmware_id)
        return firmware

    async def find(self, firmware_id: int) -> Firmware | None:
        """A firmware file by id, whoever owns it (the download route checks its token)."""
        async with self._store.transaction() as tx:
            return await tx.get_firmware(firmware_id)

    async def delete(self, caller: Scoped, firmware_id: int) -> None:
        """Delete a firmware file no shipment ships, its bytes with it.

        A shipment keeps its file for as long as it exists (its report and its devices'
        statuses name it), so the shipments go first, as in Blynk.Air; a download already under
        way finishes from the open file.

        Raises:
            FirmwareNotFound: missing or outside the caller's scope.
            FirmwareRefused: a shipment ships it.
        """
        firmware = await self.get(caller, firmware_id)
        async with self._store.transaction() as tx:
            shipments = await tx.shipments_of_firmware(firmware.id)
            if shipments:
                others = f" and {len(shipments) - 1} more" if len(shipments) > 1 else ""
                raise FirmwareRefused(
                    f"The firmware file is shipped by {shipments[0]!r}{others}: "
                    "delete the shipments first."
                )
            await tx.delete_firmware(firmware.id)
        await asyncio.to_thread(self.path(firmware.id).unlink, missing_ok=True)
        logger.info("firmware.deleted firmware_id=%d org_id=%d", firmware.id, firmware.org_id)

    def path(self, firmware_id: int) -> Path:
        """Where the bytes of a firmware file are."""
        return self.root / str(firmware_id)

    def _write(self, firmware_id: int, data: bytes) -> None:
        make_private_folder(self.root)
        # A rolled-back upload may have left a file under an id the database hands out again.
        self.path(firmware_id).unlink(missing_ok=True)
        with create_private_file(self.path(firmware_id)) as handle:
            handle.write(data)


def _digests(data: bytes) -> tuple[str, str]:
    """The ``x-md5`` (lower-case hex) and ``x-sha256`` (base64) values of a file."""
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    sha256 = base64.b64encode(hashlib.sha256(data).digest()).decode()
    return md5, sha256
