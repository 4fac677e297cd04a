"""Answers of the legacy API: plain-text errors, JSON successes, empty writes, all CORS-open.

The legacy server answered every request with ``Access-Control-Allow-Origin: *`` so browser
dashboards could call it directly (http-api.md §5.1); the builders here add it to every answer.
"""

from starlette.responses import RedirectResponse, Response

from pinbase.http.handlers import HandlerError
from pinbase.http.responses import JSON, TEXT, dump_json

CORS = {"Access-Control-Allow-Origin": "*"}


class LegacyError(HandlerError):
    """Raised by a handler to answer ``message`` as plain text."""


def text_reply(body: str = "", status: int = 200) -> Response:
    """Plain text; empty by default, the body of every successful write (§5.1)."""
    return Response(body, status_code=status, media_type=TEXT, headers=CORS)


def json_reply(data: object) -> Response:
    """A ``200`` JSON body."""
    return Response(dump_json(data), media_type=JSON, headers=CORS)


def redirect_reply(location: str) -> Response:
    """``301 Moved Permanently`` to a path on this host."""
    return RedirectResponse(location, status_code=301, headers=CORS)
