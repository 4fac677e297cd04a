"""AUTH-01 ``POST /oauth2/token``: Authlib's RFC 6749 grants behind an asynchronous adapter.

Theory of operation. Authlib's ``AuthorizationServer`` does the protocol: it picks the grant by
``grant_type``, authenticates the client (``client_secret_basic`` or ``client_secret_post``),
validates the refresh token, asks for a token and shapes success and error bodies. It is
synchronous, so everything its callbacks need is fetched first:

1. parameters are merged from the query string (where Blynk's docs put them) and an
   ``application/x-www-form-urlencoded`` body (where OAuth2 libraries put them, OP-18);
2. the client named by the Basic header or ``client_id`` is loaded (memory, else database) and a
   refresh token's record is fetched;
3. Authlib runs; ``save_token`` and ``revoke_old_credential`` only note what to store;
4. the service stores the new tokens and revokes the rotated refresh token in one transaction,
   and only then is the answer sent.

Authlib lives here, in the HTTP layer, because its server is an HTTP protocol engine: it reads
headers and parameters and returns status, headers and body. Token formats, hashing, storage and
validation are the service's (``services/oauth.py``); the grants call into it.

Transport. Authlib refuses plain HTTP except on loopback (RFC 8252 §7.3), checking the URI it is
given. Pinbase gives it the peer's address as the host: a request from this machine (a local
client, or a reverse proxy on the same host that terminates TLS) never crossed a network in
clear text, whatever the ``Host`` header, which the client chooses, says. When ``public_url`` is
set, the operator declares the URL clients use (``https://…`` behind a proxy elsewhere), and that
is checked instead. Pinbase never sets ``AUTHLIB_INSECURE_TRANSPORT``, which would switch the
check off for the whole process: an operator who really serves tokens over plain HTTP beyond
loopback sets it, Authlib's own switch, in the server's environment.
"""

import base64
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson
from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    AuthorizationServer,
    ClientCredentialsGrant,
    InsecureTransportError,
    OAuth2Request,
    RefreshTokenGrant,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload  # type: ignore[import-untyped]
from starlette.requests import Request
from starlette.responses import Response

from pinbase.domain.organizations import OAuthClient
from pinbase.http.responses import JSON
from pinbase.services.oauth import (
    ClientGone,
    OAuth,
    RefreshRaceLost,
    is_secret_of,
    new_token_text,
)
from pinbase.settings import Settings
from pinbase.storage.base import StoredToken

logger = logging.getLogger(__name__)

TOKEN_PATH = "/oauth2/token"  # noqa: S105  # a path, not a credential
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
GRANT_TYPES = ("client_credentials", "refresh_token")
FORM = "application/x-www-form-urlencoded"
MAX_PARAMETERS = 32
"""Far more than the five parameters AUTH-01 knows; a longer list is not a token request."""

INVALID_CLIENT = "Client ID is not found or password is wrong."
"""The one error description Blynk documents (AUTH-01), byte-exact."""

DESCRIPTIONS = {
    "invalid_request": "The request is missing a parameter or repeats one.",
    "invalid_grant": "The refresh token is invalid, expired, revoked or of another client.",
    "unsupported_grant_type": "grant_type must be client_credentials or refresh_token.",
    "unauthorized_client": "The client may not use this grant type.",
}
"""Pinbase's descriptions where Authlib gives none or repeats the request's input back."""

NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}
"""RFC 6749 §5.1: token responses must not be cached."""


class _Client:
    """An ``OAuthClient`` as Authlib's ``ClientMixin`` expects it."""

    def __init__(self, client: OAuthClient) -> None:
        self.client = client

    def get_client_id(self) -> str:
        return self.client.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        return is_secret_of(self.client, client_secret)

    def check_endpoint_auth_method(self, method: str, _endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES

    def get_allowed_scope(self, _scope: str | None) -> str:
        # The Platform API has no OAuth scopes: a token acts for its client's organization.
        return ""


class _RefreshRecord:
    """A prefetched refresh token as Authlib's token model expects it."""

    def __init__(self, record: StoredToken) -> None:
        self.record = record

    def check_client(self, client: _Client) -> bool:
        return self.record.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return ""


class _TokenRequest(OAuth2Request):  # type: ignore[misc]  # Authlib ships no type hints
    """One token request with its merged parameters and what the grant decided."""

    def __init__(self, uri: str, headers: Mapping[str, str], params: dict[str, str]) -> None:
        super().__init__("POST", uri, headers=headers)
        self.payload = BasicOAuth2Payload(params)
        self._params = params
        self.prefetched_refresh: StoredToken | None = None
        self.issued: tuple[StoredToken, ...] = ()
        self.rotated: StoredToken | None = None

    @property
    def form(self) -> dict[str, str]:
        return self._params

    @property
    def args(self) -> dict[str, str]:
        return self._params


class _ClientCredentialsGrant(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """Authlib's response, except that a refresh token is included.

        RFC 6749 §4.4.3 says a refresh token SHOULD NOT be issued here, but Blynk's answer
        carries one and its documented refresh calls depend on it (AUTH-01).
        """
        token = self.generate_token(scope=None, include_refresh_token=True)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class _RefreshTokenGrant(RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every use returns a new refresh token

    def authenticate_refresh_token(self, refresh_token: str) -> _RefreshRecord | None:
        record = self.request.prefetched_refresh
        if record is None or not self.server.oauth.is_usable_refresh(record, refresh_token):
            return None
        return _RefreshRecord(record)

    def authenticate_user(self, refresh_token: _RefreshRecord) -> _RefreshRecord:
        # No resource owner: the token acts for the client's organization. Authlib only needs a
        # truthy value here.
        return refresh_token

    def revoke_old_credential(self, refresh_token: _RefreshRecord) -> None:
        self.request.rotated = refresh_token.record


class _Server(AuthorizationServer):  # type: ignore[misc]
    """Authlib's server with Pinbase's clients and token format; never touches storage."""

    def __init__(self, oauth: OAuth) -> None:
        super().__init__()
        self.oauth = oauth
        self.register_grant(_ClientCredentialsGrant)
        self.register_grant(_RefreshTokenGrant)
        self.register_token_generator("default", self._generate)

    def query_client(self, client_id: str) -> _Client | None:
        client = self.oauth.client(client_id)
        return None if client is None else _Client(client)

    def create_oauth2_request(self, request: _TokenRequest) -> _TokenRequest:
        return request

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, headers

    def save_token(self, token: dict[str, Any], request: _TokenRequest) -> None:
        request.issued = self.oauth.records(
            request.client.client,
            access=token["access_token"],
            refresh=token.get("refresh_token"),
        )

    def send_signal(self, name: str, *args: object, **kwargs: object) -> None:
        """Authlib's hook for framework signals; Pinbase listens to none."""

    def _generate(
        self,
        grant_type: str,
        client: _Client,
        user: object = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        token: dict[str, Any] = {
            "access_token": new_token_text(),
            "token_type": "Bearer",
            "expires_in": self.oauth.access_ttl_s,
        }
        if include_refresh_token:
            token["refresh_token"] = new_token_text()
        return token


class TokenEndpoint:
    """The ``/oauth2/token`` handler."""

    def __init__(self, oauth: OAuth, settings: Settings) -> None:
        self._oauth = oauth
        self._server = _Server(oauth)
        self._public_url = settings.public_url

    async def token(self, request: Request) -> Response:
        """Issue a token pair, or refresh one; RFC 6749 error bodies with status 400."""
        params = await _parameters(request)
        if params is None:
            return token_error("invalid_request")
        if not params.get("grant_type"):
            return token_error("invalid_request", "The grant_type parameter is missing.")
        try:
            basic = _basic_client_id(request.headers.get("authorization"))
        except _MalformedBasic:
            return token_error("invalid_client")
        for client_id in {basic, params.get("client_id")}:
            if client_id:
                await self._oauth.load_client(client_id)
        try:
            token_request = _TokenRequest(self._uri(request), request.headers, params)
        except InsecureTransportError as error:
            return token_error(error.error, error.description)
        refresh = params.get("refresh_token")
        if params["grant_type"] == "refresh_token" and refresh:
            token_request.prefetched_refresh = await self._oauth.find_refresh(refresh)
        status, body, _headers = self._server.create_token_response(token_request)
        if status != 200:
            return token_error(body["error"], body.get("error_description"))
        try:
            await self._oauth.persist(token_request.issued, rotated=token_request.rotated)
        except RefreshRaceLost:
            return token_error("invalid_grant")
        except ClientGone:
            return token_error("invalid_client")
        client_id = token_request.client.get_client_id()
        logger.info("oauth.token_issued client_id=%s grant=%s", client_id, params["grant_type"])
        return _json(body, 200)

    def _uri(self, request: Request) -> str:
        """The request's URI as Authlib's transport check should see it (module docstring).

        Over plain HTTP the host is the peer's address: a connection from this machine never
        crosses a network, whatever the ``Host`` header or the listening address say.
        """
        path = request.url.path
        if self._public_url:
            return self._public_url.rstrip("/") + path
        peer = request.scope.get("client")
        host = str(peer[0]) if peer else "unknown"
        host = f"[{host}]" if ":" in host else host
        return f"{request.url.scheme}://{host}{path}"


async def _parameters(request: Request) -> dict[str, str] | None:
    """Query and form parameters in one dict; None if malformed or if a name repeats."""
    pairs = parse_qsl(request.url.query, keep_blank_values=True)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == FORM:
        try:
            body = (await request.body()).decode()
        except UnicodeDecodeError:
            return None
        pairs += parse_qsl(body, keep_blank_values=True)
    if len(pairs) > MAX_PARAMETERS:
        return None
    params = dict(pairs)
    if len(params) != len(pairs):
        return None  # RFC 6749 §3.2: parameters must not be included more than once
    # RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were omitted".
    return {name: value for name, value in params.items() if value}


class _MalformedBasic(Exception):
    """A Basic ``Authorization`` header that is not Base64 of UTF-8 text."""


def _basic_client_id(header: str | None) -> str | None:
    """The client id of a Basic ``Authorization`` header; None without such a header.

    Authlib decodes the header itself, but bytes that are not UTF-8 would raise out of it; such
    a header is refused here first.

    Raises:
        _MalformedBasic: the credentials do not decode.
    """
    if header is None or " " not in header:
        return None
    # Split as Authlib's ``extract_basic_authorization`` does, so that every header it would
    # take apart has been checked here first. Starlette decodes header bytes as Latin-1, and
    # ``str.split`` also splits at U+00A0, so a header with a space may still give one part.
    parts = header.split(None, 1)
    if len(parts) != 2:
        raise _MalformedBasic
    scheme, credentials = parts
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except ValueError:  # bad Base64, a non-ASCII character, or bytes that are not UTF-8
        raise _MalformedBasic from None
    return unquote(decoded.partition(":")[0])


def token_error(code: str, description: str | None = None) -> Response:
    """An RFC 6749 §5.2 error; ``invalid_client`` always with Blynk's documented text.

    Always status 400 as AUTH-01 documents, also where RFC 6749 allows 401 for a failed Basic
    authentication.
    """
    if code == "invalid_client":
        description = INVALID_CLIENT
    elif not description:
        description = DESCRIPTIONS.get(code, "The token request was refused.")
    return _json({"error": code, "error_description": description}, 400)


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type=JSON, headers=NO_STORE_HEADERS
    )
