"""Request size limit: 2 MB for headers plus body (blynk.console/limits.md), per path family.

Pure ASGI so it also guards chunked bodies that carry no Content-Length: the body is counted as
it streams and the request is refused as soon as the limit is passed.
"""

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pinbase.http.responses import error_response, text_response


class BodyTooLarge(Exception):
    """The streamed body passed the limit."""


class RequestSizeLimit:
    """Refuse requests whose body exceeds ``limit_for(path)`` bytes."""

    def __init__(self, app: ASGIApp, *, limit_for: Callable[[str], int]) -> None:
        self._app = app
        self._limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length first, then count the streamed body."""
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self._limit_for(path)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(path, limit, scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
            return message

        try:
            await self._app(scope, counting_receive, send)
        except BodyTooLarge:
            await _refuse(path, limit, scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(path: str, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    message = f"Request is too large. The maximum is {limit} bytes."
    legacy = is_legacy_path(path)
    response = text_response(message, 413) if legacy else error_response(message, 400)
    await response(scope, receive, send)


_MODERN_PREFIXES = ("/external/", "/api/", "/oauth2/")


def is_legacy_path(path: str) -> bool:
    """Whether a path belongs to the legacy token-in-path family (http-api.md §1.1)."""
    return path.count("/") >= 2 and not path.startswith(_MODERN_PREFIXES)
