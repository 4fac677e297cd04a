"""Signing a benchmark's console user in, as a browser does: ``POST /dashboard/login``.

The sign-in form (``http/console/sign_in.py``, ``templates/login.html``) posts ``email`` and
``password`` and needs no CSRF secret (the forms that open a session carry none; the ``Origin``
rule guards them, and httpx sends no ``Origin``). A right password is answered ``303`` to
``/dashboard`` with the session cookie; a wrong one ``401`` with the form again.
"""

import httpx

from pinbase.http.console.session import COOKIE
from pinbase.http.console.sign_in import LOGIN_PATH


def session_cookie(base_url: str, email: str, password: str) -> str:
    """The ``Cookie`` header value of a new session of ``email``."""
    with httpx.Client(base_url=base_url, timeout=10) as client:
        answer = client.post(LOGIN_PATH, data={"email": email, "password": password})
    token = answer.cookies.get(COOKIE)
    if answer.status_code != 303 or not token:
        raise RuntimeError(
            f"signing in as {email} failed: {LOGIN_PATH} answered {answer.status_code}"
        )
    return f"{COOKIE}={token}"
