"""The Developer page (console.md §1.8, issue #9 item 3): the OAuth2 clients of the caller's
organization, with which programs call the Platform API (AUTH-01).

Creating one shows its secret this once (only a hash is stored, ``services.oauth``); the table
then shows it masked. Revoking deletes the client with its tokens through ``OAuth.revoke_client``
(``delete_client``), which announces it: its tokens are refused from the next request.
"""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pinbase.http.console.access import absolute_url, done, form_text, notice_of, session_with
from pinbase.http.console.pages import signed_in_page
from pinbase.http.oauth import TOKEN_PATH
from pinbase.http.paths import CONSOLE_PATH, PLATFORM_PREFIX
from pinbase.services.console_caller import Permission
from pinbase.services.console_sessions import ConsoleSession
from pinbase.services.container import Services
from pinbase.services.oauth import MAX_CLIENT_NAME, ClientNotFound
from pinbase.settings import Settings

DEVELOPER_PATH = f"{CONSOLE_PATH}/developer"
CLIENTS_PATH = f"{DEVELOPER_PATH}/clients"

NOTICES = {"revoked": "The client was revoked: its tokens are refused from now on."}
BAD_NAME = f"The name takes 1 to {MAX_CLIENT_NAME} printable characters."
GONE = "That client no longer exists."


def developer_routes(services: Services, settings: Settings) -> list[BaseRoute]:
    """``/dashboard/developer``: the page, creating and revoking OAuth2 clients."""
    oauth = services.oauth

    async def show(
        request: Request,
        session: ConsoleSession,
        *,
        created: dict[str, str] | None = None,
        error: str | None = None,
        entered: str = "",
        status: int = 200,
    ) -> Response:
        context = {
            "clients": await oauth.clients_of(session.caller),
            "created": created,
            "token_url": absolute_url(request, settings, TOKEN_PATH),
            "api_url": absolute_url(request, settings, f"{PLATFORM_PREFIX}v1"),
            "notice": notice_of(request, NOTICES),
            "error": error,
            "entered": entered,
        }
        return signed_in_page(
            session, "developer.html", context, section="developer", status=status
        )

    async def page(request: Request) -> Response:
        session = await session_with(request, Permission.DEVELOPER)
        if not isinstance(session, ConsoleSession):
            return session
        return await show(request, session)

    async def create(request: Request) -> Response:
        session = await session_with(request, Permission.DEVELOPER)
        if not isinstance(session, ConsoleSession):
            return session
        name = form_text(await request.form(), "name")
        if not 1 <= len(name) <= MAX_CLIENT_NAME or not name.isprintable():
            return await show(request, session, error=BAD_NAME, entered=name[:256], status=400)
        try:
            client, secret = await oauth.add_client(session.caller, name)
        except ClientNotFound:  # the organization was deleted meanwhile
            return await show(request, session, error=GONE, status=404)
        created = {"name": client.name, "client_id": client.client_id, "secret": secret}
        return await show(request, session, created=created, status=201)

    async def revoke(request: Request) -> Response:
        session = await session_with(request, Permission.DEVELOPER)
        if not isinstance(session, ConsoleSession):
            return session
        try:
            await oauth.revoke_client(session.caller, request.path_params["client_id"])
        except ClientNotFound:
            return await show(request, session, error=GONE, status=404)
        return done(DEVELOPER_PATH, "revoked")

    return [
        Route(DEVELOPER_PATH, page, methods=["GET"]),
        Route(CLIENTS_PATH, create, methods=["POST"]),
        Route(f"{CLIENTS_PATH}/{{client_id}}/delete", revoke, methods=["POST"]),
    ]
