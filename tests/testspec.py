"""The test provisioning file (``fixtures/spec.json``) with as many devices as a test needs."""

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def load_spec(devices: int) -> dict[str, Any]:
    """The test provisioning file with ``devices`` devices of the "ESP32 QA" template."""
    spec: dict[str, Any] = json.loads((FIXTURES / "spec.json").read_text())
    spec["devices"] = [{"name": f"Device {n}", "template": "ESP32 QA"} for n in range(devices)]
    return spec
