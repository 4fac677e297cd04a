"""The ``Caller`` dependency: a valid ``Authorization: Bearer`` token, within its rate limit.

Missing, malformed, unknown and expired tokens all answer ``401 {"error":{"message":
"Unauthorized"}}`` (OP-19); the ``WWW-Authenticate`` header says which, in RFC 6750 §3 terms,
for whoever debugs a client. Then the caller's organization is charged one request (§1.11).
"""

from starlette.requests import Request

from pinbase.domain.ids import OrgId
from pinbase.http.platform_api import messages
from pinbase.http.platform_api.errors import PlatformError
from pinbase.services.oauth import Caller, OAuth
from pinbase.services.rate_limit import RateLimiter

MAX_TOKEN_CHARS = 256
"""Issued tokens have 40 characters; a much longer one is not worth hashing."""


def _unauthorized(challenge: str) -> PlatformError:
    return PlatformError(messages.UNAUTHORIZED, 401, {"WWW-Authenticate": challenge})


MISSING = 'Bearer realm="pinbase"'
MALFORMED = 'Bearer realm="pinbase", error="invalid_request"'
INVALID = (
    'Bearer realm="pinbase", error="invalid_token", '
    'error_description="The access token is unknown, revoked or expired"'
)


class BearerAuth:
    """FastAPI dependency resolving the request's bearer token to its ``Caller``."""

    def __init__(self, oauth: OAuth, limiter: RateLimiter[OrgId]) -> None:
        self._oauth = oauth
        self._limiter = limiter

    async def __call__(self, request: Request) -> Caller:
        """The caller, or a 401 / 429 ``PlatformError``."""
        header = request.headers.get("authorization")
        if header is None:
            raise _unauthorized(MISSING)
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_CHARS:
            raise _unauthorized(MALFORMED)
        caller = await self._oauth.authenticate(token)
        if caller is None:
            raise _unauthorized(INVALID)
        retry_after = self._limiter.hit(caller.org_id)
        if retry_after:
            raise PlatformError(messages.TOO_MANY_REQUESTS, 429, {"Retry-After": str(retry_after)})
        return caller
