"""Platform API devices over HTTP: PLT-DEV-06 info, PLT-DEV-07 base info, PLT-DEV-08 status,
plus the routing, documents and errors every Platform endpoint shares.
"""

from pathlib import Path
from typing import Any

import httpx
import pytest
from platform_http import DEVICE_BASE_KEYS, device_not_found, error, second_org

from testspec import Pool

DEVICE = "/api/v1/organization/device"
BASE_INFO = "/api/v1/organization/device/baseInfo"
ONLINE = "/api/v1/organization/device/online"
PROPERTY = "/api/v1/organization/device/datastream/property"

FULL_KEYS = DEVICE_BASE_KEYS | {"dataStreamValues", "metaFieldValues", "properties"}


# --- PLT-DEV-06 ---------------------------------------------------------------------------


def test_device_info_is_the_full_object(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any], pool: Pool
) -> None:
    """DeviceFull: identity, connection facts, values, metadata and stored properties."""
    http.get(f"/external/api/batch/update?token={device['token']}&v1=42&v5=30.5&v5=50.25")
    http.post(
        PROPERTY,
        json={"deviceId": device["id"], "dataStreamId": 1, "property": "color", "value": "#D3435C"},
        headers=headers,
    )
    answer = http.get(f"{DEVICE}?deviceId={device['id']}", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json;charset=utf-8"
    info = answer.json()
    assert set(info) == FULL_KEYS
    assert (info["id"], info["name"], info["token"]) == (
        device["id"],
        device["name"],
        device["token"],
    )
    assert (info["templateId"], info["orgId"]) == (
        device["templateId"],
        pool.created["organization"]["id"],
    )
    assert info["lifecycleStatus"] == {"name": "Offline"}
    assert info["isLocked"] is False
    assert isinstance(info["activatedAt"], int)
    assert set(info["hardwareInfo"]) == {
        "version",
        "fwType",
        "blynkVersion",
        "boardType",
        "build",
        "templateId",
    }
    values = {v["pin"]: v for v in info["dataStreamValues"]}
    assert set(values) == {"v1", "v5", "v8"}
    counter = values["v1"]
    assert (counter["dataStreamId"], counter["dataStreamLabel"], counter["value"]) == (
        1,
        "Counter",
        42,
    )
    assert counter["dataStreamAlias"] is None
    assert counter["updatedAt"] > 0
    assert values["v5"]["value"] == [30.5, 50.25]
    assert (values["v8"]["value"], values["v8"]["updatedAt"]) == (21.5, 0)  # the default
    assert info["metaFieldValues"] == [
        {"id": 1, "name": "Serial Number", "value": {"type": "Text", "value": "SN-0001"}},
        {"id": 2, "name": "Room", "value": {"type": "Text", "value": ""}},
        {"id": 3, "name": "Rated Power", "value": {"type": "Number", "value": 60}},
    ]
    assert info["properties"] == {"1": {"color": "#D3435C"}}


def test_device_info_reflects_provisioned_hardware_facts(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any], pool: Pool
) -> None:
    """What the device reported through DEV-12 shows in ``hardwareInfo``."""
    code = pool.created["templates"][0]["templateId"]
    http.get(
        f"/external/api/provision?token={device['token']}&templateId={code}&ver=1.2.3"
        "&fwType=MCU&blVer=1.3.2&boType=ESP32&build=Jan%201"
    )
    info = http.get(f"{DEVICE}?deviceId={device['id']}", headers=headers).json()
    assert info["hardwareInfo"] == {
        "version": "1.2.3",
        "fwType": "MCU",
        "blynkVersion": "1.3.2",
        "boardType": "ESP32",
        "build": "Jan 1",
        "templateId": code,
    }


# --- PLT-DEV-07 and PLT-DEV-08 ------------------------------------------------------------


def test_base_info_has_no_values(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """DeviceBase: the full object without values, metadata or properties."""
    answer = http.get(f"{BASE_INFO}?deviceId={device['id']}", headers=headers)
    assert answer.status_code == 200
    assert set(answer.json()) == DEVICE_BASE_KEYS


def test_connection_status(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any]
) -> None:
    """A device holding no connection is not connected."""
    answer = http.get(f"{ONLINE}?deviceId={device['id']}", headers=headers)
    assert (answer.status_code, answer.json()) == (200, {"connected": False})


# --- errors shared by the three -----------------------------------------------------------


@pytest.mark.parametrize("path", [DEVICE, BASE_INFO, ONLINE])
@pytest.mark.parametrize(
    ("query", "status", "expected"),
    [
        ("deviceId=999", 404, device_not_found(999)),
        ("deviceId=-1", 404, device_not_found(-1)),
        ("deviceId=abc", 400, error("Request with incorrect parameters")),
        ("deviceId=1.0", 400, error("Request with incorrect parameters")),
        ("deviceId=99999999999", 400, error("Request with incorrect parameters")),
        ("", 400, error("Request with incorrect parameters")),
    ],
)
def test_device_errors(
    http: httpx.Client,
    headers: dict[str, str],
    path: str,
    query: str,
    status: int,
    expected: dict[str, Any],
) -> None:
    """An unknown device is 404; a missing or malformed deviceId is 400."""
    answer = http.get(f"{path}?{query}", headers=headers)
    assert (answer.status_code, answer.json()) == (status, expected)


@pytest.mark.parametrize("path", [DEVICE, BASE_INFO, ONLINE])
def test_devices_need_a_token(http: httpx.Client, device: dict[str, Any], path: str) -> None:
    """Without a bearer token: 401 before the query is even looked at."""
    answer = http.get(f"{path}?deviceId=abc")
    assert (answer.status_code, answer.json()) == (401, error("Unauthorized"))
    assert answer.headers["www-authenticate"].startswith("Bearer")


# --- organization B cannot read organization A's devices ----------------------------------


@pytest.mark.parametrize("path", [DEVICE, BASE_INFO, ONLINE])
def test_other_organization_reads_its_own_device(
    http: httpx.Client, other: dict[str, Any], path: str
) -> None:
    """Positive control: B reads B's device, which another process created."""
    device_id = other["devices"][0]["id"]
    answer = http.get(f"{path}?deviceId={device_id}", headers=other["headers"])
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("path", [DEVICE, BASE_INFO, ONLINE])
def test_other_organization_gets_the_device_404(
    http: httpx.Client, other: dict[str, Any], device: dict[str, Any], path: str
) -> None:
    """B's token on A's device answers exactly like a missing device."""
    answer = http.get(f"{path}?deviceId={device['id']}", headers=other["headers"])
    assert (answer.status_code, answer.json()) == (404, device_not_found(device["id"]))


@pytest.mark.parametrize("path", [DEVICE, BASE_INFO, ONLINE])
def test_organization_a_cannot_read_organization_b(
    http: httpx.Client, headers: dict[str, str], data_dir: Path, path: str
) -> None:
    """And the other way round: A's token on B's device is the device 404."""
    device_id = second_org(data_dir)["devices"][1]["id"]
    answer = http.get(f"{path}?deviceId={device_id}", headers=headers)
    assert (answer.status_code, answer.json()) == (404, device_not_found(device_id))


# --- routing and documents ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/organization/nothing", "/api/x/y", "/api", "/oauth2/other", "/nothing"]
)
def test_unknown_paths_answer_the_json_404(http: httpx.Client, path: str) -> None:
    """Paths nobody serves answer Pinbase's JSON 404, also under /api and /oauth2."""
    answer = http.get(path)
    assert (answer.status_code, answer.json()) == (404, error("Not found."))


def test_trailing_slashes_are_not_redirected(http: httpx.Client, headers: dict[str, str]) -> None:
    """Paths are exact: a trailing slash is another, unknown path."""
    answer = http.get(f"{DEVICE}/?deviceId=1", headers=headers)
    assert (answer.status_code, answer.json()) == (404, error("Not found."))


def test_wrong_method_answers_405(http: httpx.Client, headers: dict[str, str]) -> None:
    """A known path with another method is 405 in Blynk's shape."""
    answer = http.delete(f"{ONLINE}?deviceId=1", headers=headers)
    assert (answer.status_code, answer.json()) == (405, error("Method not allowed."))
    assert answer.headers["allow"] == "GET"
    answer = http.put(PROPERTY, headers=headers)
    assert (answer.status_code, answer.headers["allow"]) == (405, "GET, POST")


def test_device_api_and_legacy_routes_still_come_first(
    http: httpx.Client, device: dict[str, Any]
) -> None:
    """The hot-path routes are untouched by the Platform application behind them."""
    token = device["token"]
    assert http.get(f"/external/api/isHardwareConnected?token={token}").text == "false"
    assert http.get(f"/{token}/isHardwareConnected").text == "false"
    assert http.post(f"/external/api/update?token={token}&v1=1").status_code == 405


def test_openapi_document_describes_the_platform_api(http: httpx.Client) -> None:
    """/openapi.json lists the token endpoint and the Platform paths, with 400s, not 422s."""
    answer = http.get("/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    paths = document["paths"]
    for path in (
        "/oauth2/token",
        DEVICE,
        BASE_INFO,
        ONLINE,
        PROPERTY,
        "/api/v1/organization/device/datastream",
        "/api/v1/organization/device/datastreams",
        "/api/v1/organization/device/import/batch",
        "/api/v1/organization/device/datastream/history",
    ):
        assert path in paths, path
    for operations in paths.values():
        for operation in operations.values():
            assert "422" not in operation["responses"]
    assert "requestBody" in paths[PROPERTY]["post"]


def test_swagger_ui_is_served(http: httpx.Client) -> None:
    """/docs is the Swagger UI page."""
    answer = http.get("/docs")
    assert answer.status_code == 200
    assert "swagger-ui" in answer.text
