"""405 answers carry ``Allow`` with every method the path serves, on every API family
(RFC 9110 §15.5.6; docs/decisions.md, "Unknown paths, wrong methods")."""

from typing import Any

import httpx
import pytest


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/external/api/get?token=TOKEN&v1", "GET, HEAD"),
        ("PUT", "/external/api/batch/update?token=TOKEN", "GET, HEAD, POST"),
        ("DELETE", "/external/api/upload?token=TOKEN", "POST"),
        ("DELETE", "/TOKEN/get/V1", "GET, HEAD"),
        ("POST", "/TOKEN/update/V1", "GET, HEAD, PUT"),
        ("GET", "/TOKEN/notify", "POST"),
        ("PATCH", "/api/v1/organization/device?deviceId=1", "DELETE, GET, PUT"),
        ("PATCH", "/api/v1/organization/device/datastreams?deviceId=1", "GET, POST"),
        ("GET", "/oauth2/token", "POST"),
        ("POST", "/healthz", "GET, HEAD"),
    ],
)
def test_405_lists_the_allowed_methods(
    http: httpx.Client,
    headers: dict[str, str],
    device: dict[str, Any],
    method: str,
    path: str,
    allow: str,
) -> None:
    """A wrong method answers 405 in Blynk's JSON shape with the path's methods in ``Allow``."""
    answer = http.request(method, path.replace("TOKEN", device["token"]), headers=headers)
    assert (answer.status_code, answer.json()) == (
        405,
        {"error": {"message": "Method not allowed."}},
    )
    assert answer.headers["allow"] == allow
