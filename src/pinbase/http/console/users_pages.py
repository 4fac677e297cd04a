"""The Users page (console.md §1.7, issue #9 items 2 and 3): the users of the caller's
organization tree; inviting one, a new invitation link, changing a role, deleting a user.

The rules are the services' (PLT-USR-06 inviting, PLT-USR-09 changing a role, scope, the
``services.users`` delete that leaves devices without an owner and ends the user's sessions);
form fields are checked with the PLT-USR-06 field rules of ``pinbase.domain.users``. Pinbase
sends no e-mail, so inviting shows the inviting Admin the invitation link
(``services.invitations``) with a Copy button, for delivery by other means (console.md §1.2's
recommendation). An Admin may not change its own role or delete itself here: one click would
lock it out of this page.
"""

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pinbase.domain.users import EMAIL, INVITED, MAX_EMAIL, NAME, PENDING, ROLES
from pinbase.http.console.access import (
    absolute_url,
    done,
    form_text,
    in_range,
    notice_of,
    session_with,
)
from pinbase.http.console.pages import signed_in_page
from pinbase.http.console.sign_in import invitation_path
from pinbase.http.paths import CONSOLE_PATH
from pinbase.services.console_caller import Permission
from pinbase.services.console_sessions import ConsoleSession
from pinbase.services.container import Services
from pinbase.services.invitations import InviteeNotFound
from pinbase.services.users import EmailInUse, OrganizationNotFound, RoleNotFound, UserNotFound
from pinbase.settings import Settings

USERS_PATH = f"{CONSOLE_PATH}/users"
MAX_ROWS = 500
"""Users listed at once; the count above the table says when there are more."""

NOTICES = {
    "role": "The role was changed.",
    "deleted": "The user was deleted: its sessions ended and its devices have no owner now.",
}
BAD_NAME = "The name takes up to 50 letters, spaces, dots, hyphens or apostrophes."
BAD_EMAIL = "That is not an e-mail address."
BAD_ROLE = "Choose Admin, Staff or User."
BAD_ORGANIZATION = "That organization no longer exists."
EMAIL_TAKEN = "A user with that e-mail address exists already."
GONE = "That user no longer exists."
NOT_YOURSELF = "You cannot change your own role or delete yourself here."


def user_routes(services: Services, settings: Settings) -> list[BaseRoute]:
    """``/dashboard/users``: the page, inviting, invitation links, roles and deleting."""
    users = services.users

    async def show(
        request: Request,
        session: ConsoleSession,
        *,
        link: dict[str, object] | None = None,
        error: str | None = None,
        entered: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        caller = session.caller
        rows, total = await users.page(caller, include_sub_orgs=True, offset=0, limit=MAX_ROWS)
        organizations = services.directory.organizations_in(caller.scope)
        names = {org.id: org.name for org in organizations}
        context = {
            "users": rows,
            "total": total,
            "organization_names": names,
            "organizations": organizations,
            "roles": ROLES,
            "awaiting": (PENDING, INVITED),
            "may_edit": caller.can(Permission.USERS_EDIT),
            "link": link,
            "notice": notice_of(request, NOTICES),
            "error": error,
            "entered": entered or {},
        }
        return signed_in_page(session, "users.html", context, section="users", status=status)

    async def with_link(request: Request, session: ConsoleSession, user_id: int) -> Response:
        """The page with a new invitation link for ``user_id`` (shown this once)."""
        try:
            user = await users.get(session.caller, in_range(user_id))
            invitation = await services.invitations.invitation_link(session.caller, user.id)
        except (UserNotFound, InviteeNotFound):  # out of scope, or deleted meanwhile
            return await show(request, session, error=GONE, status=404)
        link = {
            "name": user.name,
            "email": user.email,
            "url": absolute_url(request, settings, invitation_path(invitation.token)),
            "expires_at": invitation.expires_at,
        }
        return await show(request, session, link=link)

    async def page(request: Request) -> Response:
        session = await session_with(request, Permission.USERS_VIEW)
        if not isinstance(session, ConsoleSession):
            return session
        return await show(request, session)

    async def invite(request: Request) -> Response:
        session = await session_with(request, Permission.USERS_EDIT)
        if not isinstance(session, ConsoleSession):
            return session
        form = await request.form()
        entered = {key: form_text(form, key) for key in ("name", "email", "role", "organization")}
        error = invitation_error(entered)
        if error is None:
            organization = entered["organization"]
            try:
                invited = await users.invite(
                    session.caller,
                    org_id=int(organization) if organization else None,
                    role_id=int(entered["role"]),
                    email=entered["email"],
                    name=entered["name"],
                    locale=None,
                )
            except EmailInUse:
                error = EMAIL_TAKEN
            except OrganizationNotFound:
                error = BAD_ORGANIZATION
            except RoleNotFound:
                error = BAD_ROLE
            else:
                return await with_link(request, session, invited.id)
        return await show(request, session, error=error, entered=entered, status=400)

    async def new_link(request: Request) -> Response:
        session = await session_with(request, Permission.USERS_EDIT)
        if not isinstance(session, ConsoleSession):
            return session
        return await with_link(request, session, request.path_params["user_id"])

    async def change_role(request: Request) -> Response:
        session = await session_with(request, Permission.USERS_EDIT)
        if not isinstance(session, ConsoleSession):
            return session
        user_id: int = request.path_params["user_id"]
        if user_id == session.caller.user_id:
            return await show(request, session, error=NOT_YOURSELF, status=400)
        role = form_text(await request.form(), "role")
        if not is_role(role):
            return await show(request, session, error=BAD_ROLE, status=400)
        try:
            await users.set_role(session.caller, in_range(user_id), int(role))
        except UserNotFound:
            return await show(request, session, error=GONE, status=404)
        return done(USERS_PATH, "role")

    async def delete(request: Request) -> Response:
        session = await session_with(request, Permission.USERS_EDIT)
        if not isinstance(session, ConsoleSession):
            return session
        user_id: int = request.path_params["user_id"]
        if user_id == session.caller.user_id:
            return await show(request, session, error=NOT_YOURSELF, status=400)
        try:
            await users.delete(session.caller, in_range(user_id))
        except UserNotFound:
            return await show(request, session, error=GONE, status=404)
        return done(USERS_PATH, "deleted")

    return [
        Route(USERS_PATH, page, methods=["GET"]),
        Route(USERS_PATH, invite, methods=["POST"]),
        Route(f"{USERS_PATH}/{{user_id:int}}/invitation", new_link, methods=["POST"]),
        Route(f"{USERS_PATH}/{{user_id:int}}/role", change_role, methods=["POST"]),
        Route(f"{USERS_PATH}/{{user_id:int}}/delete", delete, methods=["POST"]),
    ]


def is_role(text: str) -> bool:
    """Whether a form's role field names one of the predefined roles (its id)."""
    return text in {str(role_id) for role_id in ROLES}


def invitation_error(entered: dict[str, str]) -> str | None:
    """What is wrong with an invitation form (PLT-USR-06's field rules), or None."""
    if not re.fullmatch(NAME, entered["name"]):
        return BAD_NAME
    email = entered["email"]
    if len(email) > MAX_EMAIL or not re.fullmatch(EMAIL, email):
        return BAD_EMAIL
    if not is_role(entered["role"]):
        return BAD_ROLE
    organization = entered["organization"]
    if organization and not (organization.isascii() and organization.isdigit()):
        return BAD_ORGANIZATION
    return None
