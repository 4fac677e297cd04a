"""What a legacy request carries: the token and pin in its path, a query string, a JSON body.

Each reader raises ``LegacyError`` with the legacy message for its failure, so handlers read as
the legacy server's check order (http-api.md §5).
"""

from urllib.parse import unquote_plus

import orjson
from starlette.requests import Request

from pinbase.domain.datastreams import Datastream
from pinbase.domain.errors import InvalidPin, UnknownDatastream
from pinbase.domain.ids import Token
from pinbase.domain.pins import Pin, parse_pin
from pinbase.domain.templates import Template
from pinbase.http.legacy_api import messages
from pinbase.http.legacy_api.replies import LegacyError
from pinbase.services.container import Services
from pinbase.services.directory import BoundDevice

MAX_QUERY_FIELDS = 256
"""More parameters than any legacy request needs (a multi-value write repeats ``value`` a few
times; property mode names one or two properties)."""

Query = dict[str, list[str | None]]
"""Parameters by name in order; ``None`` for a name given without ``=`` (``?label``)."""


async def authenticate(services: Services, request: Request) -> BoundDevice:
    """The device owning the token of the path, or ``Invalid token.``; then charged one request
    of its per-second allowance, past which ``429 Too Many Requests`` with ``Retry-After``
    (http-api.md §1.11, the same limiter as the device API)."""
    bound = await services.directory.by_token(Token(request.path_params["token"]))
    if bound is None:
        raise LegacyError(messages.INVALID_TOKEN)
    retry_after = services.device_limiter.hit(bound.device.id)
    if retry_after:
        raise LegacyError(
            messages.TOO_MANY_REQUESTS, 429, headers={"Retry-After": str(retry_after)}
        )
    return bound


def pin_of(request: Request) -> Pin:
    """The pin of the path (``v1``, ``D13``, ``a0``; 0..255), or ``Wrong pin format.``."""
    try:
        return parse_pin(request.path_params["pin"])
    except InvalidPin:
        raise LegacyError(messages.WRONG_PIN) from None


def datastream_on(
    template: Template, pin: Pin, *, missing: str = messages.NO_PIN_IN_APP
) -> Datastream:
    """The datastream on ``pin``; a pin without one is a pin the legacy "app" lacks (§5.1)."""
    try:
        return template.datastream_at(pin)
    except UnknownDatastream:
        raise LegacyError(missing) from None


def query_of(request: Request) -> Query:
    """The query string by name, keeping a bare ``?name`` apart from ``?name=``.

    The legacy server tells the two apart in property mode: a property named without a value
    is ``No properties for update provided.``, an empty value is a value.
    """
    raw = request.scope["query_string"].decode("latin-1")
    parts = [part for part in raw.split("&") if part]
    if len(parts) > MAX_QUERY_FIELDS:
        raise LegacyError(messages.WRONG_REQUEST_FORMAT)
    query: Query = {}
    for part in parts:
        name, equals, value = part.partition("=")
        query.setdefault(unquote_plus(name), []).append(unquote_plus(value) if equals else None)
    return query


async def json_body(request: Request) -> object:
    """The parsed JSON body.

    The legacy server checked these before its handlers ran, so they come before the token check.
    It answered both with ``500``; Pinbase answers ``400`` since no input may cause a 5xx
    (docs/decisions.md, "No 5xx on any input").

    Raises:
        LegacyError: ``Unexpected content type…`` unless the media type is ``application/json``;
            ``Error parsing body param. {body}`` (the raw body echoed) when it is not JSON.
    """
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise LegacyError(messages.UNEXPECTED_CONTENT_TYPE)
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise parse_error(raw) from None


def parse_error(raw: bytes) -> LegacyError:
    """``Error parsing body param. {body}``, also for JSON of the wrong shape."""
    return LegacyError(messages.PARSE_ERROR.format(body=raw.decode("utf-8", "replace")))
