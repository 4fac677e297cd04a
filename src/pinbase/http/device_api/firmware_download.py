"""``GET /static/ota/<firmwareId>.<ext>?token=<downloadToken>``: the Blynk.Air download a device
fetches after the ``ota`` command (device-lifecycle.md §1.3, §1.7).

The token is the one sent to that device for that shipment, so every GET is attributed to one
device; an unknown token, another file's id or a cancelled shipment is ``404``. The answer is
``200`` with an exact ``Content-Length`` (never chunked, never compressed: ESP8266 firmware
requires the length and reads the body raw), ``x-md5`` (hex), ``x-sha256`` (base64) and the
``x-fw-*`` headers of the tag. The row moves to *New Firmware Requested* at the GET, and to
*Firmware Downloaded* once the last byte is handed to the connection, or to *Upload failure* when
the client went away before.
"""

import asyncio
import contextlib
import logging
import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from pinbase.http.responses import error_response
from pinbase.services.container import Services
from pinbase.services.shipments import Download, Shipments

logger = logging.getLogger(__name__)

NOT_FOUND = "File not found."
CHUNK_BYTES = 64 * 1024
"""Bytes read and written at a time: a few per firmware file, small enough not to hold the loop."""
_NAME = re.compile(r"([0-9]{1,9})\.[A-Za-z0-9.]{1,10}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


class FirmwareResponse(Response):
    """Sends one firmware file and records how far the transfer went."""

    def __init__(self, shipments: Shipments, download: Download) -> None:
        firmware = download.firmware
        headers = {
            "content-type": "application/octet-stream",
            "content-length": str(firmware.size),
            "x-md5": firmware.md5,
            "x-sha256": firmware.sha256,
        }
        tag = firmware.tag
        if tag is not None:
            for name, value in (
                ("x-fw-type", tag.fw_type),
                ("x-fw-ver", tag.version),
                ("x-fw-build", tag.build),
            ):
                if value is not None:
                    headers[name] = value
        super().__init__(headers=headers)
        self._shipments = shipments
        self._download = download

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the file in chunks, then record the transfer (whole or broken off)."""
        if scope["method"] == "HEAD":
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        gone = asyncio.Event()

        async def watch() -> None:
            message: Message = {"type": ""}
            while message["type"] != "http.disconnect":
                message = await receive()
            gone.set()

        watcher = asyncio.get_running_loop().create_task(watch())
        size = self._download.firmware.size
        sent = 0
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            path = self._shipments.firmware.path(self._download.firmware.id)
            handle = await asyncio.to_thread(path.open, "rb")
            try:
                while sent < size and not gone.is_set():
                    chunk = await asyncio.to_thread(handle.read, CHUNK_BYTES)
                    if not chunk:
                        break
                    await send(
                        {
                            "type": "http.response.body",
                            "body": chunk,
                            "more_body": sent + len(chunk) < size,
                        }
                    )
                    if gone.is_set():
                        break
                    sent += len(chunk)
            finally:
                handle.close()
        except (OSError, RuntimeError) as error:
            logger.info("ota.download_broken error=%s", type(error).__name__)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self._shipments.end_download(self._download, sent=sent)


class FirmwareDownloads:
    """The handler of the OTA download route."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def download(self, request: Request) -> Response:
        """The firmware file of ``<firmwareId>.<ext>`` for the device holding ``token``."""
        matched = _NAME.fullmatch(request.path_params["name"])
        token = request.query_params.get("token", "")
        if matched is None or not _TOKEN.fullmatch(token):
            return error_response(NOT_FOUND, 404)
        found = await self._services.shipments.begin_download(
            int(matched.group(1)), token, mark=request.method != "HEAD"
        )
        if found is None:
            return error_response(NOT_FOUND, 404)
        return FirmwareResponse(self._services.shipments, found)
