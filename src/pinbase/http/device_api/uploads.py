"""DEV-13: a device uploads a file (``POST /external/api/upload``, part ``upfile``), and the
public ``/device_uploads/{deviceId}/{name}`` route that serves it back.

Also home of what both file routes share (reports use them too): the base of public links and a
response streaming an already opened file.
"""

import asyncio
import os
from typing import BinaryIO

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from pinbase.domain.ids import DeviceId
from pinbase.http.device_api import messages
from pinbase.http.device_api.auth import authenticate
from pinbase.http.device_api.query import parse_query
from pinbase.http.responses import ApiError, text_response
from pinbase.services.container import Services
from pinbase.services.uploads import InvalidFileName, UploadLimitReached, UploadTooLarge
from pinbase.settings import Settings

UPLOAD_FIELD = "upfile"
"""The multipart part holding the file (blynk.cloud/device-https-api/upload-a-file.md)."""

MAX_FORM_PARTS = 16
"""Parts accepted in one upload form: one file is used, a few extra fields are tolerated."""

CHUNK_BYTES = 64 * 1024
MAX_ID_DIGITS = 9
"""Ids of nine digits or fewer fit a 32-bit database integer; longer ones name no device."""

MEDIA_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "ico": "image/x-icon",
    "svg": "image/svg+xml",
    "txt": "text/plain",
    "log": "text/plain",
    "csv": "text/csv",
    "json": "application/json",
    "xml": "application/xml",
    "html": "text/html",
    "pdf": "application/pdf",
    "zip": "application/zip",
    "gz": "application/gzip",
    "bin": "application/octet-stream",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "ogg": "audio/ogg",
    "mp4": "video/mp4",
    "webm": "video/webm",
}
"""A fixed table rather than ``mimetypes``, whose answers depend on the host's mime.types."""

UNTRUSTED_FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}
"""Uploaded bytes come from devices and share the API's origin: an uploaded HTML or SVG file
must not run scripts there, so it is served sandboxed and never content-sniffed."""


def public_base(request: Request, settings: Settings) -> str:
    """The base of links handed out: ``public_url`` when set, else the request's own origin."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


class OpenFileResponse(Response):
    """Streams a file that is already open, closing it at the end.

    Opening happens before the response starts, so a file removed in between (an upload
    evicted while it is being downloaded) is still sent whole rather than failing mid-way.
    """

    def __init__(
        self, handle: BinaryIO, *, media_type: str, headers: dict[str, str] | None = None
    ) -> None:
        # Content-Type is given as a header so Starlette adds no charset to text types: the
        # encoding of uploaded bytes is unknown.
        size = os.fstat(handle.fileno()).st_size
        fixed = {"content-type": media_type, "content-length": str(size)}
        super().__init__(headers={**(headers or {}), **fixed})
        self._handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the headers, then the file in chunks read off the event loop."""
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            if scope["method"] != "HEAD":
                while chunk := await asyncio.to_thread(self._handle.read, CHUNK_BYTES):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self._handle.close()


def parse_device_id(text: str) -> DeviceId | None:
    """A device id from a path segment: plain decimal digits that fit a database integer."""
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_ID_DIGITS:
        return None
    return DeviceId(int(text))


def _size(content: BinaryIO) -> int:
    content.seek(0, os.SEEK_END)
    size = content.tell()
    content.seek(0)
    return size


class UploadEndpoints:
    """Handlers of the upload endpoint and of the route serving uploaded files."""

    def __init__(self, services: Services, settings: Settings) -> None:
        self._services = services
        self._settings = settings

    async def upload(self, request: Request) -> Response:
        """Store the ``upfile`` part; answer its public URL as plain text."""
        query = parse_query(request)
        bound = await authenticate(self._services, query)
        uploads = self._services.uploads
        device_id = bound.device.id
        try:
            # Checked before the body is read, so a device over quota costs no parsing.
            await uploads.check_quota(device_id)
            async with request.form(max_files=MAX_FORM_PARTS, max_fields=MAX_FORM_PARTS) as form:
                part = form.get(UPLOAD_FIELD)
                if not isinstance(part, UploadFile) or not part.filename:
                    raise ApiError(messages.INCORRECT_PARAMETERS)
                size = part.size if part.size is not None else _size(part.file)
                name = await uploads.save(device_id, part.filename, part.file, size=size)
        except HTTPException:
            # Starlette's answer to a malformed multipart body.
            raise ApiError(messages.INCORRECT_PARAMETERS) from None
        except UploadLimitReached:
            raise ApiError(messages.UPLOADS_LIMIT, 403) from None
        except UploadTooLarge:
            message = messages.UPLOAD_TOO_LARGE.format(limit=uploads.max_bytes)
            raise ApiError(message) from None
        except InvalidFileName:
            raise ApiError(messages.INCORRECT_PARAMETERS) from None
        url = f"{public_base(request, self._settings)}/device_uploads/{device_id}/{name}"
        return text_response(url)

    async def download(self, request: Request) -> Response:
        """A kept upload with the content type of its extension; 404 for anything else."""
        device_id = parse_device_id(request.path_params["device_id"])
        name: str = request.path_params["name"]
        handle = None if device_id is None else await self._services.uploads.open(device_id, name)
        if handle is None:
            raise ApiError(messages.NOT_FOUND, 404)
        media_type = MEDIA_TYPES.get(name.rpartition(".")[2], "application/octet-stream")
        return OpenFileResponse(handle, media_type=media_type, headers=UNTRUSTED_FILE_HEADERS)
