"""PyPI ``BlynkWrapper`` 0.0.1, a legacy-API (Blynk 1.0 HTTP) client, against ``pinbase serve``.

Its ``getDevices()`` reads ``devices[]`` of ``GET /{token}/project`` (LEG-12), which Pinbase
answers as Blynk 1.0's DashBoard did; ``get``/``update``/``isConnected`` use LEG-01, 02 and 06.
"""

from typing import Any

from BlynkWrapper.Wrapper import BlynkWrapper
from interop_driver import InteropServer


def wrapper(server: InteropServer, token: str) -> BlynkWrapper:
    """A BlynkWrapper of ``token`` pointed at the interop server."""
    return BlynkWrapper(token, "127.0.0.1", server.process.port)


def test_get_devices_lists_the_project_devices(
    interop_server: InteropServer, fresh: dict[str, Any]
) -> None:
    """getDevices() answers every device of the token's project with name, board and id."""
    devices = wrapper(interop_server, fresh["token"]).getDevices()
    assert len(devices) == len(interop_server.devices)
    assert {"deviceName": fresh["name"], "boardType": "Generic Board", "id": fresh["id"]} in devices


def test_update_then_get_and_connection_state(
    interop_server: InteropServer, fresh: dict[str, Any]
) -> None:
    """update() stores, get() reads the legacy string item, isConnected() is False offline."""
    blynk = wrapper(interop_server, fresh["token"])
    assert blynk.update("V1", 42) == 200
    assert blynk.get("V1") == "42"
    assert blynk.isConnected() is False
    widgets = blynk.getWidgets()
    assert {widget["deviceId"] for widget in widgets} == {fresh["id"]}
