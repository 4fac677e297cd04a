"""The Organizations page (console.md §1.6, issue #9 item 3): the caller's organization and
everything below it as a tree with device and user counts; creating a sub-organization and
deleting an empty one.

Every rule is ``services.organizations``' (the Platform API's PLT-ORG-04 and -08): scope, a
PERSONAL parent's children being PERSONAL, and which organization may be deleted. The form
fields are checked with the PLT-ORG-04 field rules of ``pinbase.domain``.
"""

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pinbase.domain.ids import OrgId
from pinbase.domain.organizations import DESCRIPTION, MAX_DESCRIPTION
from pinbase.domain.users import ORGANIZATION_NAME
from pinbase.http.console.access import done, form_text, notice_of, session_with
from pinbase.http.console.pages import signed_in_page
from pinbase.http.paths import CONSOLE_PATH
from pinbase.services.console_caller import Permission
from pinbase.services.console_sessions import ConsoleSession
from pinbase.services.container import Services
from pinbase.services.organizations import (
    OrganizationNotDeletable,
    OrganizationNotFound,
    ParentNotFound,
)
from pinbase.settings import Settings

ORGANIZATIONS_PATH = f"{CONSOLE_PATH}/organizations"
NOTICES = {
    "created": "The organization was created.",
    "deleted": "The organization was deleted.",
}
BAD_NAME = "The name needs 3 to 100 letters, digits, spaces, dots, hyphens or apostrophes."
BAD_DESCRIPTION = f"The description takes up to {MAX_DESCRIPTION} characters, without / \\ < >."
NO_PARENT = "That parent organization no longer exists."
GONE = "That organization no longer exists."
NOT_DELETABLE = (
    "Only an empty sub-organization can be deleted: move or delete its devices and "
    "sub-organizations first."
)


def organization_routes(services: Services, settings: Settings) -> list[BaseRoute]:
    """``/dashboard/organizations``: the page, creating and deleting."""
    organizations = services.organizations

    async def show(
        request: Request,
        session: ConsoleSession,
        *,
        error: str | None = None,
        entered: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        tree = await organizations.tree(session.caller)
        context = {
            "tree": tree,
            "notice": notice_of(request, NOTICES),
            "error": error,
            "entered": entered or {},
            "may_edit": session.caller.can(Permission.ORGANIZATIONS_EDIT),
        }
        return signed_in_page(
            session, "organizations.html", context, section="organizations", status=status
        )

    async def page(request: Request) -> Response:
        session = await session_with(request, Permission.ORGANIZATIONS_VIEW)
        if not isinstance(session, ConsoleSession):
            return session
        return await show(request, session)

    async def create(request: Request) -> Response:
        session = await session_with(request, Permission.ORGANIZATIONS_EDIT)
        if not isinstance(session, ConsoleSession):
            return session
        form = await request.form()
        entered = {key: form_text(form, key) for key in ("name", "description", "parent")}
        name, description = entered["name"], entered["description"]
        parent = entered["parent"]
        error = None
        if not re.fullmatch(ORGANIZATION_NAME, name):
            error = BAD_NAME
        elif len(description) > MAX_DESCRIPTION or not re.fullmatch(DESCRIPTION, description):
            error = BAD_DESCRIPTION
        elif parent and not (parent.isascii() and parent.isdigit()):
            error = NO_PARENT
        if error is None:
            try:
                await organizations.create(
                    session.caller,
                    parent_id=OrgId(int(parent)) if parent else None,
                    name=name,
                    description=description or None,
                    type=None,
                    tz=None,
                    unit_system=None,
                    phone_number=None,
                )
            except ParentNotFound:
                error = NO_PARENT
        if error is not None:
            return await show(request, session, error=error, entered=entered, status=400)
        return done(ORGANIZATIONS_PATH, "created")

    async def delete(request: Request) -> Response:
        session = await session_with(request, Permission.ORGANIZATIONS_EDIT)
        if not isinstance(session, ConsoleSession):
            return session
        org_id: int = request.path_params["org_id"]
        try:
            await organizations.delete(session.caller, OrgId(org_id))
        except OrganizationNotFound:
            return await show(request, session, error=GONE, status=404)
        except OrganizationNotDeletable:
            return await show(request, session, error=NOT_DELETABLE, status=400)
        return done(ORGANIZATIONS_PATH, "deleted")

    return [
        Route(ORGANIZATIONS_PATH, page, methods=["GET"]),
        Route(ORGANIZATIONS_PATH, create, methods=["POST"]),
        Route(f"{ORGANIZATIONS_PATH}/{{org_id:int}}/delete", delete, methods=["POST"]),
    ]
