"""Response builders with the content types of http-api.md OP-20."""

import orjson
from starlette.responses import Response

from pinbase.http.handlers import HandlerError

JSON = "application/json;charset=utf-8"
TEXT = "text/plain;charset=utf-8"


def json_response(data: object, status: int = 200) -> Response:
    """A JSON body."""
    return Response(orjson.dumps(data), status_code=status, media_type=JSON)


def text_response(body: str = "", status: int = 200) -> Response:
    """A plain-text body; empty by default, as most device API writes answer."""
    return Response(body, status_code=status, media_type=TEXT)


def error_response(message: str, status: int = 400) -> Response:
    """Blynk's error shape ``{"error":{"message":…}}`` (http-api.md §1.4)."""
    return json_response({"error": {"message": message}}, status)


class ApiError(HandlerError):
    """Raised by a handler to answer with Blynk's JSON error shape."""
