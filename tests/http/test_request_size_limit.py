"""``RequestSizeLimit`` on ASGI messages, for framings a test client cannot produce: an HTTP/2
body without ``Content-Length``, a request carrying both headers, a body cut short."""

import json

from starlette.types import Message, Receive, Scope, Send

from pinbase.http.limits import RequestSizeLimit

LIMIT = 10


class Recorder:
    """An application that reads the whole body and answers 200; it notes what it read."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def call(
    path: str,
    headers: list[tuple[bytes, bytes]],
    chunks: list[bytes],
    *,
    version: str = "1.1",
    cut: bool = False,
) -> tuple[Recorder, list[Message]]:
    """Run one request through the limit; the recorder and the messages sent back.

    With ``cut`` the last chunk promises more, and a disconnect follows.
    """
    app = Recorder()
    limit = RequestSizeLimit(app, limit_for=lambda _path: LIMIT)
    scope = {"type": "http", "method": "POST", "path": path, "http_version": version}
    incoming: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": cut or n < len(chunks) - 1}
        for n, chunk in enumerate(chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await limit({**scope, "headers": headers}, receive, send)
    return app, sent


def status_and_body(sent: list[Message]) -> tuple[int, bytes]:
    """The status and the body of the answer."""
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def test_an_http2_body_without_a_length_is_counted() -> None:
    """Over HTTP/2 a body needs no header: it is read and refused past the limit."""
    app, sent = await call("/external/api/x", [], [b"12345", b"678901"], version="2")
    assert app.bodies == []
    status, body = status_and_body(sent)
    assert (status, json.loads(body)) == (
        400,
        {"error": {"message": "Request is too large. The maximum is 10 bytes."}},
    )


async def test_a_streamed_body_within_the_limit_reaches_the_app_whole() -> None:
    """Chunks read ahead are handed on as one body."""
    chunked = [(b"transfer-encoding", b"chunked")]
    app, sent = await call("/api/x", chunked, [b"12345", b"67890"])
    assert (app.bodies, status_and_body(sent)) == ([b"1234567890"], (200, b""))


async def test_transfer_encoding_wins_over_a_small_content_length() -> None:
    """A request sending both headers is counted, not trusted by its declared length."""
    both = [(b"content-length", b"2"), (b"transfer-encoding", b"chunked")]
    app, sent = await call("/token123/update/v1", both, [b"123456", b"789012"])
    assert app.bodies == []
    assert status_and_body(sent) == (413, b"Request is too large. The maximum is 10 bytes.")


async def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    """``Content-Length`` alone decides; the app never runs."""
    app, sent = await call("/oauth2/token", [(b"content-length", b"11")], [b"x" * 11])
    assert app.bodies == []
    status, body = status_and_body(sent)
    assert (status, json.loads(body)["error"]) == (400, "invalid_request")


async def test_a_body_cut_short_is_the_familys_400() -> None:
    """A stream that ends in a disconnect is answered, so the HTTP server adds no 500."""
    chunked = [(b"transfer-encoding", b"chunked")]
    app, sent = await call("/token123/update/v1", chunked, [b"12"], cut=True)
    assert app.bodies == []
    assert status_and_body(sent) == (400, b"Request body is malformed.")


async def test_a_bodiless_http1_request_passes_straight_through() -> None:
    """No ``Content-Length`` and no ``Transfer-Encoding`` over HTTP/1.1: no body to count."""
    app, sent = await call("/external/api/get", [(b"host", b"x")], [b""])
    assert (app.bodies, status_and_body(sent)) == ([b""], (200, b""))
