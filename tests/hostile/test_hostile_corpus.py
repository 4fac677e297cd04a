"""The hostile-input corpus replayed against every documented operation, on SQLite and
PostgreSQL: no input answers a server error (5xx), and the server still answers afterwards."""

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import hostile_corpus
import httpx
import pytest
from hostile_http import RawRequest, exchange
from hostile_routes import Operation, operations
from hostile_target import Target

CLIENTS = 8
"""Connections replaying at once: enough to keep the server busy while clients wait."""

Spoiler = Callable[[Operation], Iterable[RawRequest]]


@pytest.fixture(scope="module")
def documented(target: Target) -> list[Operation]:
    """Every operation of the server's OpenAPI document, ``DELETE``s last."""
    document = httpx.get(f"{target.base_url}/openapi.json", timeout=10).json()
    found = operations(document, target.credentials)
    return sorted(found, key=lambda operation: operation.method == "DELETE")


def replay(target: Target, requests: Iterable[RawRequest]) -> list[str]:
    """Send every request; the labels of those answered with a 5xx, or not answered when well
    framed."""

    def send(request: RawRequest) -> str | None:
        answer = exchange(target.server.port, request, whole=False)
        if answer.status is None and request.framing:
            return f"{request.label}: no answer"
        if answer.status is not None and answer.status >= 500:
            return f"{request.label}: {answer.head.decode(errors='replace')}"
        return None

    with ThreadPoolExecutor(CLIENTS) as pool:
        failures = [failure for failure in pool.map(send, requests) if failure]
    assert httpx.get(f"{target.base_url}/healthz", timeout=10).text == "OK"
    return failures


def spoiled(operations: list[Operation], spoiler: Spoiler) -> Iterator[RawRequest]:
    """The requests ``spoiler`` makes of each operation, operation by operation."""
    for operation in operations:
        yield from spoiler(operation)


@pytest.mark.parametrize(
    "spoiler",
    [
        hostile_corpus.query_requests,
        hostile_corpus.body_requests,
        hostile_corpus.header_requests,
        hostile_corpus.credential_requests,
        hostile_corpus.oversized_requests,
    ],
    ids=["query", "body", "headers", "credentials", "oversize"],
)
def test_hostile_input_never_answers_5xx(
    target: Target, documented: list[Operation], spoiler: Spoiler
) -> None:
    """Every documented operation, with one part of its request spoiled, answers below 500."""
    assert replay(target, spoiled(documented, spoiler)) == []


def test_hostile_paths_never_answer_5xx(target: Target) -> None:
    """Encoded slashes, NUL, invalid UTF-8, overlong segments and odd methods answer below 500."""
    assert replay(target, hostile_corpus.path_requests(target.credentials)) == []
