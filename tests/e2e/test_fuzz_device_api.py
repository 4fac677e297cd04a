"""Random query strings and bodies never make the device API answer a server error (5xx)."""

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PATHS = [
    "/external/api/get",
    "/external/api/getAll",
    "/external/api/update",
    "/external/api/batch/update",
    "/external/api/update/property",
    "/external/api/logEvent",
    "/external/api/isHardwareConnected",
    "/external/api/provision",
    "/external/api/data/get",
    "/external/api/device/meta",
    "/external/api/device/meta/update",
]

KEYS = st.sampled_from(
    [
        "v1",
        "V2",
        "v3",
        "v4",
        "v5",
        "v6",
        "v7",
        "v8",
        "d13",
        "a0",
        "v256",
        "pin",
        "value",
        "dataStreamId",
        "code",
        "description",
        "label",
        "isDisabled",
        "period",
        "granularityType",
        "sourceType",
        "tzName",
        "format",
        "output",
        "metaFieldId",
        "metaFieldName",
        "templateId",
    ]
) | st.text(max_size=12)
VALUES = st.sampled_from(
    ["", "1", "-1", "1.5", "1e308", "nan", "true", "v1", "DAY", "%"]
) | st.text(max_size=40)
PAIRS = st.lists(st.tuples(KEYS, VALUES), max_size=8)
RAW = st.binary(max_size=200).map(lambda raw: quote(raw, safe="=&%+;"))


def query_string(token: str | None, pairs: list[tuple[str, str]]) -> str:
    parts = [] if token is None else [f"token={quote(token)}"]
    parts += [f"{quote(k)}={quote(v)}" for k, v in pairs]
    return "&".join(parts)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(PATHS),
    use_token=st.sampled_from(["valid", "unknown", "missing"]),
    pairs=PAIRS,
)
def test_random_queries_never_answer_5xx(
    http: httpx.Client, token: str, path: str, use_token: str, pairs: list[tuple[str, str]]
) -> None:
    """Whatever the query, the answer is 2xx/4xx in the API's own JSON error shape."""
    chosen = {"valid": token, "unknown": "x" * 32, "missing": None}[use_token]
    answer = http.get(f"{path}?{query_string(chosen, pairs)}")
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert set(answer.json()) == {"error"}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(PATHS), raw=RAW)
def test_raw_query_bytes_never_answer_5xx(
    http: httpx.Client, token: str, path: str, raw: str
) -> None:
    """Undecodable percent-escapes and stray separators are refused cleanly."""
    answer = http.get(f"{path}?token={token}&{raw}")
    assert answer.status_code < 500, answer.text


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pin=st.sampled_from(["v1", "v3", "v4", "v5", "v7", "x", ""]), body=JSON)
def test_random_upload_bodies_never_answer_5xx(
    http: httpx.Client, token: str, pin: str, body: Any
) -> None:
    """Any JSON body on the timestamped upload is either stored or refused with a 400."""
    answer = http.post(f"/external/api/batch/update?token={token}&pin={pin}", json=body)
    assert answer.status_code < 500, answer.text


@pytest.mark.parametrize("size", [2 * 1024 * 1024 + 1, 3 * 1024 * 1024])
def test_body_over_two_megabytes_is_refused(http: httpx.Client, token: str, size: int) -> None:
    """A request body over 2 MB answers a clear 400 in the JSON error shape."""
    answer = http.post(
        f"/external/api/batch/update?token={token}&pin=v1",
        content=b"[" + b" " * size + b"]",
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 400
    assert "too large" in answer.json()["error"]["message"]


def test_unknown_path_answers_json_404(http: httpx.Client) -> None:
    """A path no API serves answers 404 in the JSON error shape."""
    answer = http.get("/external/api/nothing-here")
    assert answer.status_code == 404
    assert answer.json() == {"error": {"message": "Not found."}}


def test_wrong_method_answers_json_405(http: httpx.Client) -> None:
    """A known path with another method answers 405 in the JSON error shape."""
    answer = http.delete("/external/api/get")
    assert answer.status_code == 405
    assert answer.json() == {"error": {"message": "Method not allowed."}}
