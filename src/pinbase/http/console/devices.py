"""The Devices page (the console's landing page, console.md §1.3) and the device page.

Search and the status filter run on the server from the query string, so the page works without
scripts. The device page shows its tab list and the chosen tab's own template,
``device_tab_<key>.html``: the Dashboard tab's layout comes from ``dashboard_view``, its
values from the live socket (static/dashboard.js); every other tab's content from
``device_tab_pages``.
"""

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pinbase.http.console.dashboard_view import dashboard_json
from pinbase.http.console.device_tab_pages import device_tab_context
from pinbase.http.console.pages import error_page, signed_in_page
from pinbase.http.console.session import console_session
from pinbase.http.console.sign_in import LOGIN_PATH
from pinbase.http.paths import CONSOLE_PATH
from pinbase.services.console_devices import StatusFilter
from pinbase.services.container import Services
from pinbase.services.scope import DeviceNotFound
from pinbase.settings import Settings

DEVICES_PATH = f"{CONSOLE_PATH}/devices"
STATUSES = (
    (StatusFilter.ANY.value, "All"),
    (StatusFilter.ONLINE.value, "Online"),
    (StatusFilter.OFFLINE.value, "Offline"),
)
TABS = (
    ("dashboard", "Dashboard"),
    ("timeline", "Timeline"),
    ("info", "Info & Metadata"),
    ("developer", "Developer Tools"),
)
"""console.md §1.4's recommended tab order."""

MAX_DEVICE_ID = 2**31 - 1
"""Device ids are 32-bit columns: a larger number in a URL names no device (and must not reach
PostgreSQL, which would refuse to compare it)."""

NOT_FOUND = "There is no such device, or you may not see it."
SEGMENT_NOTICES = {
    "segment-created": "Segment created with the ticked devices.",
    "segment-added": "Devices added to the segment.",
    "segment-renamed": "Segment renamed.",
    "segment-removed": "Devices taken out of the segment.",
    "segment-deleted": "Segment deleted.",
    "segment-saved": "Search saved as a segment: its devices follow the search.",
}


def sign_in_first() -> Response:
    """Where a request without a session goes: the sign-in page."""
    return RedirectResponse(LOGIN_PATH, status_code=303)


def device_routes(services: Services, settings: Settings) -> list[BaseRoute]:
    """``/dashboard``, ``/dashboard/devices`` and ``/dashboard/devices/{id}``."""
    devices = services.console_devices

    async def device_list(request: Request) -> Response:
        session = await console_session(request)
        if session is None:
            return sign_in_first()
        query = request.query_params.get("q", "")
        try:
            status = StatusFilter(request.query_params.get("status", ""))
        except ValueError:
            status = StatusFilter.ANY
        segments = await services.segments.in_org(session.caller)
        raw = request.query_params.get("segment", "")
        segment = next((s for s in segments if raw.isdecimal() and s.id == int(raw[:10])), None)
        only = None
        if segment is not None:
            members = await services.segments.members(segment, org_id=segment.org_id)
            only = frozenset(bound.device.id for bound in members)
        table = await devices.table(session.caller, query=query, status=status, only=only)
        context = {
            "table": table,
            "query": query,
            "status": status.value,
            "statuses": STATUSES,
            "segments": segments,
            "segment": segment,
            # ``access.notice_of`` would import this module back (it takes ``sign_in_first``).
            "notice": SEGMENT_NOTICES.get(request.query_params.get("notice", "")),
        }
        return signed_in_page(session, "devices.html", context, section="devices")

    async def device_page(request: Request) -> Response:
        session = await console_session(request)
        if session is None:
            return sign_in_first()
        device_id: int = request.path_params["device_id"]
        bound = None
        if device_id <= MAX_DEVICE_ID:
            bound = await devices.find(session.caller, device_id)
        if bound is None:
            return error_page(NOT_FOUND, 404)
        tab = request.query_params.get("tab", "dashboard")
        labels = dict(TABS)
        tab = tab if tab in labels else "dashboard"
        org = services.directory.organization(bound.device.org_id)
        context = {
            "device": bound.device,
            "template": bound.template,
            "online": devices.is_online(bound),
            "last_reported_at": devices.last_reported_at(bound),
            "organization": "" if org is None else org.name,
            "tabs": TABS,
            "tab": tab,
            "tab_label": labels[tab],
        }
        query = request.query_params
        try:
            context.update(await device_tab_context(services, session.caller, bound, tab, query))
        except DeviceNotFound:  # deleted meanwhile
            return error_page(NOT_FOUND, 404)
        if tab == "dashboard":
            context["dashboard"] = dashboard_json(bound.template, session.caller.role_id)
            context["map_tile_url"] = settings.map_tile_url
            context["tab_template"] = "device_tab_dashboard.html"
        return signed_in_page(session, "device.html", context, section="devices")

    return [
        Route(CONSOLE_PATH, device_list, methods=["GET"]),
        Route(DEVICES_PATH, device_list, methods=["GET"]),
        Route(f"{DEVICES_PATH}/{{device_id:int}}", device_page, methods=["GET"]),
    ]
