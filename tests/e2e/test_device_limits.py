"""Per-device limits of http-api.md §1.11 over HTTP, and the directory's unknown-token cache.

One server of this module's own runs with small limits, so no test depends on load: 3 requests
per device per second, 2 ``/external/api/update`` calls per device per day, unknown tokens
remembered for 4 seconds. Limits count in one-second windows aligned to the wall clock (the
server's clock), so each rate test starts just after a second begins: its few requests take a
few milliseconds and all fall in one window.
"""

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fleet import Fleet, build_fleet, create_device
from platform_http import error

from pinbase.testing import ServerProcess, provision
from testspec import Pool, load_spec

PER_SECOND = 3
UPDATES_PER_DAY = 2
UNKNOWN_TTL_S = 8.0  # room for `pinbase provision` to start and finish on a loaded machine

TOO_MANY = error("Too Many Requests")
INVALID_TOKEN = error("Invalid token.")
UPDATE_QUOTA = error("Update requests limit has been reached.")
TEXT = "text/plain;charset=utf-8"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Pool]]:
    """The module's server with small limits, and its device pool."""
    data_dir = tmp_path_factory.mktemp("limits")
    pool = Pool(provision(load_spec(12), data_dir=data_dir))
    env = {
        "PINBASE_DEVICE_REQUESTS_PER_SECOND": str(PER_SECOND),
        "PINBASE_UPDATES_PER_DAY": str(UPDATES_PER_DAY),
        "PINBASE_UNKNOWN_TOKEN_TTL_S": str(UNKNOWN_TTL_S),
    }
    with ServerProcess(data_dir, env=env) as server:
        yield server, pool


@pytest.fixture
def api(limited: tuple[ServerProcess, Pool]) -> Iterator[httpx.Client]:
    """A client of the module's server."""
    with httpx.Client(base_url=limited[0].base_url, timeout=10) as client:
        yield client


@pytest.fixture
def tokens(limited: tuple[ServerProcess, Pool]) -> tuple[str, str]:
    """Two fresh devices' tokens."""
    pool = limited[1]
    return pool.take()["token"], pool.take()["token"]


def next_second() -> None:
    """Sleep into the start of the next wall-clock second, where a new window begins."""
    time.sleep(1.02 - time.time() % 1)


def get(api: httpx.Client, token: str) -> httpx.Response:
    return api.get(f"/external/api/get?token={token}&v1")


def test_the_request_past_the_limit_in_one_second_is_refused_until_the_next(
    api: httpx.Client, tokens: tuple[str, str]
) -> None:
    """The 4th request in a second under a limit of 3 answers 429 with Retry-After; another
    device is unaffected, and the next second the device is served again."""
    busy, other = tokens
    next_second()
    assert [get(api, busy).status_code for _ in range(PER_SECOND)] == [200] * PER_SECOND
    refused = get(api, busy)
    assert (refused.status_code, refused.json()) == (429, TOO_MANY)
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/json;charset=utf-8"
    assert get(api, other).status_code == 200
    next_second()
    assert get(api, busy).status_code == 200


def test_every_device_endpoint_counts_against_the_one_allowance(
    api: httpx.Client, tokens: tuple[str, str]
) -> None:
    """Reads, writes and status checks share a device's requests per second."""
    token = tokens[0]
    next_second()
    assert api.get(f"/external/api/batch/update?token={token}&v1=5").status_code == 200
    assert api.get(f"/external/api/isHardwareConnected?token={token}").status_code == 200
    assert get(api, token).status_code == 200
    refused = api.get(f"/external/api/getAll?token={token}")
    assert (refused.status_code, refused.json()) == (429, TOO_MANY)


def test_the_legacy_api_refuses_past_the_limit_in_plain_text(
    api: httpx.Client, tokens: tuple[str, str]
) -> None:
    """The legacy API shares the device's allowance and answers 429 in its plain-text style."""
    token, other = tokens
    next_second()
    assert get(api, token).status_code == 200
    assert [api.get(f"/{token}/get/v1").status_code for _ in range(2)] == [200, 200]
    refused = api.get(f"/{token}/get/v1")
    assert (refused.status_code, refused.text) == (429, "Too Many Requests")
    assert refused.headers["content-type"] == TEXT
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["access-control-allow-origin"] == "*"
    assert api.get(f"/{other}/get/v1").status_code == 200
    next_second()
    assert api.get(f"/{token}/get/v1").status_code == 200


def test_unknown_tokens_are_invalid_however_often_they_come(api: httpx.Client) -> None:
    """Nothing is counted for a token no device owns: it keeps answering ``Invalid token.``."""
    wrong = uuid.uuid4().hex
    answers = [api.get(f"/external/api/get?token={wrong}&v1") for _ in range(2 * PER_SECOND)]
    assert {(a.status_code, a.text) for a in answers} == {
        (400, '{"error":{"message":"Invalid token."}}')
    }
    legacy = [api.get(f"/{wrong}/get/v1") for _ in range(2 * PER_SECOND)]
    assert {(a.status_code, a.text) for a in legacy} == {(400, "Invalid token.")}


def test_updates_past_the_daily_quota_are_refused_with_403(
    api: httpx.Client, tokens: tuple[str, str]
) -> None:
    """The 3rd ``/external/api/update`` of a day under a quota of 2 answers 403 and stores
    nothing; other endpoints and other devices keep working."""
    token, other = tokens
    next_second()
    for value in (1, 2):
        assert api.get(f"/external/api/update?token={token}&v1={value}").status_code == 200
    refused = api.get(f"/external/api/update?token={token}&v1=3")
    assert (refused.status_code, refused.json()) == (403, UPDATE_QUOTA)
    assert int(refused.headers["retry-after"]) > 0
    next_second()
    assert get(api, token).text == "2"
    assert api.get(f"/external/api/batch/update?token={token}&v1=4").status_code == 200
    assert api.get(f"/external/api/update?token={token}&v1=5").status_code == 403
    assert api.get(f"/external/api/update?token={other}&v1=6").status_code == 200


def test_a_device_provisioned_by_another_process_answers_once_its_miss_is_forgotten(
    api: httpx.Client, limited: tuple[ServerProcess, Pool]
) -> None:
    """A refused token is remembered (no database query) for the TTL, so the device
    ``pinbase provision`` adds meanwhile is refused until the TTL ends, then found."""
    token = f"late{uuid.uuid4().hex}"
    refused_at = time.monotonic()
    assert get(api, token).json() == INVALID_TOKEN
    spec: dict[str, Any] = load_spec(0)
    spec["organization"] = {"name": "Late Org"}
    spec["oauthClients"] = []
    spec["templates"][0]["name"] = "Late Template"
    spec["devices"] = [{"name": "Late", "template": "Late Template", "token": token}]
    provision(spec, data_dir=limited[0].data_dir)
    assert time.monotonic() - refused_at < UNKNOWN_TTL_S, "provisioning outlasted the TTL"
    assert get(api, token).json() == INVALID_TOKEN
    deadline = refused_at + UNKNOWN_TTL_S + 2
    while (answer := get(api, token)).status_code != 200:
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.2)
    assert time.monotonic() - refused_at >= UNKNOWN_TTL_S


@pytest.fixture(scope="module")
def fleet(limited: tuple[ServerProcess, Pool]) -> Fleet:
    """An organization with users, for creating devices through the Platform API."""
    with httpx.Client(base_url=limited[0].base_url, timeout=10) as client:
        return build_fleet(client, limited[0].data_dir, "lim")


def test_a_device_created_through_the_platform_api_answers_at_once(
    api: httpx.Client, fleet: Fleet
) -> None:
    """After a flood of unknown tokens, a device created by PLT-DEV-09 works on its first
    request: the server indexes what it creates, whatever it remembers as unknown."""
    for _ in range(20):
        assert get(api, uuid.uuid4().hex).json() == INVALID_TOKEN
    created = create_device(api, fleet, "Fresh one")
    assert get(api, created["token"]).status_code == 200
