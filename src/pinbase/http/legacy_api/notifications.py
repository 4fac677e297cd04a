"""LEG-08 ``notify`` and LEG-09 ``email``: validated as the legacy server did, then sent through
the notification planner (``services.reactions.legacy_messages``): a push to the device's owner,
an e-mail to the given address.

A template has no notification or e-mail widget whose absence the legacy server reported
(``No notification widget.``, ``No email widget.``); refusing every call with those messages
would break the scripts this API exists for. A message the planner suppresses (the 5 s rule, no
recipient) is still answered ``200``, as the device cannot act on it; the notification log says.
"""

from starlette.requests import Request
from starlette.responses import Response

from pinbase.http.legacy_api import messages
from pinbase.http.legacy_api.inputs import authenticate, json_body, parse_error
from pinbase.http.legacy_api.replies import LegacyError, text_reply
from pinbase.services.container import Services

MAX_NOTIFICATION_CHARS = 255
"""The legacy server's push body limit, counted in UTF-16 units as Java counts a String."""


class NotificationEndpoints:
    """Handlers of the notification and e-mail endpoints."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def notify(self, request: Request) -> Response:
        """``{"body": "text"}``: 1..255 characters, else ``Body is empty or larger…``."""
        body = await _text_fields(request, "body")
        bound = await authenticate(self._services, request)
        text = body["body"]
        if not text or len(text.encode("utf-16-le")) // 2 > MAX_NOTIFICATION_CHARS:
            raise LegacyError(messages.BAD_NOTIFICATION_BODY)
        await self._services.legacy_messages.notify(bound.device, text)
        return text_reply()

    async def email(self, request: Request) -> Response:
        """``{"to": …, "subj": …, "title": …}``: ``to`` and ``subj`` must be non-empty."""
        body = await _text_fields(request, "to", "subj", "title")
        bound = await authenticate(self._services, request)
        if not body["to"] or not body["subj"]:
            raise LegacyError(messages.BAD_EMAIL)
        await self._services.legacy_messages.email(
            bound.device, to=body["to"], subject=body["subj"], body=body["title"] or ""
        )
        return text_reply()


async def _text_fields(request: Request, *names: str) -> dict[str, str | None]:
    """The named fields of a JSON object body, read as the legacy server's JSON reader did.

    ``null`` counts as an empty object, a missing field as ``None``, numbers and booleans as
    their text; any other shape is ``Error parsing body param. {body}``.
    """
    body = await json_body(request)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise parse_error(await request.body())
    fields: dict[str, str | None] = {}
    for name in names:
        value = body.get(name)
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        elif value is not None and not isinstance(value, str):
            raise parse_error(await request.body())
        fields[name] = value
    return fields
