"""``/mqtt`` of the HTTP application (device-lifecycle.md §3): a plain request is told to
upgrade; the WebSocket side is tests/transports/test_mqtt_websocket_inprocess.py."""

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from pinbase.http.app import FamiliesFirst, MqttSocketOnly
from pinbase.transports.websocket import Message


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_plain_request_to_mqtt_answers_426(http: httpx.Client, method: str) -> None:
    """Any method without the WebSocket handshake: 426, ``Upgrade: websocket``, Blynk's JSON
    error shape."""
    answer = http.request(method, "/mqtt")
    assert answer.status_code == 426
    assert answer.headers["upgrade"] == "websocket"
    assert answer.json() == {
        "error": {"message": "MQTT over WebSocket: connect to this path with a WebSocket client."}
    }


def test_mqtt_prefix_is_not_the_socket_path(http: httpx.Client) -> None:
    """Only ``/mqtt`` itself is reserved: ``/mqttx`` is an unknown path as before."""
    assert http.get("/mqttx").status_code == 404


async def test_socket_is_refused_when_mqtt_over_websocket_is_off() -> None:
    """Without an MQTT-over-WebSocket application the handshake is closed unaccepted."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    async def nothing(scope: object, receive: object, send: object) -> None:
        raise AssertionError("the routes must not see /mqtt")

    families = FamiliesFirst(nothing, platform=nothing, console=nothing)
    await families({"type": "websocket", "path": "/mqtt"}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]


async def test_secure_port_serves_mqtt_only() -> None:
    """The secure WebSocket port's application: sockets to ``/mqtt`` reach MQTT, other
    sockets are refused, a plain ``/mqtt`` request gets 426 and any other path 404."""
    seen: list[str] = []

    async def mqtt(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["path"])

    app = MqttSocketOnly(mqtt)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://pinbase.test"
    ) as client:
        assert (await client.get("/mqtt")).status_code == 426
        missing = await client.get("/external/api/isHardwareConnected?token=x")
        assert missing.status_code == 404
        assert missing.json() == {"error": {"message": "Not found."}}
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app({"type": "websocket", "path": "/mqtt"}, receive, send)
    await app({"type": "websocket", "path": "/dashboard/ws"}, receive, send)
    assert seen == ["/mqtt"]
    assert sent == [{"type": "websocket.close", "code": 1008}]
