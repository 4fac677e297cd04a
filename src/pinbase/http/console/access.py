"""What the administration pages (organizations, users, developer) share: the role gate, form
fields, absolute links and the notices shown after a change.

A page or form of a section the role may not open answers exactly like a page that does not
exist (``404``, as for a page that does not exist), so a Staff or User learns nothing from the URL.
Changes answer ``303`` to their page with a ``notice`` key (Post/Redirect/Get: reloading does
not repeat them); the key picks a fixed sentence, so no text of the URL reaches the page. The
two answers that carry a secret shown once (an invitation link, a client secret) render the page
directly instead: a redirect would have to put the secret in a URL.
"""

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pinbase.http.console.devices import sign_in_first
from pinbase.http.console.pages import error_page
from pinbase.http.console.session import console_session
from pinbase.services.console_caller import Permission
from pinbase.services.console_sessions import ConsoleSession
from pinbase.settings import Settings

NOT_FOUND = "There is nothing here."

MAX_ID = 2**31 - 1
"""User and organization ids are 32-bit columns: a larger number in a URL names nothing."""


async def session_with(request: Request, permission: Permission) -> ConsoleSession | Response:
    """The request's session when its role holds ``permission``; otherwise the answer to give:
    the sign-in page without a session, a ``404`` page without the permission."""
    session = await console_session(request)
    if session is None:
        return sign_in_first()
    if not session.caller.can(permission):
        return error_page(NOT_FOUND, 404)
    return session


def in_range(record_id: int) -> int:
    """``record_id``, or 0 (which names nothing) when it is past the columns' range: such a
    number must not reach PostgreSQL, which would refuse to compare it."""
    return record_id if record_id <= MAX_ID else 0


def form_text(form: FormData, name: str) -> str:
    """A text field of a posted form, stripped; empty when missing or a file."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def absolute_url(request: Request, settings: Settings, path: str) -> str:
    """``path`` on this server as the person's browser reaches it: ``public_url`` when set (a
    proxy in front), else the request's own scheme and host."""
    base = settings.public_url or f"{request.url.scheme}://{request.url.netloc}"
    return base.rstrip("/") + path


def done(path: str, notice: str) -> Response:
    """The answer to a change: back to ``path``, which shows the sentence of ``notice``."""
    return RedirectResponse(f"{path}?notice={notice}", status_code=303)


def notice_of(request: Request, notices: dict[str, str]) -> str | None:
    """The sentence a ``notice`` key in the query names, among the page's ``notices``."""
    return notices.get(request.query_params.get("notice", ""))
