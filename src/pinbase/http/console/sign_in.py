"""Signing in and out, and setting a password through an invitation link (console.md §1.2).

A refused sign-in is answered after the delay the throttle chose (``services.console_sessions``),
held in the request's own task; at most ``MAX_HELD_ANSWERS`` answers wait at once, past that a
refusal is answered at once, so the rule cannot be turned into a way of making the server hold
connections without bound (the device listeners' tarpit has the same bound).
"""

import asyncio
import logging

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pinbase.http.console.pages import error_page, render
from pinbase.http.console.session import (
    COOKIE,
    cleared_cookie,
    console_session,
    is_secure,
    session_cookie,
)
from pinbase.http.paths import CONSOLE_PATH
from pinbase.services.console_sessions import ConsoleSession, SignInRefused
from pinbase.services.container import Services
from pinbase.services.invitations import (
    MIN_PASSWORD_CHARS,
    InvitationNotFound,
    PasswordRejected,
)
from pinbase.settings import Settings

logger = logging.getLogger(__name__)

LOGIN_PATH = f"{CONSOLE_PATH}/login"
LOGOUT_PATH = f"{CONSOLE_PATH}/logout"
INVITE_PATH = f"{CONSOLE_PATH}/invite"

WRONG_CREDENTIALS = "Wrong email or password."
SLOWED = "Too many failed attempts: each further one is answered more slowly."
INVALID_INVITATION = "This invitation link is invalid, already used, or expired."

MAX_HELD_ANSWERS = 64
"""Refused sign-ins held at once, across the process: each holds a connection and a task."""


def invitation_path(token: str) -> str:
    """The path of the page an invitation link opens."""
    return f"{INVITE_PATH}/{token}"


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


class _Holds:
    """Counts the refused sign-ins waiting now."""

    def __init__(self) -> None:
        self.waiting = 0

    async def hold(self, delay_s: float) -> None:
        if delay_s <= 0 or self.waiting >= MAX_HELD_ANSWERS:
            return
        self.waiting += 1
        try:
            await asyncio.sleep(delay_s)
        finally:
            self.waiting -= 1


def sign_in_routes(services: Services, settings: Settings) -> list[BaseRoute]:
    """``/dashboard/login``, ``/dashboard/logout`` and ``/dashboard/invite/{token}``."""
    holds = _Holds()
    max_age_s = round(settings.console_session_days * 86_400)

    def signed_in(request: Request, session: ConsoleSession) -> Response:
        response = RedirectResponse(CONSOLE_PATH, status_code=303)
        if session.token is not None:
            cookie = session_cookie(
                session, secure=is_secure(request, settings), max_age_s=max_age_s
            )
            response.headers.append("Set-Cookie", cookie)
        return response

    def login_form(email: str = "", error: str | None = None, status: int = 200) -> Response:
        return render("login.html", {"email": email, "error": error}, status=status)

    async def login_page(request: Request) -> Response:
        if await console_session(request) is not None:
            return RedirectResponse(CONSOLE_PATH, status_code=303)
        return login_form()

    async def login(request: Request) -> Response:
        form = await request.form()
        email, password = _text(form, "email"), _text(form, "password")
        address = request.client.host if request.client else ""
        try:
            session = await services.console_sessions.sign_in(email, password, address=address)
        except SignInRefused as refused:
            await holds.hold(refused.delay_s)
            message = WRONG_CREDENTIALS + (f" {SLOWED}" if refused.delay_s > 0 else "")
            return login_form(email[:255], message, status=401)
        await end_previous(request)
        return signed_in(request, session)

    async def end_previous(request: Request) -> None:
        """End the session the browser held before (signing in again, or as someone else)."""
        token = request.cookies.get(COOKIE)
        if token:
            await services.console_sessions.sign_out(token)

    async def logout(request: Request) -> Response:
        await end_previous(request)
        response = RedirectResponse(LOGIN_PATH, status_code=303)
        response.headers.append("Set-Cookie", cleared_cookie(secure=is_secure(request, settings)))
        return response

    def invite_form(email: str, error: str | None = None, status: int = 200) -> Response:
        return render(
            "invite.html",
            {"email": email, "error": error, "min_chars": MIN_PASSWORD_CHARS},
            status=status,
        )

    async def invite_page(request: Request) -> Response:
        try:
            user = await services.invitations.invitee(request.path_params["token"])
        except InvitationNotFound:
            return error_page(INVALID_INVITATION, 404)
        return invite_form(user.email)

    async def accept_invitation(request: Request) -> Response:
        token = request.path_params["token"]
        form = await request.form()
        try:
            user = await services.invitations.invitee(token)
            session = await services.invitations.accept(
                token, password=_text(form, "password"), confirmation=_text(form, "confirmation")
            )
        except InvitationNotFound:
            return error_page(INVALID_INVITATION, 404)
        except PasswordRejected as rejected:
            return invite_form(user.email, str(rejected), status=400)
        await end_previous(request)
        return signed_in(request, session)

    return [
        Route(LOGIN_PATH, login_page, methods=["GET"]),
        Route(LOGIN_PATH, login, methods=["POST"]),
        Route(LOGOUT_PATH, logout, methods=["POST"]),
        Route(f"{INVITE_PATH}/{{token}}", invite_page, methods=["GET"]),
        Route(f"{INVITE_PATH}/{{token}}", accept_invitation, methods=["POST"]),
    ]
