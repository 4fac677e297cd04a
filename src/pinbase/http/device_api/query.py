"""Query-string parsing shared by every device endpoint.

The device API keeps parameter order and repetition: a bare key (``&v1``) is a pin to read, a
repeated key (``&v7=lon&v7=lat``) is a multi-value write.
"""

from urllib.parse import parse_qsl

from starlette.requests import Request

from pinbase.domain.ids import Token
from pinbase.http.device_api import messages
from pinbase.http.responses import ApiError

MAX_QUERY_FIELDS = 1024
"""More parameters than any valid request needs (3 pin kinds x 256 pins, plus a few)."""


class DeviceQuery:
    """The parsed query string: the token, then every other parameter in order."""

    __slots__ = ("params", "token")

    def __init__(self, token: Token, params: dict[str, list[str]]) -> None:
        self.token = token
        self.params = params

    def first(self, name: str) -> str | None:
        """The first value of ``name``, or None when absent."""
        values = self.params.get(name)
        return values[0] if values else None

    def without(self, *names: str) -> dict[str, list[str]]:
        """The parameters other than ``names``, in order."""
        return {key: values for key, values in self.params.items() if key not in names}


def parse_query(request: Request) -> DeviceQuery:
    """Split off the token and group the remaining parameters by name.

    Raises:
        ApiError: ``No token provided.`` (http-api.md OP-18) or, for an unparsable query string,
            ``Request with incorrect parameters``.
    """
    raw = request.scope["query_string"].decode("latin-1")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
    except ValueError:
        raise ApiError(messages.INCORRECT_PARAMETERS) from None
    params: dict[str, list[str]] = {}
    for key, value in pairs:
        params.setdefault(key, []).append(value)
    tokens = params.pop("token", None)
    if not tokens or not tokens[0]:
        raise ApiError(messages.NO_TOKEN)
    return DeviceQuery(Token(tokens[0]), params)


def parse_int(text: str | None, message: str) -> int:
    """A non-negative decimal integer id, or an ``ApiError`` with ``message``."""
    if text is None or not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise ApiError(message)
    return int(text)
