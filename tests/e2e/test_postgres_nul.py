"""NUL (U+0000) in client input on a PostgreSQL-backed server: stored safely or refused, never 5xx.

PostgreSQL ``text`` cannot hold NUL, but Blynk joins the items of a multi-value string with it
(device-protocols.md §1.3, http-api.md §1.9), and query strings carry it as ``%00``. A multi-value
string must be stored and read back; a NUL in free text must answer a clean 2xx or 4xx. Either
way the group commit it shares with other devices must not fail (docs/storage.md).
"""

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from platform_http import org_headers

from pinbase.testing import ServerProcess, provision
from postgres import create_database, drop_database
from testspec import Pool, load_spec

pytestmark = pytest.mark.postgres

HISTORY = "/api/v1/organization/device/datastream/history"
PLATFORM = "/api/v1/organization/device"


@pytest.fixture(scope="module")
def pg_pool(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    """Forty devices provisioned into a database of this module's own."""
    url = asyncio.run(create_database(postgres_url))
    data_dir = tmp_path_factory.mktemp("nul")
    created = provision(load_spec(40), "--database-url", url, data_dir=data_dir)
    created["url"] = url
    created["dataDir"] = data_dir
    yield Pool(created)
    asyncio.run(drop_database(url))


@pytest.fixture(scope="module")
def pg_server(pg_pool: Pool) -> Iterator[ServerProcess]:
    """The server running on that PostgreSQL database."""
    data_dir: Path = pg_pool.created["dataDir"]
    with ServerProcess(data_dir, "--database-url", pg_pool.created["url"]) as process:
        yield process


@pytest.fixture(scope="module")
def pg_http(pg_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=pg_server.base_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def pg_headers(pg_http: httpx.Client, pg_pool: Pool) -> dict[str, str]:
    """The organization's bearer header."""
    return org_headers(pg_http, pg_pool.created)


def history(http: httpx.Client, headers: dict[str, str], device_id: int, pin: str) -> list[Any]:
    """PLT-DS-06 values of a series, newest first."""
    answer = http.get(f"{HISTORY}?deviceId={device_id}&pin={pin}", headers=headers)
    assert answer.status_code == 200, answer.text
    return [point["value"] for point in answer.json()["content"]]


def report(http: httpx.Client, token: str) -> list[tuple[str, Any]]:
    """``(datastream name, value)`` rows of a DEV-08 JSON report of the last day."""
    answer = http.get(f"/external/api/data/get?token={token}&output=JSON&period=DAY")
    assert answer.status_code == 200, answer.text
    return [(row["data_stream_name"], row["value"]) for row in answer.json()["data"]]


@pytest.mark.parametrize(
    "write",
    [
        "/external/api/update?token={token}&pin=V4&value=a&value=b%5C0",
        "/external/api/update?token={token}&dataStreamId=4&value=a&value=b%5C0",
        "/external/api/update?token={token}&v4=a%00b%5C0",
        "/external/api/batch/update?token={token}&v4=a%00b%5C0&v1=7",
    ],
    ids=["DEV-03-pin-value", "DEV-03-datastream-id", "DEV-03-pin-key", "DEV-04"],
)
def test_multi_value_string_is_stored_and_read_back(
    pg_http: httpx.Client, pg_headers: dict[str, str], pg_pool: Pool, write: str
) -> None:
    """A NUL-joined string answers 200 and reads back whole from DEV-01, PLT-DS-06 and DEV-08.

    The second item ends in a backslash and a zero, the text an escape of NUL could be
    mistaken for.
    """
    device = pg_pool.take()
    answer = pg_http.get(write.format(token=device["token"]))
    assert answer.status_code == 200, answer.text
    expected = "a\0b\\0"
    read = pg_http.get(f"/external/api/get?token={device['token']}&v4")
    assert (read.status_code, read.text) == (200, expected)
    assert history(pg_http, pg_headers, device["id"], "v4") == [expected]
    assert ("Message", expected) in report(pg_http, device["token"])


def test_multi_value_string_from_a_json_import_is_stored(
    pg_http: httpx.Client, pg_headers: dict[str, str], pg_pool: Pool
) -> None:
    """DEV-05 stores a string holding NUL with its own timestamp, and PLT-DS-06 returns it."""
    device = pg_pool.take()
    ts = time.time_ns() // 1_000_000 - 60_000
    answer = pg_http.post(
        f"/external/api/batch/update?token={device['token']}&pin=v4", json=[[ts, "x\0y"]]
    )
    assert answer.status_code == 200, answer.text
    assert history(pg_http, pg_headers, device["id"], "v4") == ["x\0y"]


def test_a_nul_string_does_not_fail_the_group_of_another_device(
    pg_server: ServerProcess, pg_headers: dict[str, str], pg_pool: Pool
) -> None:
    """Writes of many devices at one moment, some of them NUL-joined, are all stored."""
    devices = [pg_pool.take() for _ in range(6)]

    def write(index: int) -> int:
        device = devices[index]
        value = f"n{index}%00m" if index % 2 else str(index)
        with httpx.Client(base_url=pg_server.base_url, timeout=10) as client:
            return client.get(
                f"/external/api/update?token={device['token']}&v4={value}"
            ).status_code

    for _round in range(5):
        with ThreadPoolExecutor(len(devices)) as threads:
            assert list(threads.map(write, range(len(devices)))) == [200] * len(devices)
    with httpx.Client(base_url=pg_server.base_url, timeout=10) as client:
        for index, device in enumerate(devices):
            expected = f"n{index}\0m" if index % 2 else str(index)
            assert history(client, pg_headers, device["id"], "v4") == [expected] * 5


DEVICE_API_GETS = [
    # DEV-07: refused like an over-long description (services/events.py).
    (
        "/external/api/logEvent?token={token}&code=overheat&description=a%00b",
        "Event description must not contain the NUL character.",
    ),
    (
        "/external/api/logEvent?token={token}&code=over%00heat",
        "Can't find Event with this code in Product template",
    ),
    # DEV-10 and DEV-09: no metadata kind holds NUL (services/metadata.py).
    (
        "/external/api/device/meta/update?token={token}&metaFieldName=Room&value=a%00b",
        "Wrong value",
    ),
    (
        "/external/api/device/meta/update?token={token}&metaFieldName=Ro%00om&value=x",
        "MetaField doesn't exist",
    ),
    ("/external/api/device/meta?token={token}&metaFieldId=Ro%00om", "MetaField doesn't exist."),
    # DEV-06: no property needs NUL; multi-value ones repeat the key (services/properties.py).
    (
        "/external/api/update/property?token={token}&pin=v4&label=a%00b",
        "Value doesn't match the Datastream data type",
    ),
    (
        "/external/api/update/property?token={token}&pin=v4&labels=a&labels=b%00c",
        "Value doesn't match the Datastream data type",
    ),
    ("/external/api/get?token={token}&v4%00", "Wrong pin format."),
    ("/external/api/get?token=ab%00cd&v4", "Invalid token."),
]


@pytest.mark.parametrize(("path", "message"), DEVICE_API_GETS)
def test_nul_in_device_api_free_text_is_its_400(
    pg_http: httpx.Client, pg_pool: Pool, path: str, message: str
) -> None:
    """Event descriptions, metadata, property values, pins and tokens holding NUL are refused
    with the endpoint's own 400, not a server error."""
    device = pg_pool.take()
    answer = pg_http.get(path.format(token=device["token"]))
    assert (answer.status_code, answer.json()) == (400, {"error": {"message": message}})


def test_hardware_info_with_nul_is_stored_as_json(
    pg_http: httpx.Client, pg_headers: dict[str, str], pg_pool: Pool
) -> None:
    """DEV-12 fields feed ``hardwareInfo``, stored as JSON text: NUL is kept, escaped."""
    device = pg_pool.take()
    code = pg_pool.created["templates"][0]["templateId"]
    answer = pg_http.get(
        f"/external/api/provision?token={device['token']}&templateId={code}&ver=1%000"
    )
    assert answer.status_code == 200, answer.text
    info = pg_http.get(f"{PLATFORM}?deviceId={device['id']}", headers=pg_headers)
    assert info.json()["hardwareInfo"]["version"] == "1\x000"


PLATFORM_POSTS = [
    (
        "datastream/property",
        {"dataStreamId": 4, "property": "label", "value": "a\0b"},
        400,
        "Value doesn't match the Datastream data type",
    ),
    (
        "metafield",
        {"metaFieldId": 2, "newValue": "a\0b"},
        400,
        "The provided value for metafield is invalid.",
    ),
    (
        "trigger-event",
        {"eventCode": "overheat", "eventDescription": "a\0b"},
        400,
        "Request with incorrect parameters",
    ),
    ("trigger-event", {"eventCode": "over\0heat"}, 404, "Event with provided code is not found."),
    ("create", {"templateId": 1, "name": "a\0b"}, 400, "Request with incorrect parameters"),
]


@pytest.mark.parametrize(("path", "body", "status", "message"), PLATFORM_POSTS)
def test_nul_in_platform_api_free_text_is_refused(
    pg_http: httpx.Client,
    pg_headers: dict[str, str],
    pg_pool: Pool,
    path: str,
    body: dict[str, Any],
    status: int,
    message: str,
) -> None:
    """PLT-DS-05, PLT-DEV-16, PLT-DEV-19 and PLT-DEV-09 refuse NUL in free text with their 4xx."""
    device = pg_pool.take()
    answer = pg_http.post(
        f"{PLATFORM}/{path}", json={"deviceId": device["id"], **body}, headers=pg_headers
    )
    assert (answer.status_code, answer.json()) == (status, {"error": {"message": message}})


def test_platform_value_write_stores_a_multi_value_string(
    pg_http: httpx.Client, pg_headers: dict[str, str], pg_pool: Pool
) -> None:
    """PLT-DS-02 takes a NUL-joined string like DEV-03 does; DEV-01 and PLT-DS-06 return it."""
    device = pg_pool.take()
    body = {"deviceId": device["id"], "dataStreamId": 4, "value": "p\0q"}
    answer = pg_http.post(f"{PLATFORM}/datastream", json=body, headers=pg_headers)
    assert answer.status_code == 204, answer.text
    assert pg_http.get(f"/external/api/get?token={device['token']}&v4").text == "p\0q"
    assert history(pg_http, pg_headers, device["id"], "v4") == ["p\0q"]


def test_nul_in_user_and_organization_text_is_refused(
    pg_http: httpx.Client, pg_headers: dict[str, str], pg_pool: Pool
) -> None:
    """PLT-ORG-04, PLT-USR-04 and PLT-DEV-10 refuse NUL in free text with a 400, storing nothing."""
    base = "/api/v1/organization"
    incorrect = (400, {"error": {"message": "Request with incorrect parameters"}})
    org: dict[str, Any] = {"name": "Nul Org", "type": "BUSINESS"}
    user: dict[str, Any] = {
        "email": "nul@example.com",
        "passwordHash": "x" * 44,
        "name": "Nul",
        "orgId": pg_pool.created["organization"]["id"],
        "roleId": 3,
    }
    device = pg_pool.take()
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"{base}/create", {**org, "description": "a\0b"}),
        ("POST", f"{base}/create", {**org, "tz": "Europe/\0Kyiv"}),
        ("POST", f"{base}/users/create-in-org", {**user, "tz": "Europe/\0Kyiv"}),
        ("POST", f"{base}/users/create-in-org", {**user, "address": {"city": "a\0b"}}),
        ("PUT", f"{PLATFORM}?deviceId={device['id']}", {"name": "a\0b"}),
    ]
    for method, path, body in requests:
        answer = pg_http.request(method, path, json=body, headers=pg_headers)
        assert (answer.status_code, answer.json()) == incorrect, path
    found = pg_http.get(f"{base}/search?query=Nul+Org", headers=pg_headers).json()
    assert found["totalElements"] == 0
    found = pg_http.get(f"{base}/search/users?query=nul%40example.com", headers=pg_headers).json()
    assert found["totalElements"] == 0


PLATFORM_GETS = [
    "/api/v1/organization/search/devices?query=a%00b",
    "/api/v1/organization/search/users?query=a%00b",
    "/api/v1/organization/search?query=a%00b",
    f"{PLATFORM}/by-owner?ownerEmail=a%00b%40example.com",
    f"{PLATFORM}/by-user-org?userEmail=a%00b%40example.com",
]


@pytest.mark.parametrize("path", PLATFORM_GETS)
def test_nul_in_platform_api_searches_finds_nothing(
    pg_http: httpx.Client, pg_headers: dict[str, str], path: str
) -> None:
    """Searches and lookups by text holding NUL answer an empty page: no stored text holds it."""
    answer = pg_http.get(path, headers=pg_headers)
    assert (answer.status_code, answer.json()) == (200, {"content": [], "totalElements": 0})


def test_oauth_client_id_with_nul_is_an_unknown_client(pg_http: httpx.Client) -> None:
    """A client id holding NUL is refused like any unknown client, not with a server error."""
    token = "/oauth2/token?grant_type=client_credentials"
    answer = pg_http.post(token, auth=("ab\0cd", "x"))
    unknown = pg_http.post(token, auth=("abcd", "x"))
    assert (answer.status_code, answer.json()) == (unknown.status_code, unknown.json())
    assert answer.json()["error"] == "invalid_client"
