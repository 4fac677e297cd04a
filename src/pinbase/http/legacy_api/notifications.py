"""LEG-08 ``notify`` and LEG-09 ``email``: accepted, validated and written to the server log.

Pinbase has no push-notification or mail transport yet, and a template has no notification or
e-mail widget whose absence the legacy server reported (``No notification widget.``,
``No email widget.``). Refusing every call with those messages would break the scripts this API
exists for, while a ``200`` keeps them running: so the body is checked exactly as the legacy
server checked it, and a valid message is logged for the operator instead of being delivered.
"""

import logging

from starlette.requests import Request
from starlette.responses import Response

from pinbase.http.legacy_api import messages
from pinbase.http.legacy_api.inputs import authenticate, json_body, parse_error
from pinbase.http.legacy_api.replies import LegacyError, text_reply
from pinbase.services.container import Services

logger = logging.getLogger(__name__)

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
        logger.info("legacy.notify_logged device_id=%d body=%r", bound.device.id, text)
        return text_reply()

    async def email(self, request: Request) -> Response:
        """``{"to": …, "subj": …, "title": …}``: ``to`` and ``subj`` must be non-empty."""
        body = await _text_fields(request, "to", "subj", "title")
        bound = await authenticate(self._services, request)
        if not body["to"] or not body["subj"]:
            raise LegacyError(messages.BAD_EMAIL)
        logger.info(
            "legacy.email_logged device_id=%d to=%r subject=%r",
            bound.device.id,
            body["to"],
            body["subj"],
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
