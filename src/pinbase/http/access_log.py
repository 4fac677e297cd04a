"""The access log: one INFO line per HTTP request, when ``access_log`` is on.

It wraps the application only when turned on, so the device hot path pays nothing otherwise.
A line never holds a secret: the query string is left out (device API tokens travel there), the
first segment of a legacy path is the device token (``/{token}/update/v1``) and is replaced, and
so is any segment long enough to be a download link's random name (exports, uploads).
"""

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pinbase.http.paths import MODERN_PREFIXES

logger = logging.getLogger(__name__)

REDACTED = "***"
PUBLIC_ROOTS = frozenset({"", "healthz", "docs", "openapi.json", "device_uploads", "static"})
"""First path segments that are pages or link prefixes, never a legacy device token."""
SECRET_SEGMENT = re.compile(r"[^/]{32,}")
"""A segment as long as a generated token or a download link's random part (32 characters)."""


def loggable_path(path: str) -> str:
    """``path`` with the parts that can be secrets replaced by ``***``."""
    if path.startswith(MODERN_PREFIXES):
        return path
    first, slash, rest = path[1:].partition("/")
    shown = first if first in PUBLIC_ROOTS else REDACTED
    return SECRET_SEGMENT.sub(REDACTED, f"/{shown}{slash}{rest}")


class AccessLog:
    """ASGI middleware logging ``http.request method path status duration_ms`` per request."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request and log it once the application is done with it."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = "-"

        async def noting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, noting_send)
        finally:
            logger.info(
                "http.request method=%s path=%s status=%s duration_ms=%.1f",
                scope["method"],
                loggable_path(scope["path"]),
                status,
                (time.perf_counter() - started) * 1000,
            )
