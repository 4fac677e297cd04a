"""Done-when of issue #10 for automations: "when V1 > 30 set V2 to 1" switches a real connected
``blynklib`` device when V1 is written over HTTP (the Device HTTPS API), through the whole
server: the HTTP write, the bus, the engine's own task, the value pipeline, the TCP listener."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_live_stack import LiveStack, live_stack
from interop_driver import BLYNKLIB, DeviceClient

from editors import Editor
from pinbase.domain.automations import Automation
from pinbase.domain.ids import OrgId
from pinbase.testing import provision
from testspec import load_spec


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A data folder with one "ESP32 QA" device (V1 Counter INT 0..100, V2 Level INT)."""
    folder = tmp_path_factory.mktemp("automation-device")
    return folder, provision(load_spec(1), data_dir=folder)


@pytest.fixture(scope="module")
def stack(provisioned: tuple[Path, dict[str, Any]]) -> Iterator[LiveStack]:
    """The server over the provisioned folder."""
    with live_stack(provisioned[0]) as running:
        yield running


def test_when_v1_above_30_set_v2_to_1_switches_a_connected_device(
    stack: LiveStack, provisioned: tuple[Path, dict[str, Any]], client_logs: Path
) -> None:
    """V1=25 over HTTP does nothing; V1=35 makes the server write V2=1 to the device."""
    created = provisioned[1]
    device = created["devices"][0]
    org = OrgId(created["organization"]["id"])
    editor = Editor(org_id=org, scope=frozenset({org}))
    rule = {
        "name": "Hot",
        "condition": {
            "kind": "DEVICE_STATE",
            "deviceId": device["id"],
            "dataStreamId": 1,
            "operator": "GT",
            "operand": "30",
        },
        "actions": [
            {"kind": "CONTROL_DEVICE", "deviceId": device["id"], "dataStreamId": 2, "value": "1"}
        ],
    }

    async def create() -> Automation:
        return await stack.services.automations.create(editor, rule)

    automation = stack.run(create)
    update = f"{stack.base_url}/external/api/update"
    with DeviceClient(
        BLYNKLIB, device["token"], port=stack.hardware_port, log_dir=client_logs
    ).started() as client:
        assert httpx.get(update, params={"token": device["token"], "v1": "25"}).status_code == 200
        client.expect("write", pin=1, values=["25"])
        assert httpx.get(update, params={"token": device["token"], "v1": "35"}).status_code == 200
        client.expect("write", pin=1, values=["35"])
        client.expect("write", pin=2, values=["1"])

    async def runs() -> list[str]:
        logs = await stack.services.automations.runs(editor, automation.id)
        return [log.run.status for log in logs]

    assert stack.run(runs) == ["OK"]
