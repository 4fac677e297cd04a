"""AUTH-01 ``POST /oauth2/token`` over HTTP, and bearer tokens on the Platform API."""

import base64
import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from platform_http import bearer, client_of, error, issue_token, second_org

from pinbase.testing import ServerProcess, provision, run_cli
from testspec import Pool, load_spec

TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{40}")
INVALID_CLIENT = {
    "error": "invalid_client",
    "error_description": "Client ID is not found or password is wrong.",
}
DEVICE_INFO = "/api/v1/organization/device/online"


@pytest.fixture
def client(pool: Pool) -> tuple[str, str]:
    """The pool organization's OAuth client credentials."""
    return client_of(pool.created)


def oauth_error(answer: httpx.Response) -> str:
    """The ``error`` code of a 400 RFC 6749 answer."""
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert set(body) == {"error", "error_description"}
    code: str = body["error"]
    return code


def can_read(http: httpx.Client, access_token: str, device_id: int) -> bool:
    """Whether the token reads a device's connection status."""
    answer = http.get(f"{DEVICE_INFO}?deviceId={device_id}", headers=bearer(access_token))
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


def assert_token_pair(answer: httpx.Response) -> dict[str, Any]:
    """A 200 answer with AUTH-01's shape, not cacheable."""
    assert answer.status_code == 200, answer.text
    pair: dict[str, Any] = answer.json()
    assert set(pair) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert (pair["token_type"], pair["expires_in"]) == ("Bearer", 300)
    assert TOKEN_SHAPE.fullmatch(pair["access_token"])
    assert TOKEN_SHAPE.fullmatch(pair["refresh_token"])
    assert pair["access_token"] != pair["refresh_token"]
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-type"].startswith("application/json")
    return pair


# --- the four documented call shapes, and a form body --------------------------------------


def test_client_credentials_in_a_basic_header(
    http: httpx.Client, client: tuple[str, str], device: dict[str, Any]
) -> None:
    """grant_type=client_credentials with a Basic header issues a working token pair."""
    pair = assert_token_pair(http.post("/oauth2/token?grant_type=client_credentials", auth=client))
    assert can_read(http, pair["access_token"], device["id"])


def test_client_credentials_in_the_query(
    http: httpx.Client, client: tuple[str, str], device: dict[str, Any]
) -> None:
    """client_id and client_secret in the query string authenticate the client."""
    client_id, secret = client
    answer = http.post(
        "/oauth2/token",
        params={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
        },
    )
    assert can_read(http, assert_token_pair(answer)["access_token"], device["id"])


def test_refresh_with_a_basic_header(
    http: httpx.Client, client: tuple[str, str], device: dict[str, Any]
) -> None:
    """grant_type=refresh_token with a Basic header issues a new, working pair."""
    first = issue_token(http, client)
    answer = http.post(
        "/oauth2/token",
        params={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=client,
    )
    second = assert_token_pair(answer)
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert can_read(http, second["access_token"], device["id"])


def test_refresh_in_the_query(http: httpx.Client, client: tuple[str, str]) -> None:
    """The refresh token and the client credentials may all travel in the query string."""
    client_id, secret = client
    first = issue_token(http, client)
    query = (
        f"grant_type=refresh_token&refresh_token={first['refresh_token']}"
        f"&client_id={client_id}&client_secret={secret}"
    )
    assert_token_pair(http.post(f"/oauth2/token?{query}"))


def test_parameters_in_a_form_body(
    http: httpx.Client, client: tuple[str, str], device: dict[str, Any]
) -> None:
    """An x-www-form-urlencoded body works as stock OAuth2 libraries send it (OP-18)."""
    client_id, secret = client
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    pair = assert_token_pair(http.post("/oauth2/token", data=form))
    refreshed = http.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
        auth=client,
    )
    assert can_read(http, assert_token_pair(refreshed)["access_token"], device["id"])


def test_query_and_form_parameters_combine(http: httpx.Client, client: tuple[str, str]) -> None:
    """grant_type in the query and the credentials in the body make one request."""
    client_id, secret = client
    answer = http.post(
        "/oauth2/token?grant_type=client_credentials",
        data={"client_id": client_id, "client_secret": secret},
    )
    assert_token_pair(answer)


# --- refresh rotation ---------------------------------------------------------------------


def test_a_used_refresh_token_is_refused(http: httpx.Client, client: tuple[str, str]) -> None:
    """Refresh tokens rotate: the old one is revoked on use, the new one works once."""
    first = issue_token(http, client)

    def refresh(token: str) -> httpx.Response:
        return http.post(
            "/oauth2/token",
            params={"grant_type": "refresh_token", "refresh_token": token},
            auth=client,
        )

    second = assert_token_pair(refresh(first["refresh_token"]))
    assert oauth_error(refresh(first["refresh_token"])) == "invalid_grant"
    assert_token_pair(refresh(second["refresh_token"]))
    assert oauth_error(refresh(second["refresh_token"])) == "invalid_grant"


def test_refresh_keeps_earlier_access_tokens_until_they_expire(
    http: httpx.Client, client: tuple[str, str], device: dict[str, Any]
) -> None:
    """Rotation revokes the refresh token only; the access token issued with it still works."""
    first = issue_token(http, client)
    http.post(
        "/oauth2/token",
        params={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=client,
    )
    assert can_read(http, first["access_token"], device["id"])


@pytest.mark.parametrize(
    "refresh_token",
    ["", "not-a-token", "access"],
    ids=["empty", "unknown", "an-access-token"],
)
def test_unusable_refresh_tokens_are_invalid_grants(
    http: httpx.Client, client: tuple[str, str], refresh_token: str
) -> None:
    """Unknown tokens and access tokens are no refresh tokens; a missing one is invalid."""
    if refresh_token == "access":
        refresh_token = issue_token(http, client)["access_token"]
    answer = http.post(
        "/oauth2/token",
        params={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=client,
    )
    expected = "invalid_request" if refresh_token == "" else "invalid_grant"
    assert oauth_error(answer) == expected


def test_refresh_token_of_another_client_is_refused(
    http: httpx.Client, client: tuple[str, str], data_dir: Path
) -> None:
    """A refresh token only works for the client it was issued to."""
    other = client_of(second_org(data_dir))
    theirs = issue_token(http, other)["refresh_token"]
    answer = http.post(
        "/oauth2/token",
        params={"grant_type": "refresh_token", "refresh_token": theirs},
        auth=client,
    )
    assert oauth_error(answer) == "invalid_grant"


# --- refused clients and grants -----------------------------------------------------------


def basic(text: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(text).decode()}


@pytest.mark.parametrize(
    "credentials",
    ["wrong-secret-basic", "wrong-secret-query", "unknown-client", "none", "not-base64", "latin1"],
)
def test_bad_client_credentials_answer_the_documented_error(
    http: httpx.Client, client: tuple[str, str], credentials: str
) -> None:
    """Every failed client authentication is 400 with Blynk's invalid_client text."""
    client_id, _secret = client
    url = "/oauth2/token?grant_type=client_credentials"
    headers: dict[str, str] = {}
    if credentials == "wrong-secret-basic":
        headers = basic(f"{client_id}:wrong".encode())
    elif credentials == "wrong-secret-query":
        url += f"&client_id={client_id}&client_secret=wrong"
    elif credentials == "unknown-client":
        headers = basic(b"nobody:secret")
    elif credentials == "not-base64":
        headers = {"Authorization": "Basic %%%"}
    elif credentials == "latin1":
        headers = basic(b"caf\xe9:secret")
    answer = http.post(url, headers=headers)
    assert (answer.status_code, answer.json()) == (400, INVALID_CLIENT)
    assert "www-authenticate" not in answer.headers


@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "implicit", "x" * 300])
def test_unsupported_grant_types(
    http: httpx.Client, client: tuple[str, str], grant_type: str
) -> None:
    """Grants other than client_credentials and refresh_token are unsupported_grant_type."""
    answer = http.post("/oauth2/token", params={"grant_type": grant_type}, auth=client)
    assert oauth_error(answer) == "unsupported_grant_type"
    assert grant_type not in answer.text  # the input is not echoed back


@pytest.mark.parametrize(
    "url", ["/oauth2/token", "/oauth2/token?grant_type=", "/oauth2/token?scope=x"]
)
def test_missing_grant_type_is_an_invalid_request(
    http: httpx.Client, client: tuple[str, str], url: str
) -> None:
    """No grant_type at all is invalid_request."""
    assert oauth_error(http.post(url, auth=client)) == "invalid_request"


def test_a_repeated_parameter_is_an_invalid_request(
    http: httpx.Client, client: tuple[str, str]
) -> None:
    """A parameter given twice (query and body) is refused (RFC 6749 §3.2)."""
    answer = http.post(
        "/oauth2/token?grant_type=client_credentials",
        data={"grant_type": "client_credentials"},
        auth=client,
    )
    assert oauth_error(answer) == "invalid_request"


def test_get_is_not_allowed(http: httpx.Client) -> None:
    """Only POST reaches the token endpoint."""
    answer = http.get("/oauth2/token?grant_type=client_credentials")
    assert (answer.status_code, answer.json()) == (405, error("Method not allowed."))


# --- storage ------------------------------------------------------------------------------


def test_tokens_are_stored_hashed(
    http: httpx.Client, client: tuple[str, str], data_dir: Path
) -> None:
    """The database holds SHA-256 hashes of both tokens and never their text."""
    pair = issue_token(http, client)
    with sqlite3.connect(f"file:{data_dir / 'pinbase.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT token_hash, kind, revoked FROM oauth_tokens").fetchall()
    stored = {row[0]: (row[1], row[2]) for row in rows}
    for text, kind in ((pair["access_token"], "access"), (pair["refresh_token"], "refresh")):
        assert stored[hashlib.sha256(text.encode()).hexdigest()] == (kind, 0)
        assert all(text not in row[0] for row in rows)


def test_client_created_by_the_cli_works_at_once(
    http: httpx.Client, pool: Pool, data_dir: Path, device: dict[str, Any]
) -> None:
    """A client made by ``pinbase oauth create-client`` beside the running server is found."""
    org_id = pool.created["organization"]["id"]
    done = run_cli(
        "oauth", "create-client", "--org", str(org_id), "--name", "late", "--data", str(data_dir)
    )
    created = json_line(done.stdout)
    pair = issue_token(http, (created["clientId"], created["clientSecret"]))
    assert can_read(http, pair["access_token"], device["id"])


def json_line(text: str) -> dict[str, Any]:
    """The JSON object a CLI command printed."""
    parsed: dict[str, Any] = json.loads(text)
    return parsed


# --- bearer tokens on the Platform API ----------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, 'Bearer realm="pinbase"'),
        ({"Authorization": "Bearer"}, 'Bearer realm="pinbase", error="invalid_request"'),
        ({"Authorization": "Basic abc"}, 'Bearer realm="pinbase", error="invalid_request"'),
        (
            {"Authorization": "Bearer " + "x" * 300},
            'Bearer realm="pinbase", error="invalid_request"',
        ),
        ({"Authorization": "Bearer not-a-token"}, 'Bearer realm="pinbase", error="invalid_token"'),
    ],
    ids=["missing", "empty", "basic", "too-long", "unknown"],
)
def test_bad_bearer_tokens_are_unauthorized(
    http: httpx.Client, device: dict[str, Any], headers: dict[str, str], challenge: str
) -> None:
    """Missing, malformed and unknown tokens: 401, Blynk's error shape, a Bearer challenge."""
    answer = http.get(f"{DEVICE_INFO}?deviceId={device['id']}", headers=headers)
    assert (answer.status_code, answer.json()) == (401, error("Unauthorized"))
    assert answer.headers["www-authenticate"].startswith(challenge)


def test_a_refresh_token_is_no_access_token(
    http: httpx.Client, client: tuple[str, str], device: dict[str, Any]
) -> None:
    """Sending the refresh token as a bearer token is unauthorized."""
    pair = issue_token(http, client)
    assert not can_read(http, pair["refresh_token"], device["id"])


# --- expiry and rate limit on a server of their own ---------------------------------------


@pytest.fixture(scope="module")
def strict_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, dict[str, Any]]]:
    """A server whose tokens live one second and whose organizations get 5 requests a minute."""
    data_dir = tmp_path_factory.mktemp("strict")
    created = provision(load_spec(1), data_dir=data_dir)
    environment = {"PINBASE_ACCESS_TOKEN_TTL_S": "1", "PINBASE_PLATFORM_REQUESTS_PER_MINUTE": "5"}
    with ServerProcess(data_dir, env=environment) as server:
        yield server, created


def test_an_expired_token_is_unauthorized(
    strict_server: tuple[ServerProcess, dict[str, Any]],
) -> None:
    """A token works until ``expires_in`` passes, then answers 401; refreshing revives access."""
    server, created = strict_server
    device_id = created["devices"][0]["id"]
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        pair = issue_token(http, client_of(created))
        assert pair["expires_in"] == 1
        assert can_read(http, pair["access_token"], device_id)
        time.sleep(1.2)  # a subprocess's clock cannot be faked
        answer = http.get(
            f"{DEVICE_INFO}?deviceId={device_id}", headers=bearer(pair["access_token"])
        )
        assert (answer.status_code, answer.json()) == (401, error("Unauthorized"))
        assert 'error="invalid_token"' in answer.headers["www-authenticate"]
        refreshed = http.post(
            "/oauth2/token",
            params={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
            auth=client_of(created),
        )
        assert refreshed.status_code == 200


def test_too_many_requests_answers_429_with_retry_after(
    strict_server: tuple[ServerProcess, dict[str, Any]],
) -> None:
    """Past the organization's requests per minute: 429, Blynk-shaped, with Retry-After."""
    server, created = strict_server
    device_id = created["devices"][0]["id"]
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        headers = bearer(issue_token(http, client_of(created))["access_token"])
        answers = [
            http.get(f"{DEVICE_INFO}?deviceId={device_id}", headers=headers) for _ in range(12)
        ]
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {200, 429}
    refused = answers[statuses.index(429)]
    assert refused.json() == error("Too Many Requests")
    assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_plain_http_is_refused_where_clients_are_remote(tmp_path: Path) -> None:
    """With ``public_url`` naming a plain-HTTP host, Authlib's transport check refuses tokens.

    The session server shows the other side: plain HTTP from loopback is accepted.
    """
    created = provision(load_spec(1), data_dir=tmp_path)
    environment = {"PINBASE_PUBLIC_URL": "http://iot.example.com"}
    with (
        ServerProcess(tmp_path, env=environment) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        answer = http.post("/oauth2/token?grant_type=client_credentials", auth=client_of(created))
    assert (answer.status_code, answer.json()) == (
        400,
        {"error": "insecure_transport", "error_description": "OAuth 2 MUST utilize https."},
    )
