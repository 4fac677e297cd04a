"""One request-size rule for every API family, whether the body is chunked or has a
``Content-Length`` (docs/decisions.md "Requests over 2 MB"): each family answers in its own
format before any handler runs, and a body under the limit reaches the handler whole."""

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hostile_http import RawRequest, exchange
from hostile_target import Target

LIMIT = 2 * 1024 * 1024
TOO_LARGE = f"Request is too large. The maximum is {LIMIT} bytes."
JSON_ERROR = {"error": {"message": TOO_LARGE}}
OAUTH_ERROR = {"error": "invalid_request", "error_description": TOO_LARGE}

FAMILIES = ["device", "legacy", "platform", "oauth"]


def oversized(target: Target, family: str) -> tuple[str, str, dict[str, str]]:
    """``(method, URL, headers)`` of a write in ``family``."""
    token = target.credentials.device_token
    return {
        "device": ("POST", f"/external/api/batch/update?token={token}&pin=v1", {}),
        "legacy": ("PUT", f"/{token}/update/v1", {}),
        "platform": ("POST", "/api/v1/organization/device/datastream", target.headers),
        "oauth": ("POST", "/oauth2/token", {}),
    }[family]


def expected(family: str) -> tuple[int, Any]:
    """The documented refusal of ``family``: status and body."""
    return {
        "device": (400, JSON_ERROR),
        "legacy": (413, TOO_LARGE),
        "platform": (400, JSON_ERROR),
        "oauth": (400, OAUTH_ERROR),
    }[family]


def pieces(body: bytes, size: int = 256 * 1024) -> Iterator[bytes]:
    """``body`` in pieces, which makes httpx send it chunked, with no ``Content-Length``."""
    for at in range(0, len(body), size):
        yield body[at : at + size]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_a_body_over_two_megabytes_gets_the_familys_refusal(
    target: Target, family: str, chunked: bool
) -> None:
    """Device and Platform API 400 JSON, legacy 413 text, OAuth 400 ``invalid_request``."""
    method, url, headers = oversized(target, family)
    body = b"[" + b" " * LIMIT + b"]"
    with httpx.Client(base_url=target.base_url, timeout=30) as http:
        answer = http.request(
            method,
            url,
            content=pieces(body) if chunked else body,
            headers={**headers, "Content-Type": "application/json"},
        )
    if chunked:
        assert "content-length" not in answer.request.headers
    status, shape = expected(family)
    read = answer.text if family == "legacy" else answer.json()
    assert (answer.status_code, read) == (status, shape)
    if family == "oauth":
        assert answer.headers["cache-control"] == "no-store"


def test_chunked_bodies_under_the_limit_reach_every_family(target: Target) -> None:
    """A chunked write is read whole and handled as if it had a ``Content-Length``."""
    device = target.pool.take()
    token, device_id = device["token"], device["id"]
    now = time.time_ns() // 1_000_000
    padding = b" " * (LIMIT - 100)  # JSON allows whitespace: the body is just under the limit
    client_id = target.credentials.client_id
    secret = target.credentials.client_secret
    form = f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
    writes: list[tuple[str, str, bytes, dict[str, str], int]] = [
        ("POST", f"/external/api/batch/update?token={token}&pin=v1", b"[[%d,7]]" % now, {}, 200),
        ("PUT", f"/{token}/update/v3", b'["8.5"]' + padding, {}, 200),
        (
            "POST",
            "/api/v1/organization/device/datastream",
            json.dumps({"deviceId": device_id, "dataStreamId": 2, "value": 9}).encode(),
            target.headers,
            204,
        ),
        (
            "POST",
            "/oauth2/token",
            form.encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
            200,
        ),
    ]
    with httpx.Client(base_url=target.base_url, timeout=30) as http:
        for method, url, body, headers, status in writes:
            headers = {"Content-Type": "application/json", **headers}
            answer = http.request(method, url, content=pieces(body), headers=headers)
            assert answer.status_code == status, (url, answer.text)
        values = http.get(f"/external/api/get?token={token}&v1&v2&v3").json()
    assert values == {"v1": 7, "v2": 9, "v3": 8.5}


def test_a_chunked_upload_keeps_its_five_megabyte_file_limit(target: Target) -> None:
    """DEV-13 takes a chunked 3 MB file (over the 2 MB rule, under its own 5 MB)."""
    token = target.pool.take()["token"]
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="upfile"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + b"\1" * (3 * 1024 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    with httpx.Client(base_url=target.base_url, timeout=30) as http:
        answer = http.post(
            f"/external/api/upload?token={token}",
            content=pieces(body),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    assert answer.status_code == 200, answer.text
    assert "/device_uploads/" in answer.text


@pytest.mark.parametrize("family", FAMILIES)
def test_broken_chunked_framing_is_the_familys_400(target: Target, family: str) -> None:
    """A chunk size that is not hexadecimal answers 400 in the family's format, not a 500."""
    method, url, headers = oversized(target, family)
    request = RawRequest(
        label=family,
        method=method,
        target=url.encode(),
        headers=[(b"Transfer-Encoding", b"chunked")]
        + [(name.encode(), value.encode()) for name, value in headers.items()],
        body=b"zz\r\n{}\r\n0\r\n\r\n",
        framing=False,
    )
    answer = exchange(target.server.port, request)
    assert answer.status == 400
    message = "Request body is malformed."
    if family == "legacy":
        assert answer.body == message.encode()
    elif family == "oauth":
        assert json.loads(answer.body) == {"error": "invalid_request", "error_description": message}
    else:
        assert json.loads(answer.body) == {"error": {"message": message}}
