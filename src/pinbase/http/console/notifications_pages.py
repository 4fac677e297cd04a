"""The Notifications page (automations.md §5.3): this browser's Web Push switch and the
signed-in user's notifications (``services.reactions.inbox``), newest first, 50 a page with an
"Older" link (``?before=<id>``).

"Enable notifications on this device" (``static/notifications.js``) asks the browser for
permission, subscribes its ``PushManager`` with the server's VAPID key and posts the
subscription to ``push_api``; the same control turns them off again. Browsers without Web Push
(or pages not served over https, except on localhost) say so instead of offering the switch.
"""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pinbase.http.console.devices import sign_in_first
from pinbase.http.console.install import NOTIFICATIONS_PATH
from pinbase.http.console.pages import signed_in_page
from pinbase.http.console.push_api import PUSH_KEY_PATH, PUSH_SUBSCRIPTIONS_PATH
from pinbase.http.console.session import console_session
from pinbase.services.container import Services
from pinbase.settings import Settings

MAX_ID_DIGITS = 9
"""Log ids are 32-bit columns: nine digits always fit; a longer ``before`` is ignored."""


def notification_routes(services: Services, settings: Settings) -> list[BaseRoute]:
    """``/dashboard/notifications``."""
    del settings  # every console route factory takes it
    subscriptions = services.push_subscriptions

    async def page(request: Request) -> Response:
        session = await console_session(request)
        if session is None:
            return sign_in_first()
        caller = session.caller
        browsers = await subscriptions.subscriptions_of(caller.user_id)
        before = request.query_params.get("before", "")
        page = await services.inbox.page(
            caller.user_id,
            caller.scope,
            before=int(before) if before.isdigit() and len(before) <= MAX_ID_DIGITS else None,
        )
        context = {
            "entries": page.entries,
            "older": page.older,
            "paged": bool(before),
            "browsers": len(browsers),
            "push_key_url": PUSH_KEY_PATH,
            "push_subscriptions_url": PUSH_SUBSCRIPTIONS_PATH,
        }
        return signed_in_page(session, "notifications.html", context, section="notifications")

    return [Route(NOTIFICATIONS_PATH, page, methods=["GET"])]
