"""Response builders with the content types of http-api.md OP-20."""

import logging

import orjson
from starlette.requests import Request
from starlette.responses import Response

from pinbase.domain.values import NumberText
from pinbase.http.device_api.messages import STORAGE_UNAVAILABLE
from pinbase.http.handlers import HandlerError
from pinbase.storage.availability import is_outage

JSON = "application/json;charset=utf-8"
TEXT = "text/plain;charset=utf-8"
INTERNAL_ERROR = "Internal server error"

logger = logging.getLogger(__name__)


def dump_json(data: object) -> bytes:
    """JSON bytes of an answer; a ``NumberText`` goes in as its number literal, digit for digit."""
    return orjson.dumps(data, default=_number_literal)


def _number_literal(value: object) -> orjson.Fragment:
    if isinstance(value, NumberText):
        return orjson.Fragment(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_response(data: object, status: int = 200) -> Response:
    """A JSON body."""
    return Response(dump_json(data), status_code=status, media_type=JSON)


def text_response(body: str = "", status: int = 200) -> Response:
    """A plain-text body; empty by default, as most device API writes answer."""
    return Response(body, status_code=status, media_type=TEXT)


def error_response(message: str, status: int = 400) -> Response:
    """Blynk's error shape ``{"error":{"message":…}}`` (http-api.md §1.4)."""
    return json_response({"error": {"message": message}}, status)


async def server_error(request: Request, exc: Exception) -> Response:
    """The answer to an exception no handler expected: a bug, so it is logged with its traceback
    here (the HTTP server's own logging is off for speed and would drop it) and answered in
    Blynk's error shape rather than as bare text. A database that cannot be reached is no bug:
    503, try again (``storage_unavailable``)."""
    if is_outage(exc):
        log_outage(request, exc)
        return error_response(STORAGE_UNAVAILABLE, 503)
    logger.error("http.unhandled method=%s path=%s", request.method, request.url.path, exc_info=exc)
    return error_response(INTERNAL_ERROR, 500)


def log_outage(request: Request, exc: BaseException) -> None:
    """Log a request that met a database it cannot reach, once and without a traceback:
    PostgreSQL stopped or restarting is an operator's matter, and every read of the outage would
    otherwise log the same page of driver frames."""
    logger.warning(
        "http.storage_unavailable method=%s path=%s error=%s",
        request.method,
        request.url.path,
        type(exc).__name__,
    )


class ApiError(HandlerError):
    """Raised by a handler to answer with Blynk's JSON error shape."""
