"""JSON numbers with a zero fraction are integers in Platform API bodies, as JSON Schema counts
them (docs/decisions.md OP-07), so requests built from the OpenAPI document are accepted."""

from typing import Any

import httpx
import pytest

VALUE = "/api/v1/organization/device/datastream"


@pytest.mark.parametrize(("device_id", "status"), [("ID.0", 204), ("ID.5", 400), ('"ID"', 400)])
def test_an_integral_float_id_is_the_integer(
    http: httpx.Client,
    headers: dict[str, str],
    device: dict[str, Any],
    device_id: str,
    status: int,
) -> None:
    """``deviceId: 7.0`` names device 7; ``7.5`` and ``"7"`` are refused."""
    written = device_id.replace("ID", str(device["id"]))
    body = f'{{"deviceId": {written}, "dataStreamId": 1.0, "value": 9}}'
    answer = http.post(VALUE, content=body, headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == status, answer.text
