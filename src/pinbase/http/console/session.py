"""Cookie → session → ``ConsoleCaller``, and the CSRF rule, for every console request.

``ConsoleSessionMiddleware`` runs in front of every console route (pages, JSON endpoints, the
live socket): it resolves the ``pinbase_session`` cookie once per request (kept in the request
state, where ``console_session`` and ``console_caller`` read it), renews the cookie when the
session's sliding expiry moved, and refuses a state-changing request (``POST``, ``PUT``,
``PATCH``, ``DELETE``) with ``403`` when

- it comes from another site (``Sec-Fetch-Site``, or an ``Origin`` header naming another host
  than the request's own or ``public_url``'s); this also guards the forms used before a
  session exists (sign-in, invitation), against signing a victim in to an attacker's account;
- it carries a session but not that session's CSRF secret, as the ``X-CSRF-Token`` header
  (scripts) or a ``csrf_token`` form field (HTML forms). The forms that open a session (sign-in,
  invitation) need no secret: the ``Origin`` rule guards them, and a stale sign-in tab of a
  signed-in browser must still work.

The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (not sent on cross-site
sub-requests or form posts), ``Path=/dashboard`` (the other API families never see it) and
``Secure`` when the request came over https or ``public_url`` is https (a TLS proxy in front).
"""

import hmac
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pinbase.http.paths import CONSOLE_PATH
from pinbase.http.replay import replay_body
from pinbase.services.console_caller import ConsoleCaller
from pinbase.services.console_sessions import ConsoleSession, ConsoleSessions
from pinbase.settings import Settings

COOKIE = "pinbase_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
MAX_TOKEN_CHARS = 128
"""A session token is 43 characters; a longer cookie is not looked up."""
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STATE_KEY = "console_session"
_UNRESOLVED = object()


def session_cookie(session: ConsoleSession, *, secure: bool, max_age_s: int) -> str:
    """The ``Set-Cookie`` value that carries ``session.token``."""
    attributes = f"Max-Age={max_age_s}; Path={CONSOLE_PATH}; HttpOnly; SameSite=Lax"
    return f"{COOKIE}={session.token}; {attributes}" + ("; Secure" if secure else "")


def cleared_cookie(*, secure: bool) -> str:
    """The ``Set-Cookie`` value that removes the session cookie (signing out)."""
    attributes = f"Max-Age=0; Path={CONSOLE_PATH}; HttpOnly; SameSite=Lax"
    return f"{COOKIE}=; {attributes}" + ("; Secure" if secure else "")


def is_secure(conn: HTTPConnection, settings: Settings) -> bool:
    """Whether cookies must be ``Secure``: https here, or https in front (``public_url``)."""
    public = settings.public_url or ""
    return conn.url.scheme in ("https", "wss") or public.startswith("https://")


async def console_session(conn: HTTPConnection) -> ConsoleSession | None:
    """The request's valid session, or None (resolved once per request)."""
    state = conn.scope.setdefault("state", {})
    found = state.get(_STATE_KEY, _UNRESOLVED)
    if found is _UNRESOLVED:
        found = await current_session(conn)
        state[_STATE_KEY] = found
    return found if isinstance(found, ConsoleSession) else None


async def current_session(conn: HTTPConnection) -> ConsoleSession | None:
    """The session of the connection's cookie as it is now, read again on every call: a
    long-lived socket asks it to learn that its session ended (signed out, user deleted)."""
    sessions: ConsoleSessions = conn.app.state.console_sessions
    token = conn.cookies.get(COOKIE, "")
    return await sessions.resolve(token) if 0 < len(token) <= MAX_TOKEN_CHARS else None


async def console_caller(conn: HTTPConnection) -> ConsoleCaller | None:
    """Who the request acts for, or None when it is not signed in. Pages, JSON endpoints and the
    live socket all take it (the ``caller_of`` of console route factories)."""
    session = await console_session(conn)
    return None if session is None else session.caller


def csrf_matches(session: ConsoleSession, sent: str | None) -> bool:
    """Whether ``sent`` is the session's CSRF secret (compared in constant time)."""
    return sent is not None and hmac.compare_digest(sent.encode(), session.csrf_token.encode())


def same_origin(conn: HTTPConnection, settings: Settings) -> bool:
    """Whether the request comes from this server's own pages.

    Browsers say so in ``Sec-Fetch-Site`` (``same-origin``, or ``none`` for something the user
    typed); older ones only send ``Origin`` on cross-site form posts and script requests, which
    must then name the request's own host, or ``public_url``'s (a proxy may rewrite ``Host``).
    A request with neither header (not a browser) passes: CSRF is a browser attack.
    """
    site = conn.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    host = urlsplit(origin).netloc
    allowed = {conn.headers.get("host", ""), urlsplit(settings.public_url or "").netloc}
    return host in allowed - {""}


class ConsoleSessionMiddleware:
    """Resolves the session, renews its cookie, and enforces the CSRF rule (module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        refusal: Callable[[str, str], Response],
        skip: str,
        opening: tuple[str, ...],
    ) -> None:
        """``refusal(path, message)`` answers a refused request in the format of its path's
        family; paths starting with ``skip`` (static files) pass untouched; paths starting with
        one of ``opening`` open a session and need no CSRF secret."""
        self._app = app
        self._settings = settings
        self._refusal = refusal
        self._max_age_s = round(settings.console_session_days * 86_400)
        self._skip = skip
        self._opening = opening

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then call the app, adding a renewed cookie to its answer."""
        if scope["type"] not in ("http", "websocket") or scope["path"].startswith(self._skip):
            await self._app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        session = await console_session(conn)
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            request = Request(scope, receive)
            refused = await self._refused(request, session)
            if refused is not None:
                await self._refusal(scope["path"], refused)(scope, receive, send)
                return
            receive = replay_body(await request.body(), receive)
        if session is None or session.token is None:
            await self._app(scope, receive, send)
            return
        # The expiry slid forward: so does the cookie's.
        cookie = session_cookie(
            session, secure=is_secure(conn, self._settings), max_age_s=self._max_age_s
        )

        async def renewing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"set-cookie", cookie.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, receive, renewing)

    async def _refused(self, request: Request, session: ConsoleSession | None) -> str | None:
        """Why a state change is refused (cross-site, or without the session's CSRF secret), or
        None. The body is read here; the caller replays it to the route."""
        if not same_origin(request, self._settings):
            return "This request came from another site."
        await request.body()
        if session is None or request.url.path.startswith(self._opening):
            return None
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and _is_form(request):
            # Closed here: a multipart file part (a firmware upload) spools to a temporary file.
            async with request.form() as form:
                sent = _field(form)
        if csrf_matches(session, sent):
            return None
        return "The form has expired: reload the page and try again."


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def _field(form: FormData) -> str | None:
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else None
