"""The console's Web Push endpoints (automations.md §5.3): the key a browser subscribes with,
and subscribing or unsubscribing the signed-in user's browser.

- ``GET /dashboard/api/push/key`` → ``{"publicKey": "<VAPID public key, base64url>"}``
- ``POST /dashboard/api/push/subscriptions`` with the browser's ``PushSubscription.toJSON()``
  (``{"endpoint", "keys": {"p256dh", "auth"}}``) → ``201 {"id": …}``
- ``DELETE /dashboard/api/push/subscriptions`` with ``{"endpoint"}`` → ``204``, or ``404`` when
  the signed-in user has no such subscription.

Every call needs a signed-in session (401 otherwise) and, for the two writes, the session's CSRF
secret in ``X-CSRF-Token`` (``session.ConsoleSessionMiddleware``). A subscription always belongs
to the user who made it: there is no user id in the request.
"""

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pinbase.http.console.session import console_session
from pinbase.http.paths import CONSOLE_API_PREFIX
from pinbase.http.responses import error_response, json_response
from pinbase.services.container import Services
from pinbase.services.reactions.push_subscriptions import InvalidSubscription
from pinbase.settings import Settings

PUSH_KEY_PATH = f"{CONSOLE_API_PREFIX}push/key"
PUSH_SUBSCRIPTIONS_PATH = f"{CONSOLE_API_PREFIX}push/subscriptions"
SIGN_IN = "Sign in to receive notifications"
BAD_BODY = "Send the browser's PushSubscription as JSON: {endpoint, keys: {p256dh, auth}}"


def push_routes(services: Services, settings: Settings) -> list[BaseRoute]:
    """The three push endpoints of the module docstring."""
    del settings  # every console route factory takes it
    subscriptions = services.push_subscriptions

    async def key(request: Request) -> Response:
        if await console_session(request) is None:
            return error_response(SIGN_IN, 401)
        return json_response({"publicKey": subscriptions.public_key})

    async def subscribe(request: Request) -> Response:
        session = await console_session(request)
        if session is None:
            return error_response(SIGN_IN, 401)
        body = await _json_object(request)
        keys = body.get("keys") if body else None
        if body is None or not isinstance(keys, dict):
            return error_response(BAD_BODY, 400)
        endpoint, p256dh, auth = body.get("endpoint"), keys.get("p256dh"), keys.get("auth")
        if not (isinstance(endpoint, str) and isinstance(p256dh, str) and isinstance(auth, str)):
            return error_response(BAD_BODY, 400)
        try:
            subscription_id = await subscriptions.subscribe(
                session.caller.user_id,
                endpoint=endpoint,
                p256dh=p256dh,
                auth=auth,
                user_agent=request.headers.get("user-agent"),
            )
        except InvalidSubscription as error:
            return error_response(str(error), 400)
        return json_response({"id": subscription_id}, 201)

    async def unsubscribe(request: Request) -> Response:
        session = await console_session(request)
        if session is None:
            return error_response(SIGN_IN, 401)
        body = await _json_object(request)
        endpoint = body.get("endpoint") if body else None
        if not isinstance(endpoint, str):
            return error_response("Send {endpoint} as JSON", 400)
        if not await subscriptions.unsubscribe(session.caller.user_id, endpoint):
            return error_response("This browser is not subscribed", 404)
        return Response(status_code=204)

    return [
        Route(PUSH_KEY_PATH, key, methods=["GET"]),
        Route(PUSH_SUBSCRIPTIONS_PATH, subscribe, methods=["POST"]),
        Route(PUSH_SUBSCRIPTIONS_PATH, unsubscribe, methods=["DELETE"]),
    ]


async def _json_object(request: Request) -> dict[str, Any] | None:
    """The request's JSON object, or None when the body is not one."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None
