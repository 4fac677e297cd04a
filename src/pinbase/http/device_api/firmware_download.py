"""``GET /static/ota/<firmwareId>.<ext>?token=<downloadToken>``: the Blynk.Air download a device
fetches after the ``ota`` command (device-lifecycle.md §1.3, §1.7).

The token is the one sent to that device for that shipment, so every GET is attributed to one
device; an unknown token, another file's id or a cancelled shipment is ``404``. The answer is
``200`` with an exact ``Content-Length`` (never chunked, never compressed: ESP8266 firmware
requires the length and reads the body raw), ``x-md5`` (hex), ``x-sha256`` (base64) and the
``x-fw-*`` headers of the tag. The row moves to *New Firmware Requested* at the GET, and to
*Firmware Downloaded* once the last byte is handed to the connection, or to *Upload failure* when
the client went away before.

A single ``Range: bytes=…`` (§1.7: optional, for a device that resumes a broken download) is
answered ``206`` with ``Content-Range``; one past the end is ``416``; several ranges, or one that
does not parse, get the whole file (RFC 9110 §14.2 lets a server ignore them). A part that ends
at the file's end, written whole, completes the download.
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
_RANGE = re.compile(r"bytes=([0-9]{0,15})-([0-9]{0,15})")


class RangeNotSatisfiable(ValueError):
    """A well-formed byte range that starts past the end of the file."""


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The bytes ``[start, end)`` one ``Range`` header asks for, or None for the whole file
    (no header, several ranges, or one that does not parse).

    Raises:
        RangeNotSatisfiable: the range starts at or past ``size``, or asks for the last 0 bytes.
    """
    matched = _RANGE.fullmatch(header.strip()) if header else None
    if matched is None:
        return None
    first, last = matched.groups()
    if not first:
        if not last:
            return None
        if int(last) == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - int(last)), size
    start = int(first)
    end = size if not last else int(last) + 1
    if last and end <= start:
        return None
    if start >= size:
        raise RangeNotSatisfiable(header)
    return start, min(end, size)


class FirmwareResponse(Response):
    """Sends one firmware file and records how far the transfer went."""

    def __init__(
        self, shipments: Shipments, download: Download, part: tuple[int, int] | None = None
    ) -> None:
        firmware = download.firmware
        self._start, self._end = part or (0, firmware.size)
        headers = {
            "content-type": "application/octet-stream",
            "content-length": str(self._end - self._start),
            "accept-ranges": "bytes",
            "x-md5": firmware.md5,
            "x-sha256": firmware.sha256,
        }
        if part is not None:
            headers["content-range"] = f"bytes {self._start}-{self._end - 1}/{firmware.size}"
        tag = firmware.tag
        if tag is not None:
            for name, value in (
                ("x-fw-type", tag.fw_type),
                ("x-fw-ver", tag.version),
                ("x-fw-build", tag.build),
            ):
                if value is not None:
                    headers[name] = value
        super().__init__(headers=headers, status_code=206 if part is not None else 200)
        self._shipments = shipments
        self._download = download

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the file in chunks, then record the transfer (whole or broken off)."""
        start = {"type": "http.response.start", "status": self.status_code}
        if scope["method"] == "HEAD":
            await send({**start, "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        gone = asyncio.Event()

        async def watch() -> None:
            message: Message = {"type": ""}
            while message["type"] != "http.disconnect":
                message = await receive()
            gone.set()

        watcher = asyncio.get_running_loop().create_task(watch())
        size = self._end - self._start
        sent = 0
        try:
            await send({**start, "headers": self.raw_headers})
            path = self._shipments.firmware.path(self._download.firmware.id)
            handle = await asyncio.to_thread(path.open, "rb")
            try:
                handle.seek(self._start)
                while sent < size and not gone.is_set():
                    chunk = await asyncio.to_thread(handle.read, min(CHUNK_BYTES, size - sent))
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
            await self._shipments.end_download(
                self._download, sent=sent, start=self._start, end=self._end
            )


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
        size = found.firmware.size
        try:
            part = requested_range(request.headers.get("range"), size)
        except RangeNotSatisfiable:
            refused = error_response("Range not satisfiable.", 416)
            refused.headers["content-range"] = f"bytes */{size}"
            return refused
        return FirmwareResponse(self._services.shipments, found, part)
