"""Handlers, and the one wrapper that turns a family's errors into that family's answers.

Each API family raises its own subclass of ``HandlerError`` and answers it in its own format
(JSON for the device API, plain text for the legacy API); the catching is the same everywhere.
"""

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response

from pinbase.services.history_writer import StorageUnavailable
from pinbase.storage.availability import is_outage

Handler = Callable[[Request], Awaitable[Response]]
Answer = Callable[[str, int], Response]


class HandlerError(Exception):
    """Raised by a handler to answer ``message`` with ``status`` (and ``headers``, such as a 429's
    ``Retry-After``); caught by ``answering``."""

    def __init__(
        self, message: str, status: int = 400, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = headers


def answering(
    handler: Handler, *, errors: type[HandlerError], answer: Answer, storage_message: str
) -> Handler:
    """Wrap ``handler`` so its ``errors`` become ``answer(message, status)``.

    A failed group commit (``StorageUnavailable``) answers 503 with ``storage_message``: nothing
    was stored and the client should retry; so does a database that cannot be reached
    (``storage.availability.is_outage``), met by a read or a catalog write.
    """

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except errors as error:
            response = answer(error.message, error.status)
            if error.headers:
                response.headers.update(error.headers)
            return response
        except Exception as error:
            if not (isinstance(error, StorageUnavailable) or is_outage(error)):
                raise
            return answer(storage_message, 503)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint
