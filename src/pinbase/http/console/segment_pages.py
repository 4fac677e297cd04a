"""The Devices page's segments (console.md Devices "Segments", issue #10): the "Add to Segment"
bulk action (to a segment picked or to a new one named on the spot), "Save as Segment" of the
current search (a dynamic segment), rename, delete, and taking devices out of a static segment.
Plain HTML forms; each change answers 303 to the Devices page showing the segment, or a page
with the refusal (400).
"""

from collections.abc import Sequence

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pinbase.domain.segments import InvalidSegment
from pinbase.http.console.access import form_text, in_range, session_with
from pinbase.http.console.pages import error_page
from pinbase.http.paths import CONSOLE_PATH
from pinbase.services.console_caller import Permission
from pinbase.services.console_devices import StatusFilter
from pinbase.services.container import Services
from pinbase.services.segments import SegmentInUse, SegmentNotFound

SEGMENTS_PATH = f"{CONSOLE_PATH}/segments"
DEVICES_PATH = f"{CONSOLE_PATH}/devices"
NOT_FOUND = "There is no such segment, or you may not see it."
MAX_PICKED = 10_000
"""Device ids read from one bulk form: the page lists at most a few hundred rows."""


def picked_devices(form: FormData) -> list[int]:
    """The ticked rows' device ids; anything that is not an id names nothing (dropped)."""
    found = []
    for value in form.getlist("device")[:MAX_PICKED]:
        if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 10:
            number = int(value)
            if 0 < number <= 2**31 - 1:
                found.append(number)
    return found


def shown(segment_id: int, notice: str) -> Response:
    """Back to the Devices page showing the segment, with the change's notice."""
    return RedirectResponse(f"{DEVICES_PATH}?segment={segment_id}&notice={notice}", 303)


def refused(message: str) -> Response:
    """A refusal as a page of its own (400), the message for the person."""
    return error_page(message, 400)


def segment_routes(services: Services) -> list[BaseRoute]:
    """``POST /dashboard/segments`` (Add to Segment) and a segment's rename, delete, remove."""
    segments = services.segments

    async def add(request: Request) -> Response:
        session = await session_with(request, Permission.ORG_DEVICES_EDIT)
        if isinstance(session, Response):
            return session
        form = await request.form()
        devices = picked_devices(form)
        new_name = form_text(form, "new-name")
        raw = form_text(form, "segment")
        try:
            if not devices:
                raise InvalidSegment("Tick the devices to add first")
            if new_name:
                created = await segments.create(session.caller, new_name, device_ids=devices)
                return shown(created.id, "segment-created")
            if not raw.isdecimal() or len(raw) > 10:
                raise InvalidSegment("Choose a segment, or name a new one")
            segment_id = in_range(int(raw))
            await segments.add_devices(session.caller, segment_id, devices)
        except InvalidSegment as error:
            return refused(str(error))
        except SegmentNotFound:
            return error_page(NOT_FOUND, 404)
        return shown(segment_id, "segment-added")

    async def change(request: Request) -> Response:
        session = await session_with(request, Permission.ORG_DEVICES_EDIT)
        if isinstance(session, Response):
            return session
        segment_id = in_range(request.path_params["segment_id"])
        action = request.path_params["action"]
        form = await request.form()
        try:
            if action == "rename":
                await segments.rename(session.caller, segment_id, form_text(form, "name"))
            elif action == "delete":
                await segments.delete(session.caller, segment_id)
                return RedirectResponse(f"{DEVICES_PATH}?notice=segment-deleted", 303)
            elif action == "remove":
                await segments.remove_devices(session.caller, segment_id, picked_devices(form))
            else:
                return error_page(NOT_FOUND, 404)
        except (InvalidSegment, SegmentInUse) as error:
            return refused(str(error))
        except SegmentNotFound:
            return error_page(NOT_FOUND, 404)
        return shown(segment_id, "segment-renamed" if action == "rename" else "segment-removed")

    async def save_filters(request: Request) -> Response:
        session = await session_with(request, Permission.ORG_DEVICES_EDIT)
        if isinstance(session, Response):
            return session
        form = await request.form()
        try:
            status = StatusFilter(form_text(form, "status"))
        except ValueError:
            status = StatusFilter.ANY
        try:
            created = await segments.save_filters(
                session.caller, form_text(form, "name"), query=form_text(form, "q"), status=status
            )
        except InvalidSegment as error:
            return refused(str(error))
        return shown(created.id, "segment-saved")

    routes: Sequence[BaseRoute] = (
        Route(SEGMENTS_PATH, add, methods=["POST"]),
        Route(f"{SEGMENTS_PATH}/filters", save_filters, methods=["POST"]),
        Route(f"{SEGMENTS_PATH}/{{segment_id:int}}/{{action:str}}", change, methods=["POST"]),
    )
    return list(routes)
