"""The request-size rule: one limit per path, for every API family, answered before any route runs.

Theory of operation. A body arrives either with a ``Content-Length`` or streamed (HTTP/1.1
``Transfer-Encoding: chunked``, or an HTTP/2 body without a declared length). A declared length
is checked against the header alone: the HTTP server then delivers exactly that many bytes, so
the device API's hot path pays one scan of the headers and nothing more. A streamed body is read
whole (up to the limit) before the application sees the request, and handed on from memory: a
handler never meets a body that grows past the limit halfway, and the refusal is always the
first and only answer (a refusal raised inside a handler came after the Platform application's
own error handling had started a 500).

Each family answers in its own format (docs/decisions.md "Requests over 2 MB"): the device and
Platform APIs Blynk's JSON error shape with status 400, OAuth an RFC 6749 ``invalid_request``
(AUTH-01 errors are always 400), the legacy API ``413`` in plain text, the web console ``413``
as an HTML page (its JSON endpoints: ``413`` in the JSON error shape).
"""

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from pinbase.http.console.app import refusal as console_refusal
from pinbase.http.oauth import token_error
from pinbase.http.paths import Family, family_of
from pinbase.http.replay import replay_body
from pinbase.http.responses import error_response, text_response

TOO_LARGE = "Request is too large. The maximum is {limit} bytes."
UNREADABLE = "Request body is malformed."
"""A streamed body that broke off: answered (with 400 in every family) even though the client
may be gone, because an application that answers nothing gets a 500 from the HTTP server."""

_BODYLESS_VERSIONS = ("1.0", "1.1")
"""HTTP versions in which a request with neither ``Content-Length`` nor ``Transfer-Encoding``
has no body (RFC 9112 §6.3); over HTTP/2 it may still carry one."""


class RequestSizeLimit:
    """Refuse requests whose body exceeds ``limit_for(path)`` bytes, however it is framed."""

    def __init__(self, app: ASGIApp, *, limit_for: Callable[[str], int]) -> None:
        self._app = app
        self._limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, or read a streamed body whole, then call the app."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared, streamed = _framing(scope["headers"])
        if not streamed and declared is None and scope["http_version"] in _BODYLESS_VERSIONS:
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self._limit_for(path)
        if not streamed and declared is not None:
            if declared > limit:
                await _too_large(path, limit)(scope, receive, send)
            else:
                await self._app(scope, receive, send)
            return
        try:
            body = await _read_body(receive, limit)
        except _BodyBroken:
            await _refusal(path, UNREADABLE)(scope, receive, send)
            return
        if body is None:
            await _too_large(path, limit)(scope, receive, send)
        else:
            await self._app(scope, replay_body(body, receive), send)


def _too_large(path: str, limit: int) -> Response:
    """The answer to a request over ``limit`` bytes, in the format of the family of ``path``."""
    return _refusal(path, TOO_LARGE.format(limit=limit), legacy_status=413)


def _refusal(path: str, message: str, *, legacy_status: int = 400) -> Response:
    family = family_of(path)
    if family is Family.LEGACY:
        response = text_response(message, legacy_status)
    elif family in (Family.CONSOLE, Family.CONSOLE_API):
        response = console_refusal(path, message, legacy_status)
    elif family is Family.OAUTH:
        response = token_error("invalid_request", message)
    else:
        response = error_response(message, 400)
    # The rest of the body is never read, so the connection cannot carry another request.
    response.headers["Connection"] = "close"
    return response


def _framing(headers: list[tuple[bytes, bytes]]) -> tuple[int | None, bool]:
    """``(Content-Length, whether the body is streamed)`` from the raw request headers.

    An unreadable ``Content-Length`` counts as none: the body is then read and counted.
    ``Transfer-Encoding`` wins over ``Content-Length`` (RFC 9112 §6.3), so a request that sends
    both is counted, never trusted by its declared length.
    """
    declared = None
    streamed = False
    for name, value in headers:
        if name == b"content-length":
            declared = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding":
            streamed = True
    return declared, streamed


class _BodyBroken(Exception):
    """The body ended early: the client disconnected, or its chunked framing is malformed (the
    HTTP server reports both as a disconnect)."""


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes ``limit``.

    Raises:
        _BodyBroken: the body ended before its end.
    """
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _BodyBroken
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
