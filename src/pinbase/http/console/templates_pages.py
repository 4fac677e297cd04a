"""The Templates section (console.md §1.5): the list of templates, "New Template", and the
editor with its tabs Info, Datastreams, Events, Metadata and Web Dashboard.

Every page is a server-rendered form posting with the session's CSRF secret; each change is one
call of ``services.templates`` (the Platform API's template editing calls the same use cases). A
form the service refuses is shown again, with what was typed, on the tab that holds it, the
service's message next to the field it concerns (``template_forms.field_of``), answered ``400``.
A template outside the caller's scope is "not found" (``404``), like a missing one. Viewing needs
``TEMPLATES_VIEW``, changing ``TEMPLATES_EDIT`` (Staff views, Admin edits; ``console_caller``).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pinbase.domain.errors import PinbaseError
from pinbase.domain.templates import Template, format_hms, parse_hms
from pinbase.http.console import dashboard_form, template_forms
from pinbase.http.console.devices import sign_in_first
from pinbase.http.console.pages import error_page, signed_in_page
from pinbase.http.console.session import console_session
from pinbase.http.console.template_forms import FORM, FormState, field_of
from pinbase.http.paths import CONSOLE_PATH
from pinbase.services.console_caller import Permission
from pinbase.services.console_sessions import ConsoleSession
from pinbase.services.container import Services
from pinbase.services.scope import TemplateNotFound
from pinbase.services.template_lists import template_rows
from pinbase.services.templates import (
    DatastreamNotInTemplate,
    EventNotInTemplate,
    MetafieldNotInTemplate,
    TemplateInUse,
)
from pinbase.settings import Settings

TEMPLATES_PATH = f"{CONSOLE_PATH}/templates"
SECTION = "templates"
TABS = (
    ("info", "Info"),
    ("datastreams", "Datastreams"),
    ("events", "Events"),
    ("metadata", "Metadata"),
    ("dashboard", "Web Dashboard"),
)
"""console.md §1.5's editor tabs that Pinbase has (no Connection Lifecycle or Assets yet)."""

MAX_ID = 2**31 - 1
"""Ids are 32-bit columns: a larger number in a URL names nothing."""

NOT_FOUND = "There is no such template, or you may not see it."
READ_ONLY = "Your role may look at templates but not change them."
NOT_SAVED = "Nothing was saved: correct the field marked below."

Endpoint = Callable[[Request], Awaitable[Response]]
TemplateHandler = Callable[[Request, ConsoleSession, Template], Awaitable[Response]]
"""A page about one template, given the signed-in session and that template."""


@dataclass(frozen=True, slots=True)
class Child:
    """A kind of thing a template holds and its tab: how to show, read and store one."""

    tab: str
    items: Callable[[Template], tuple[Any, ...]]
    state: Callable[[Any], FormState]
    posted: Callable[[FormData], tuple[FormState, Any]]
    add: Callable[[Any, int, Any], Awaitable[Any]]
    update: Callable[[Any, int, int, Any], Awaitable[Any]]
    delete: Callable[[Any, int, int], Awaitable[None]]
    missing: type[PinbaseError]
    fields: Any


def _posted_datastream(form: FormData) -> tuple[FormState, Any]:
    state = template_forms.posted_datastream(form)
    if template_forms.text(form, "action") == "add_row":
        return state, None  # only one more enum row: show the form again, store nothing
    return state, template_forms.datastream_settings(state)


def _posted_info(form: FormData) -> FormState:
    """The Info form as posted: a template's name, description and offline ignore period."""
    values = {name: template_forms.text(form, name) for name in ("name", "description")}
    if PERIOD in form:
        values[PERIOD] = template_forms.text(form, PERIOD)
    return template_forms.blank(values)


PERIOD = "offline_ignore_period"


def _info_values(template: Template) -> dict[str, str]:
    """The Info form's fields for ``template`` as stored."""
    return {
        "name": template.name,
        "description": template.description or "",
        PERIOD: format_hms(template.offline_ignore_period),
    }


def _posted_period(state: FormState) -> int | None:
    """The posted offline ignore period in seconds: None when the form has no such field
    (keep the stored one), 0 when it is empty.

    Raises:
        InvalidDefinition: not ``HH:MM:SS`` or out of range.
    """
    posted = state.values.get(PERIOD)
    if posted is None:
        return None
    return parse_hms(posted) if posted.strip() else 0


def template_routes(services: Services, settings: Settings) -> list[BaseRoute]:
    """``/dashboard/templates`` and the editor under ``/dashboard/templates/{id}``.

    ``settings`` is unused; every console route factory takes it.
    """
    del settings
    templates = services.templates
    kinds = {
        "datastreams": Child(
            tab="datastreams",
            items=lambda t: t.datastreams,
            state=template_forms.datastream_state,
            posted=_posted_datastream,
            add=templates.add_datastream,
            update=templates.update_datastream,
            delete=templates.delete_datastream,
            missing=DatastreamNotInTemplate,
            fields=template_forms.DATASTREAM_FIELDS,
        ),
        "events": Child(
            tab="events",
            items=lambda t: t.events,
            state=template_forms.event_state,
            posted=template_forms.posted_event,
            add=templates.add_event,
            update=templates.update_event,
            delete=templates.delete_event,
            missing=EventNotInTemplate,
            fields=template_forms.EVENT_FIELDS,
        ),
        "metadata": Child(
            tab="metadata",
            items=lambda t: t.metafields,
            state=template_forms.metafield_state,
            posted=template_forms.posted_metafield,
            add=templates.add_metafield,
            update=templates.update_metafield,
            delete=templates.delete_metafield,
            missing=MetafieldNotInTemplate,
            fields=template_forms.METAFIELD_FIELDS,
        ),
    }

    async def opened(request: Request, *, edit: bool) -> ConsoleSession | Response:
        """The request's session when it may open (``edit``: change) templates, else the
        answer to give: the sign-in page, not found, or not allowed."""
        session = await console_session(request)
        if session is None:
            return sign_in_first()
        if not session.caller.can(Permission.TEMPLATES_VIEW):
            return error_page(NOT_FOUND, 404)
        if edit and not session.caller.can(Permission.TEMPLATES_EDIT):
            return error_page(READ_ONLY, 403)
        return session

    async def found(request: Request, session: ConsoleSession) -> Template | None:
        template_id: int = request.path_params["template_id"]
        if template_id > MAX_ID:
            return None
        try:
            return await templates.find(session.caller, template_id)
        except TemplateNotFound:
            return None

    def on_template(handler: TemplateHandler, *, edit: bool) -> Endpoint:
        """The endpoint of a page about the template in the URL: ``handler`` runs once the
        session may open (``edit``: change) templates and that template is in its scope."""

        async def endpoint(request: Request) -> Response:
            session = await opened(request, edit=edit)
            if isinstance(session, Response):
                return session
            template = await found(request, session)
            if template is None:
                return error_page(NOT_FOUND, 404)
            return await handler(request, session, template)

        return endpoint

    def list_page(
        session: ConsoleSession, rows: list[Any], form: FormState, status: int = 200
    ) -> Response:
        context = {
            "rows": rows,
            "form": form,
            "can_edit": session.caller.can(Permission.TEMPLATES_EDIT),
        }
        return signed_in_page(session, "templates.html", context, section=SECTION, status=status)

    def editor(
        session: ConsoleSession,
        template: Template,
        *,
        tab: str,
        editing: str = "",
        form: FormState | None = None,
        layout: dashboard_form.LayoutForm | None = None,
        status: int = 200,
    ) -> Response:
        kind = kinds.get(tab)
        if form is None and kind is not None and editing:
            item = None if editing == "new" else _item(kind.items(template), editing)
            if item is None and editing != "new":
                editing = ""
            else:
                form = kind.state(item)
        if form is None and tab == "info":
            form = template_forms.blank(_info_values(template))
        if layout is None:
            layout = dashboard_form.stored_form(template.dashboard)
        context = {
            "template": template,
            "tabs": TABS,
            "tab": tab,
            "editing": editing,
            "form": form or template_forms.blank(),
            "layout": layout,
            "choices": dashboard_form.choices(template.datastreams),
            "next_place": dashboard_form.next_place(layout.widgets),
            "kinds": dashboard_form.KINDS,
            "can_edit": session.caller.can(Permission.TEMPLATES_EDIT),
            "f": template_forms,
            "not_saved": NOT_SAVED,
        }
        return signed_in_page(session, "template.html", context, section=SECTION, status=status)

    def back_to(template: Template, tab: str) -> Response:
        return RedirectResponse(f"{TEMPLATES_PATH}/{template.id}?tab={tab}", status_code=303)

    async def template_list(request: Request) -> Response:
        session = await opened(request, edit=False)
        if isinstance(session, Response):
            return session
        rows = await template_rows(services.store, services.directory, session.caller)
        return list_page(session, rows, template_forms.blank())

    async def create_template(request: Request) -> Response:
        session = await opened(request, edit=True)
        if isinstance(session, Response):
            return session
        state = _posted_info(await request.form())
        try:
            created = await templates.create(
                session.caller,
                org_id=None,
                name=state.values["name"],
                description=state.values["description"] or None,
            )
        except PinbaseError as refused:
            state.errors[field_of(str(refused), template_forms.INFO_FIELDS)] = str(refused)
            rows = await template_rows(services.store, services.directory, session.caller)
            return list_page(session, rows, state, status=400)
        return back_to(created, "datastreams")

    async def template_page(
        request: Request, session: ConsoleSession, template: Template
    ) -> Response:
        tab = request.query_params.get("tab", "info")
        tab = tab if tab in dict(TABS) else "info"
        editing = request.query_params.get("edit", "")
        if not session.caller.can(Permission.TEMPLATES_EDIT):
            editing = ""
        return editor(session, template, tab=tab, editing=editing)

    async def change_info(
        request: Request, session: ConsoleSession, template: Template
    ) -> Response:
        state = _posted_info(await request.form())
        try:
            changed = await templates.describe(
                session.caller,
                template.id,
                name=state.values["name"],
                description=state.values["description"] or None,
                offline_ignore_period=_posted_period(state),
            )
        except TemplateNotFound:
            return error_page(NOT_FOUND, 404)
        except PinbaseError as refused:
            state.errors[field_of(str(refused), template_forms.INFO_FIELDS)] = str(refused)
            return editor(session, template, tab="info", form=state, status=400)
        return back_to(changed, "info")

    async def delete_template(
        request: Request, session: ConsoleSession, template: Template
    ) -> Response:
        try:
            await templates.delete(session.caller, template.id)
        except TemplateNotFound:
            return error_page(NOT_FOUND, 404)
        except TemplateInUse as in_use:
            state = template_forms.blank(_info_values(template))
            state.errors[FORM] = (
                f"{in_use.args[0]} device(s) use this template: delete them or move them to "
                "another template first."
            )
            return editor(session, template, tab="info", form=state, status=400)
        return RedirectResponse(TEMPLATES_PATH, status_code=303)

    async def save_child(
        request: Request, session: ConsoleSession, template: Template, kind: Child
    ) -> Response:
        child_id: int | None = request.path_params.get("child_id")
        editing = "new" if child_id is None else str(child_id)
        state, child_settings = kind.posted(await request.form())
        if child_settings is None:
            status = 400 if state.errors else 200
            return editor(
                session, template, tab=kind.tab, editing=editing, form=state, status=status
            )
        try:
            if child_id is None:
                await kind.add(session.caller, template.id, child_settings)
            else:
                await kind.update(session.caller, template.id, child_id, child_settings)
        except (TemplateNotFound, kind.missing):
            return error_page(NOT_FOUND, 404)
        except PinbaseError as refused:
            state.errors[field_of(str(refused), kind.fields)] = str(refused)
            return editor(session, template, tab=kind.tab, editing=editing, form=state, status=400)
        return back_to(template, kind.tab)

    async def delete_child(
        request: Request, session: ConsoleSession, template: Template, kind: Child
    ) -> Response:
        try:
            await kind.delete(session.caller, template.id, request.path_params["child_id"])
        except (TemplateNotFound, kind.missing):
            return error_page(NOT_FOUND, 404)
        return back_to(template, kind.tab)

    async def save_dashboard(
        request: Request, session: ConsoleSession, template: Template
    ) -> Response:
        layout = dashboard_form.posted_form(await request.form(), template.dashboard)
        data = dashboard_form.layout_of(layout)
        if data is None:
            return editor(session, template, tab="dashboard", layout=layout, status=400)
        try:
            await templates.set_dashboard(session.caller, template.id, data)
        except TemplateNotFound:
            return error_page(NOT_FOUND, 404)
        except PinbaseError as refused:
            dashboard_form.blame(layout, str(refused))
            return editor(session, template, tab="dashboard", layout=layout, status=400)
        return back_to(template, "dashboard")

    one = f"{TEMPLATES_PATH}/{{template_id:int}}"

    def child_routes(kind: Child) -> list[BaseRoute]:
        async def save(request: Request, session: ConsoleSession, template: Template) -> Response:
            return await save_child(request, session, template, kind)

        async def remove(request: Request, session: ConsoleSession, template: Template) -> Response:
            return await delete_child(request, session, template, kind)

        path = f"{one}/{kind.tab}"
        save_endpoint = on_template(save, edit=True)
        return [
            Route(path, save_endpoint, methods=["POST"]),
            Route(f"{path}/{{child_id:int}}", save_endpoint, methods=["POST"]),
            Route(
                f"{path}/{{child_id:int}}/delete", on_template(remove, edit=True), methods=["POST"]
            ),
        ]

    return [
        Route(TEMPLATES_PATH, template_list, methods=["GET"]),
        Route(TEMPLATES_PATH, create_template, methods=["POST"]),
        Route(one, on_template(template_page, edit=False), methods=["GET"]),
        Route(f"{one}/info", on_template(change_info, edit=True), methods=["POST"]),
        Route(f"{one}/delete", on_template(delete_template, edit=True), methods=["POST"]),
        Route(f"{one}/dashboard", on_template(save_dashboard, edit=True), methods=["POST"]),
        *(route for kind in kinds.values() for route in child_routes(kind)),
    ]


def _item(items: tuple[Any, ...], wanted: str) -> Any:
    return next((item for item in items if str(item.id) == wanted), None)
