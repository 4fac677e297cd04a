"""The Automations section (automations.md §3, issue #10 item 2): the list of automation cards
with their enable switch and "Execute automation" for scenes, and a page per automation with its
Settings, "When" condition, "Do this" actions and run log.

Every change is one call of ``services.automations`` (the Platform API and the provisioning file
use the same calls). A form the service refuses comes back as typed, with the service's message
above it, answered ``400``; an automation outside the caller's scope is "not found" (``404``).
Permissions (spec §3.8): View lists and reads, Create creates, Edit saves and enables/disables,
Delete deletes, Execute runs a scene and stops pending runs (``console_caller.Permission``).
"""

import zoneinfo
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pinbase.domain.automations import Automation, InvalidAutomation, automation_json
from pinbase.http.console.access import done, form_text, in_range, notice_of, session_with
from pinbase.http.console.automation_form import (
    ACTION_KINDS,
    ACTION_LABELS,
    CONDITION_KINDS,
    COVERS,
    LIMIT_PERIODS,
    OPERATORS,
    REPEATS,
    FormState,
    apply_op,
    automation_data,
    blank_state,
    condition_summary,
    posted_state,
    state_of,
)
from pinbase.http.console.pages import error_page, signed_in_page
from pinbase.http.console.run_logs import RANGES, log_rows, picked_range
from pinbase.http.paths import CONSOLE_PATH
from pinbase.services.console_caller import ConsoleCaller, Permission
from pinbase.services.console_sessions import ConsoleSession
from pinbase.services.container import Services
from pinbase.services.reactions.automations import AutomationNotFound, NotAScene
from pinbase.settings import Settings

AUTOMATIONS_PATH = f"{CONSOLE_PATH}/automations"
SECTION = "automations"
NOT_FOUND = "There is no such automation, or you may not see it."
NOT_SAVED = "Nothing was saved: "
NOTICES = {
    "created": "The automation was created.",
    "saved": "The automation was saved.",
    "enabled": "The automation is enabled.",
    "disabled": "The automation is disabled: it does not run until enabled again.",
    "executed": "The automation ran: its actions are in the log below.",
    "stopped": "Pending runs were stopped.",
    "deleted": "The automation was deleted.",
}
Handler = Callable[[Request, ConsoleSession], Awaitable[Response]]


@cache
def time_zones() -> tuple[str, ...]:
    """Every IANA time zone the server knows, for the time-zone fields' suggestions."""
    return tuple(sorted(zoneinfo.available_timezones()))


def automation_routes(services: Services, settings: Settings) -> list[BaseRoute]:
    """``/dashboard/automations``: the list, the editor, and the changes."""
    automations = services.automations
    clock = services.clock

    def choices(caller: ConsoleCaller) -> dict[str, Any]:
        """Devices and datastreams the caller may pick, by ``"<device>:<datastream>"``."""
        devices = services.console_devices.visible(caller)
        every = [
            (
                f"{bound.device.id}:{ds.id}",
                f"{bound.device.name} · {ds.label} ({ds.pin.name.upper()})",
                ds.automation,
            )
            for bound in devices
            for ds in bound.template.datastreams
        ]
        events = sorted({event.code for bound in devices for event in bound.template.events})
        # A datastream's automation setting (spec §3.2) says whether it may be a condition or
        # an action; one without the setting is offered for both and checked on save.
        return {
            "targets": [(v, text) for v, text, a in every if a is None or a.as_condition],
            "action_targets": [(v, text) for v, text, a in every if a is None or a.as_action],
            "target_names": {value: text for value, text, _ in every},
            "devices": [(str(b.device.id), b.device.name) for b in devices],
            "events": events,
        }

    async def recipients(caller: ConsoleCaller) -> list[tuple[str, str]]:
        users, _ = await services.users.page(caller, include_sub_orgs=True, offset=0, limit=500)
        return [(str(u.id), f"{u.name} <{u.email}>") for u in users]

    def card(automation: Automation, names: dict[str, str]) -> dict[str, Any]:
        data = automation_json(automation)
        return {
            "id": automation.id,
            "name": automation.spec.name,
            "cover": automation.spec.cover or COVERS[0],
            "active": automation.spec.is_active,
            "scene": data["condition"]["kind"] == "SCENE",
            "summary": condition_summary(data["condition"], names),
            "actions": len(automation.spec.actions),
            "last": automation.last_executed_at or 0,
        }

    async def listing(
        request: Request, session: ConsoleSession, *, error: str | None = None, status: int = 200
    ) -> Response:
        caller = session.caller
        names = choices(caller)["target_names"]
        found = await automations.list_in_scope(caller)
        context = {
            "cards": [card(a, names) for a in found],
            "notice": notice_of(request, NOTICES),
            "error": error,
            "may_create": caller.can(Permission.AUTOMATIONS_CREATE),
            "may_edit": caller.can(Permission.AUTOMATIONS_EDIT),
            "may_execute": caller.can(Permission.AUTOMATIONS_EXECUTE),
            "condition_kinds": CONDITION_KINDS,
        }
        return signed_in_page(session, "automations.html", context, section=SECTION, status=status)

    async def editor(
        request: Request,
        session: ConsoleSession,
        state: FormState,
        *,
        automation: Automation | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        caller = session.caller
        runs: list[dict[str, Any]] = []
        picked, span = picked_range(request.query_params.get("range"))
        options = choices(caller)
        if automation is not None:
            now = clock()
            log = await automations.runs(caller, automation.id, since=now - span, limit=200)
            runs = log_rows(log, options["target_names"], options["devices"])
        may_save = caller.can(
            Permission.AUTOMATIONS_EDIT if automation else Permission.AUTOMATIONS_CREATE
        )
        context = {
            "automation": automation,
            "state": state,
            "error": error,
            "notice": notice_of(request, NOTICES),
            "may_save": may_save,
            "may_delete": automation is not None and caller.can(Permission.AUTOMATIONS_DELETE),
            "may_execute": caller.can(Permission.AUTOMATIONS_EXECUTE),
            "is_scene": automation is not None
            and automation_json(automation)["condition"]["kind"] == "SCENE",
            "runs": runs,
            "ranges": RANGES,
            "range": picked,
            "condition_kinds": CONDITION_KINDS,
            "action_kinds": ACTION_KINDS,
            "action_labels": ACTION_LABELS,
            "operators": OPERATORS,
            "repeats": REPEATS,
            "limit_periods": _limit_periods(state.get("limit", "0")),
            "covers": COVERS,
            "weekdays": ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"),
            "time_zones": time_zones(),
            "users": await recipients(caller),
            "segments": [(str(s.id), s.name) for s in await services.segments.in_org(caller)],
            "datastream_names": sorted(
                {
                    ds.label
                    for b in services.console_devices.visible(caller)
                    for ds in b.template.datastreams
                }
            ),
            **options,
        }
        title = automation.spec.name if automation else "New automation"
        return signed_in_page(
            session,
            "automation.html",
            {**context, "title": title},
            section=SECTION,
            status=status,
        )

    def gated(permission: Permission, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            session = await session_with(request, permission)
            if not isinstance(session, ConsoleSession):
                return session
            return await handler(request, session)

        return endpoint

    async def find(session: ConsoleSession, request: Request) -> Automation | None:
        raw = request.path_params["automation_id"]
        try:
            return await automations.get(session.caller, in_range(raw))
        except AutomationNotFound:
            return None

    async def page(request: Request, session: ConsoleSession) -> Response:
        return await listing(request, session)

    async def new(request: Request, session: ConsoleSession) -> Response:
        return await editor(request, session, blank_state(request.query_params.get("kind", "")))

    async def create(request: Request, session: ConsoleSession) -> Response:
        form = await request.form()
        state = posted_state(form)
        op = form_text(form, "op")
        if op and op != "save":
            apply_op(state, op)
            return await editor(request, session, state)
        try:
            data = automation_data(state, is_active=True)
            created = await automations.create(session.caller, data)
        except InvalidAutomation as refused:
            return await editor(request, session, state, error=NOT_SAVED + str(refused), status=400)
        except AutomationNotFound:
            return error_page(NOT_FOUND, 404)
        return done(f"{AUTOMATIONS_PATH}/{created.id}", "created")

    async def show(request: Request, session: ConsoleSession) -> Response:
        automation = await find(session, request)
        if automation is None:
            return error_page(NOT_FOUND, 404)
        return await editor(
            request, session, state_of(automation_json(automation)), automation=automation
        )

    async def save(request: Request, session: ConsoleSession) -> Response:
        automation = await find(session, request)
        if automation is None:
            return error_page(NOT_FOUND, 404)
        form = await request.form()
        state = posted_state(form)
        op = form_text(form, "op")
        if op and op != "save":
            apply_op(state, op)
            return await editor(request, session, state, automation=automation)
        try:
            data = automation_data(state, is_active=automation.spec.is_active)
            await automations.update(session.caller, automation.id, data)
        except InvalidAutomation as refused:
            return await editor(
                request,
                session,
                state,
                automation=automation,
                error=NOT_SAVED + str(refused),
                status=400,
            )
        except AutomationNotFound:
            return error_page(NOT_FOUND, 404)
        return done(f"{AUTOMATIONS_PATH}/{automation.id}", "saved")

    async def switch(request: Request, session: ConsoleSession) -> Response:
        automation = await find(session, request)
        if automation is None:
            return error_page(NOT_FOUND, 404)
        active = form_text(await request.form(), "active") == "1"
        try:
            await automations.set_active(session.caller, automation.id, active=active)
        except AutomationNotFound:
            return error_page(NOT_FOUND, 404)
        return done(_back(request, automation.id), "enabled" if active else "disabled")

    async def execute(request: Request, session: ConsoleSession) -> Response:
        automation = await find(session, request)
        if automation is None:
            return error_page(NOT_FOUND, 404)
        try:
            await automations.execute(session.caller, automation.id)
        except AutomationNotFound:
            return error_page(NOT_FOUND, 404)
        except NotAScene:
            return await listing(
                request, session, error="Only a Scene automation runs by hand.", status=400
            )
        except InvalidAutomation:
            return await listing(
                request,
                session,
                error="A disabled automation does not run: enable it first.",
                status=400,
            )
        return done(f"{AUTOMATIONS_PATH}/{automation.id}", "executed")

    async def stop(request: Request, session: ConsoleSession) -> Response:
        automation = await find(session, request)
        if automation is None:
            return error_page(NOT_FOUND, 404)
        await automations.stop_runs(session.caller, automation.id)
        return done(f"{AUTOMATIONS_PATH}/{automation.id}", "stopped")

    async def participation(request: Request, session: ConsoleSession) -> Response:
        automation = await find(session, request)
        if automation is None:
            return error_page(NOT_FOUND, 404)
        form = await request.form()
        device = form_text(form, "device")
        if not device.isdecimal() or len(device) > 9:
            return error_page(NOT_FOUND, 404)
        try:
            await automations.set_participation(
                session.caller,
                automation.id,
                int(device),
                participates=form_text(form, "participates") == "1",
            )
        except (AutomationNotFound, InvalidAutomation):
            return error_page(NOT_FOUND, 404)
        return RedirectResponse(f"{CONSOLE_PATH}/devices/{device}?tab=info", status_code=303)

    async def delete(request: Request, session: ConsoleSession) -> Response:
        automation = await find(session, request)
        if automation is None:
            return error_page(NOT_FOUND, 404)
        try:
            await automations.delete(session.caller, automation.id)
        except AutomationNotFound:
            return error_page(NOT_FOUND, 404)
        return done(AUTOMATIONS_PATH, "deleted")

    one = f"{AUTOMATIONS_PATH}/{{automation_id:int}}"
    P = Permission
    return [
        Route(AUTOMATIONS_PATH, gated(P.AUTOMATIONS_VIEW, page), methods=["GET"]),
        Route(AUTOMATIONS_PATH, gated(P.AUTOMATIONS_CREATE, create), methods=["POST"]),
        Route(f"{AUTOMATIONS_PATH}/new", gated(P.AUTOMATIONS_CREATE, new), methods=["GET"]),
        Route(one, gated(P.AUTOMATIONS_VIEW, show), methods=["GET"]),
        Route(one, gated(P.AUTOMATIONS_EDIT, save), methods=["POST"]),
        Route(f"{one}/active", gated(P.AUTOMATIONS_EDIT, switch), methods=["POST"]),
        Route(f"{one}/execute", gated(P.AUTOMATIONS_EXECUTE, execute), methods=["POST"]),
        Route(f"{one}/stop", gated(P.AUTOMATIONS_EXECUTE, stop), methods=["POST"]),
        Route(f"{one}/delete", gated(P.AUTOMATIONS_DELETE, delete), methods=["POST"]),
        Route(f"{one}/participation", gated(P.AUTOMATIONS_EDIT, participation), methods=["POST"]),
    ]


def _back(request: Request, automation_id: int) -> str:
    """Where a switch goes back to: the list it was pressed on, or the automation's page."""
    if request.query_params.get("from") == "list":
        return AUTOMATIONS_PATH
    return f"{AUTOMATIONS_PATH}/{automation_id}"


def _limit_periods(current: str) -> list[tuple[str, str]]:
    periods = [(str(seconds), label) for seconds, label in LIMIT_PERIODS]
    if current and current not in {value for value, _ in periods}:
        periods.append((current, f"{current} seconds"))
    return periods
