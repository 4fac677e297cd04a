"""The Blynk.Air section (device-lifecycle.md §1.6; issue #12 point 2): upload firmware (its
firmware info shown), create a shipment, the shipment list with Live / Paused / Cancelled and
their actions, and a page per shipment with each device's status.

Every change is one call of ``services.firmware`` or ``services.shipments``, which the Platform
API extension calls too. Viewing needs ``Permission.TEMPLATES_VIEW``, changes
``Permission.TEMPLATES_EDIT`` (docs/decisions.md, "Blynk.Air"). A refused form comes back with
the use case's message, answered ``400``.
"""

import csv
import io
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pinbase.domain.shipments import Condition, PreferredTime, TargetKind
from pinbase.http.console.access import done, form_text, in_range, notice_of, session_with
from pinbase.http.console.pages import error_page, iso_moment, signed_in_page
from pinbase.http.paths import CONSOLE_PATH
from pinbase.services.console_caller import Permission
from pinbase.services.console_sessions import ConsoleSession
from pinbase.services.container import Services
from pinbase.services.firmware import FirmwareNotFound, FirmwareRefused
from pinbase.services.scope import DeviceNotFound, TemplateNotFound
from pinbase.services.shipments import (
    DeviceProgress,
    ShipmentNotFound,
    ShipmentRefused,
    ShipmentRequest,
)

AIR_PATH = f"{CONSOLE_PATH}/air"
SECTION = "air"
NOT_FOUND = "There is no such shipment, or you may not see it."
STATE_LABELS = {"draft": "Draft", "live": "Live", "paused": "Paused", "cancelled": "Cancelled"}
CONDITIONS = (
    (Condition.LOWER_VERSION.value, "Lower firmware version"),
    (Condition.EARLIER_BUILD.value, "Earlier build date"),
    (Condition.OTHER_BUILD.value, "Another build date"),
    (Condition.LOWER_LIBRARY.value, "Lower generic (library) version"),
    (Condition.ANY.value, "Any version (file without firmware info)"),
)
TIMES = (
    (PreferredTime.ANY.value, "Any time"),
    (PreferredTime.NIGHT.value, "Night, 00:00-06:00 UTC"),
    (PreferredTime.MORNING.value, "Morning, 06:00-12:00 UTC"),
    (PreferredTime.AFTERNOON.value, "Afternoon, 12:00-18:00 UTC"),
    (PreferredTime.EVENING.value, "Evening, 18:00-24:00 UTC"),
)
TARGETS = (
    (TargetKind.TEMPLATE.value, "Every device of the template"),
    (TargetKind.DEVICES.value, "Chosen devices"),
    (TargetKind.TAG.value, "Devices with a tag"),
)
NOTICES = {
    "uploaded": "The firmware file was uploaded.",
    "deleted": "The firmware file was deleted.",
    "created": "The shipment was created.",
    "start": "The shipment is live: online devices are updated now, the others when they connect.",
    "pause": "The shipment is paused.",
    "cancel": "The shipment is cancelled.",
    "delete": "The shipment was deleted.",
    "update": "The device is updated now if it is online, else when it connects.",
}
REFUSALS = (
    FirmwareRefused,
    FirmwareNotFound,
    ShipmentRefused,
    ShipmentNotFound,
    TemplateNotFound,
    DeviceNotFound,
)

Handler = Callable[[Request, ConsoleSession], Awaitable[Response]]


def refusal_text(error: Exception) -> str:
    """What a person reads when a use case refuses."""
    if isinstance(error, FirmwareNotFound):
        return "Choose a firmware file of this organization."
    if isinstance(error, TemplateNotFound):
        return "Choose a template."
    if isinstance(error, DeviceNotFound):
        return "A chosen device is not found."
    if isinstance(error, ShipmentNotFound):
        return NOT_FOUND
    text = str(error.args[0]) if error.args else "The request was refused."
    return text[0].upper() + text[1:]


REPORT_COLUMNS = (
    "Device ID",
    "Device",
    "Status",
    "Reason",
    "Attempts",
    "Previous version",
    "Updated (UTC)",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet would run as a formula at the start of a cell (a device name is anybody's
text): such a cell gets a leading apostrophe, as OWASP's CSV injection advice says."""


def shipment_report(lines: Sequence[DeviceProgress]) -> str:
    """The "Download report" CSV of a shipment (device-lifecycle.md §1.6): one row per device
    with its status as the page shows it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REPORT_COLUMNS)
    for line in lines:
        row = line.row
        updated = iso_moment(row.updated_at) if row.updated_at else ""
        cells = (
            line.device_id,
            line.name,
            row.status.label,
            row.reason or "",
            row.attempts,
            row.from_version or "",
            updated,
        )
        writer.writerow([_cell(cell) for cell in cells])
    return out.getvalue()


def _cell(value: object) -> str:
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _number(form: FormData, name: str, default: int) -> int:
    text = form_text(form, name)
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else default


def air_routes(services: Services) -> list[BaseRoute]:
    """``/dashboard/air``: firmware, shipments and per-device statuses."""
    firmware = services.firmware
    shipments = services.shipments
    directory = services.directory

    def gated(handler: Handler, permission: Permission) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            session = await session_with(request, permission)
            if not isinstance(session, ConsoleSession):
                return session
            return await handler(request, session)

        return endpoint

    async def overview(
        request: Request, session: ConsoleSession, *, error: str | None = None, status: int = 200
    ) -> Response:
        caller = session.caller
        files = await firmware.listing(caller)
        names = {item.id: item.filename for item in files}
        templates = directory.templates_in(caller.scope)
        template_names = {template.id: template.name for template in templates}
        context = {
            "files": files,
            "shipments": [
                {
                    "item": item,
                    "state": STATE_LABELS[item.state.value],
                    "file": names.get(item.firmware_id, f"#{item.firmware_id}"),
                    "template": template_names.get(item.template_id, f"#{item.template_id}"),
                }
                for item in await shipments.listing(caller)
            ],
            "templates": templates,
            "devices": services.console_devices.visible(caller),
            "conditions": CONDITIONS,
            "times": TIMES,
            "targets": TARGETS,
            "can_edit": caller.can(Permission.TEMPLATES_EDIT),
            "notice": notice_of(request, NOTICES),
            "error": error,
            "max_mb": firmware.max_bytes // (1024 * 1024),
        }
        return signed_in_page(session, "air.html", context, section=SECTION, status=status)

    async def page(request: Request, session: ConsoleSession) -> Response:
        return await overview(request, session)

    async def upload(request: Request, session: ConsoleSession) -> Response:
        async with request.form(max_files=2, max_fields=4) as form:
            part = form.get("file")
            if not isinstance(part, UploadFile) or not part.filename:
                return await overview(request, session, error="Choose a firmware file.", status=400)
            data = await part.read(firmware.max_bytes + 1)
            filename = part.filename
        try:
            await firmware.upload(session.caller, filename=filename, data=data)
        except REFUSALS as refused:
            return await overview(request, session, error=refusal_text(refused), status=400)
        return done(AIR_PATH, "uploaded")

    async def delete_file(request: Request, session: ConsoleSession) -> Response:
        try:
            await firmware.delete(session.caller, in_range(request.path_params["firmware_id"]))
        except FirmwareNotFound:
            return error_page(NOT_FOUND, 404)
        except FirmwareRefused as refused:
            return await overview(request, session, error=refusal_text(refused), status=400)
        return done(AIR_PATH, "deleted")

    async def create(request: Request, session: ConsoleSession) -> Response:
        form = await request.form()
        try:
            target = TargetKind(form_text(form, "target") or "template")
            condition = Condition(form_text(form, "condition") or "lower_version")
            preferred = PreferredTime(form_text(form, "preferred_time") or "any")
        except ValueError:
            return await overview(request, session, error="Choose the options.", status=400)
        devices = tuple(
            int(value)
            for value in form.getlist("devices")
            if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10
        )
        tag = _number(form, "tag_id", 0)
        request_ = ShipmentRequest(
            name=form_text(form, "name"),
            template_id=_number(form, "template_id", 0),
            firmware_id=_number(form, "firmware_id", 0),
            target=target,
            device_ids=devices,
            tag_id=tag or None,
            condition=condition,
            preferred_time=preferred,
            attempts_limit=_number(form, "attempts_limit", 3),
            attempts_reset_s=_number(form, "reset_hours", 24) * 3600,
            confirm_without_info=form_text(form, "confirm_without_info") == "on",
            start=form_text(form, "start") == "on",
        )
        try:
            created = await shipments.create(session.caller, request_)
        except REFUSALS as refused:
            return await overview(request, session, error=refusal_text(refused), status=400)
        return done(f"{AIR_PATH}/shipments/{created.id}", "created")

    async def shipment_page(request: Request, session: ConsoleSession) -> Response:
        shipment_id = in_range(request.path_params["shipment_id"])
        try:
            shipment = await shipments.get(session.caller, shipment_id)
            lines = await shipments.progress(session.caller, shipment_id)
            file = await firmware.get(session.caller, shipment.firmware_id)
        except (ShipmentNotFound, FirmwareNotFound):
            return error_page(NOT_FOUND, 404)
        template = directory.template(shipment.template_id)
        context: dict[str, Any] = {
            "shipment": shipment,
            "state": STATE_LABELS[shipment.state.value],
            "file": file,
            "template": template.name if template is not None else f"#{shipment.template_id}",
            "lines": lines,
            "condition": dict(CONDITIONS)[shipment.condition.value],
            "time": dict(TIMES)[shipment.preferred_time.value],
            "can_edit": session.caller.can(Permission.TEMPLATES_EDIT),
            "notice": notice_of(request, NOTICES),
            "title": shipment.name,
        }
        return signed_in_page(session, "air_shipment.html", context, section=SECTION)

    async def report(request: Request, session: ConsoleSession) -> Response:
        shipment_id = in_range(request.path_params["shipment_id"])
        try:
            shipment = await shipments.get(session.caller, shipment_id)
            lines = await shipments.progress(session.caller, shipment_id)
        except ShipmentNotFound:
            return error_page(NOT_FOUND, 404)
        return Response(
            shipment_report(lines),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="shipment-{shipment.id}.csv"',
                "Cache-Control": "no-store",
            },
        )

    def action(name: str) -> Handler:
        async def run(request: Request, session: ConsoleSession) -> Response:
            shipment_id = in_range(request.path_params["shipment_id"])
            caller = session.caller
            try:
                if name == "start":
                    await shipments.start_shipment(caller, shipment_id)
                elif name == "pause":
                    await shipments.pause(caller, shipment_id)
                elif name == "cancel":
                    await shipments.cancel(caller, shipment_id)
                else:
                    await shipments.delete(caller, shipment_id)
                    return done(AIR_PATH, "delete")
            except ShipmentNotFound:
                return error_page(NOT_FOUND, 404)
            except ShipmentRefused as refused:
                return error_page(refusal_text(refused), 400)
            return done(f"{AIR_PATH}/shipments/{shipment_id}", name)

        return run

    async def update_device(request: Request, session: ConsoleSession) -> Response:
        shipment_id = in_range(request.path_params["shipment_id"])
        device_id = in_range(request.path_params["device_id"])
        try:
            await shipments.update_device(session.caller, shipment_id, device_id)
        except (ShipmentNotFound, DeviceNotFound):
            return error_page(NOT_FOUND, 404)
        except ShipmentRefused as refused:
            return error_page(refusal_text(refused), 400)
        return done(f"{AIR_PATH}/shipments/{shipment_id}", "update")

    view, edit = Permission.TEMPLATES_VIEW, Permission.TEMPLATES_EDIT
    one = f"{AIR_PATH}/shipments/{{shipment_id:int}}"
    routes: list[BaseRoute] = [
        Route(AIR_PATH, gated(page, view), methods=["GET"]),
        Route(f"{AIR_PATH}/firmware", gated(upload, edit), methods=["POST"]),
        Route(
            f"{AIR_PATH}/firmware/{{firmware_id:int}}/delete",
            gated(delete_file, edit),
            methods=["POST"],
        ),
        Route(f"{AIR_PATH}/shipments", gated(create, edit), methods=["POST"]),
        Route(one, gated(shipment_page, view), methods=["GET"]),
        Route(f"{one}/report.csv", gated(report, view), methods=["GET"]),
        Route(
            f"{one}/devices/{{device_id:int}}/update",
            gated(update_device, edit),
            methods=["POST"],
        ),
    ]
    for name in ("start", "pause", "cancel", "delete"):
        routes.append(Route(f"{one}/{name}", gated(action(name), edit), methods=["POST"]))
    return routes
