"""The test provisioning file (``fixtures/spec.json``) and the pool of what it created."""

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"

UNTHROTTLED = {"PINBASE_DEVICE_REQUESTS_PER_SECOND": "1000000"}
"""Server environment for tests that hammer single devices for another purpose (fuzzing,
durability, interop): far above Blynk's 50 requests per second per device, so their load is not
throttled. tests/e2e/test_device_limits.py tests the limit itself on servers of its own."""


def load_spec(devices: int) -> dict[str, Any]:
    """The test provisioning file with ``devices`` devices of the "ESP32 QA" template."""
    spec: dict[str, Any] = json.loads((FIXTURES / "spec.json").read_text())
    spec["devices"] = [{"name": f"Device {n}", "template": "ESP32 QA"} for n in range(devices)]
    return spec


class Pool:
    """What the session provisioned, handed out one device at a time."""

    def __init__(self, created: dict[str, Any]) -> None:
        self.created = created
        self._devices = iter(created["devices"])

    def take(self) -> dict[str, Any]:
        """A device no other test has used: ``{"id", "name", "token", "templateId"}``."""
        device: dict[str, Any] = next(self._devices)
        return device
