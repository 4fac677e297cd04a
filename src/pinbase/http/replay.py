"""Handing a request body on after a middleware has read it (ASGI bodies can be read once)."""

from starlette.types import Message, Receive


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands out ``body`` in one message, then defers to ``receive``: a
    middleware that read the body hands it on to the app (the size rule, the console's CSRF
    check)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
