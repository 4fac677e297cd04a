"""One rendering of a stored DOUBLE in every read form (docs/decisions.md, "Rendering a DOUBLE").

The pool's template has v3, a DOUBLE with decimals ``#.00000``, and v8, a DOUBLE with none. The
same stored value must read with the same digits through the device API (single get, multi get,
getAll), the legacy API (get, project) and the Platform API (PLT-DS-01, PLT-DEV-06, PLT-DS-06).
JSON answers are parsed with every number kept as its literal text, so ``21.50000`` and ``21.5``
differ here as they do on the wire.
"""

import json
from typing import Any

import httpx
import pytest

VALUES = "/api/v1/organization/device/datastreams"
DEVICE = "/api/v1/organization/device"
HISTORY = "/api/v1/organization/device/datastream/history"


def literal_json(answer: httpx.Response) -> Any:
    """The JSON body with every number as its literal text."""
    assert answer.status_code == 200, answer.text
    return json.loads(answer.text, parse_float=str, parse_int=str)


def readings(
    http: httpx.Client, headers: dict[str, str], device: dict[str, Any], pin: str
) -> dict[str, str]:
    """The value of ``pin`` as each read form renders it, by form."""
    token, device_id, number = device["token"], device["id"], int(pin[1:])
    other = "v2" if pin != "v2" else "v1"
    device_info = literal_json(http.get(f"{DEVICE}?deviceId={device_id}", headers=headers))
    widgets = literal_json(http.get(f"/{token}/project"))["widgets"]
    history = http.get(f"{HISTORY}?deviceId={device_id}&pin={pin}", headers=headers)
    return {
        "single get": http.get(f"/external/api/get?token={token}&{pin}").text,
        "multi get": literal_json(http.get(f"/external/api/get?token={token}&{pin}&{other}"))[pin],
        "getAll": literal_json(http.get(f"/external/api/getAll?token={token}"))[pin],
        "legacy get": literal_json(http.get(f"/{token}/get/{pin.upper()}"))[0],
        "legacy project": next(w["value"] for w in widgets if w["pin"] == str(number)),
        "PLT-DS-01": literal_json(http.get(f"{VALUES}?deviceId={device_id}", headers=headers))[pin],
        "PLT-DEV-06": next(v["value"] for v in device_info["dataStreamValues"] if v["pin"] == pin),
        "PLT-DS-06": literal_json(history)["content"][0]["value"],
    }


@pytest.mark.parametrize(
    ("pin", "written", "expected"),
    [
        ("v3", "21.57", "21.57000"),
        ("v3", "21.5", "21.50000"),
        ("v3", "-0.000001", "0.00000"),
        ("v3", "3.1234567", "3.12345"),
        ("v8", "21.57", "21.57"),
        ("v8", "21", "21.0"),
        ("v8", "0.1", "0.1"),
        ("v8", "1e20", "1e+20"),
    ],
)
def test_every_read_form_renders_a_double_alike(
    http: httpx.Client,
    headers: dict[str, str],
    device: dict[str, Any],
    pin: str,
    written: str,
    expected: str,
) -> None:
    """A DOUBLE reads with its decimals pattern (truncated) when set, else shortest repr,
    through every read form alike."""
    write = http.get(f"/external/api/batch/update?token={device['token']}&{pin}={written}&v2=1")
    assert write.status_code == 200, write.text
    seen = readings(http, headers, device, pin)
    assert seen == dict.fromkeys(seen, expected)
