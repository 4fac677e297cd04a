"""The notification log for developers (automations.md §2.5, §5.4): every planner decision of
the caller's organization, queued, sent, failed or suppressed with its reason, newest first;
filtered by device and paged by row id (``?before=``).

Recipients show as masked addresses or user ids; bodies are the rendered push text, which never
holds a token. Devices and end users never see this page (Developer permission).
"""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pinbase.http.console.access import session_with
from pinbase.http.console.pages import signed_in_page
from pinbase.http.paths import CONSOLE_PATH
from pinbase.services.console_caller import Permission
from pinbase.services.console_sessions import ConsoleSession
from pinbase.services.container import Services
from pinbase.services.reactions.notifications import LOG_PAGE_SIZE

NOTIFICATION_LOG_PATH = f"{CONSOLE_PATH}/developer/notifications"
MAX_ID = 2**63 - 1


def notification_log_routes(services: Services) -> list[BaseRoute]:
    """``/dashboard/developer/notifications``."""

    async def page(request: Request) -> Response:
        session = await session_with(request, Permission.DEVELOPER)
        if not isinstance(session, ConsoleSession):
            return session
        org_id = session.caller.org_id
        device_id = _number(request.query_params.get("device"))
        before = _number(request.query_params.get("before"))
        rows = await services.notifications.log_page(
            org_id, device_id=device_id, before_id=before, limit=LOG_PAGE_SIZE
        )
        devices = [bound.device for bound in services.directory.devices_in([org_id])]
        context = {
            "rows": rows,
            "devices": devices,
            "device_names": {device.id: device.name for device in devices},
            "device_id": device_id,
            "older": rows[-1].id if len(rows) == LOG_PAGE_SIZE else None,
        }
        return signed_in_page(session, "notification_log.html", context, section="developer")

    return [Route(NOTIFICATION_LOG_PATH, page, methods=["GET"])]


def _number(text: str | None) -> int | None:
    """A positive id from the query; anything else is no filter."""
    if text is None or not text.isdigit() or not text.isascii():
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None
