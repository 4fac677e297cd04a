"""Inputs that once answered 500 (issue #8): a Basic header that is not ASCII at the token
endpoint, and NUL in a new user's e-mail on PostgreSQL. Both engines now answer alike."""

import json

import httpx
import pytest
from hostile_http import RawRequest, exchange
from hostile_target import Target

INVALID_CLIENT = {
    "error": "invalid_client",
    "error_description": "Client ID is not found or password is wrong.",
}
INCORRECT = {"error": {"message": "Request with incorrect parameters"}}


@pytest.mark.parametrize(
    "authorization",
    [b"Basic \xc3\xa9\xff==", b"Basic \xa0", b"Basic //79", b"Basic !!!"],
    ids=["non-ascii", "nbsp", "not-utf8", "not-base64"],
)
def test_a_malformed_basic_header_is_invalid_client(target: Target, authorization: bytes) -> None:
    """AUTH-01 answers 400 ``invalid_client`` with Blynk's text, never a server error."""
    request = RawRequest(
        label="basic",
        method="POST",
        target=b"/oauth2/token?grant_type=client_credentials",
        headers=[(b"Authorization", authorization)],
    )
    answer = exchange(target.server.port, request)
    assert (answer.status, json.loads(answer.body)) == (400, INVALID_CLIENT)


@pytest.mark.parametrize("endpoint", ["register", "create", "create-in-org", "invite"])
def test_nul_in_a_new_users_email_is_refused_and_stores_nothing(
    target: Target, endpoint: str
) -> None:
    """PLT-USR-03..06 answer 400 for an e-mail holding NUL, on SQLite as on PostgreSQL."""
    email = f"nul-{endpoint}\0x@example.com"
    body = {
        "email": email,
        "passwordHash": "A" * 43 + "=",
        "name": "Nul",
        "orgId": target.credentials.org_id,
        "roleId": 3,
    }
    with httpx.Client(base_url=target.base_url, headers=target.headers, timeout=10) as http:
        answer = http.post(f"/api/v1/organization/users/{endpoint}", json=body)
        assert (answer.status_code, answer.json()) == (400, INCORRECT)
        found = http.get("/api/v1/organization/search/users", params={"query": f"nul-{endpoint}"})
    assert found.json()["totalElements"] == 0
