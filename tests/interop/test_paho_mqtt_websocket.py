"""MQTT over WebSocket at ``/mqtt`` of the HTTP port (device-lifecycle.md §3), against
``pinbase serve``: PyPI ``paho-mqtt`` with ``transport="websockets"`` as the device, and the
``websockets`` library for what a client library never does (text frames, odd subprotocols,
packets cut across frames)."""

import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
from interop_driver import DeviceClient, InteropServer, eventually, is_connected, value_of
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from pinbase.protocols.mqtt.client import (
    PINGREQ,
    ServerPacket,
    ServerReader,
    connect_packet,
    publish_packet,
)
from pinbase.protocols.mqtt.packets import PacketType
from pinbase.testing import ServerProcess, free_port, provision
from testspec import load_spec
from tls_certs import self_signed

PAHO = "paho_mqtt"
PATH = "/mqtt"
MQTT = [Subprotocol("mqtt")]


def ws_device(
    server: InteropServer, token: str, logs: Path, *extra: str, tls: bool = False
) -> DeviceClient:
    """A paho process connected over WebSocket with ``token`` (over TLS to ``localhost`` on the
    secure WebSocket port with ``tls``), subscribed to ``downlink/#``."""
    if tls:
        extra += ("--ca-cert", str(server.cert))
    client = DeviceClient(
        PAHO,
        token,
        server="localhost" if tls else "127.0.0.1",
        port=server.mqtt_wss_port if tls else server.process.port,
        log_dir=logs,
        heartbeat=45,
        extra=("--websocket", PATH, *extra),
    )
    return client.started("subscribed", codes=[0])


def socket_url(server: InteropServer) -> str:
    """``ws://127.0.0.1:<http port>/mqtt``."""
    return f"ws://127.0.0.1:{server.process.port}{PATH}"


def packets(socket: ClientConnection, reader: ServerReader, count: int) -> list[ServerPacket]:
    """The next ``count`` MQTT packets, whatever frames carry them."""
    seen: list[ServerPacket] = []
    while len(seen) < count:
        frame = socket.recv(timeout=5)
        assert isinstance(frame, bytes), "the server sends binary frames only"
        seen.extend(reader.feed(frame))
    return seen


def test_websocket_publish_is_stored_and_readable_over_http(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """paho over ``ws://…/mqtt`` publishes ``ds/Temperature``; GET /external/api/get returns
    it and the device is online."""
    token = fresh["token"]
    with ws_device(interop_server, token, tmp_path) as client:
        assert is_connected(api, token)
        client.command("publish", topic="ds/Temperature", payload="23.5", qos=1)
        assert eventually(lambda: value_of(api, token, "v3") == "23.50000")


def test_websocket_device_receives_downlinks(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """An API write reaches the WebSocket device on ``downlink/ds/<name>``; ``get/ds`` is
    answered as over TCP."""
    token = fresh["token"]
    with ws_device(interop_server, token, tmp_path) as client:
        assert api.get(f"/external/api/update?token={token}&v1=17").status_code == 200
        client.expect("message", topic="downlink/ds/Counter", payload="17")
        client.command("publish", topic="get/ds", payload="Setpoint")
        client.expect("message", topic="downlink/ds/Setpoint", payload="21.5")


def test_secure_websocket_carries_writes_both_ways(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """paho over ``wss://localhost:<mqtt_wss_port>/mqtt`` with the throwaway certificate: the
    publish is stored and an API write reaches it."""
    token = fresh["token"]
    with ws_device(interop_server, token, tmp_path, tls=True) as client:
        assert is_connected(api, token)
        client.command("publish", topic="ds/Temperature", payload="26.5", qos=1)
        assert eventually(lambda: value_of(api, token, "v3") == "26.50000")
        assert api.get(f"/external/api/update?token={token}&v1=5").status_code == 200
        client.expect("message", topic="downlink/ds/Counter", payload="5")


def test_secure_websocket_port_serves_mqtt_only(interop_server: InteropServer) -> None:
    """The secure WebSocket port is no second door to the HTTP APIs: only ``/mqtt`` (426 to a
    plain request), 404 elsewhere; a TLS 1.2 client is served (granian's default is 1.3)."""
    base = f"https://localhost:{interop_server.mqtt_wss_port}"
    with httpx.Client(base_url=base, verify=ssl_context(interop_server.cert)) as https:
        assert https.get("/mqtt").status_code == 426
        answer = https.get("/external/api/isHardwareConnected?token=x")
        assert answer.status_code == 404
        assert https.get("/healthz").status_code == 404
    tls12 = ssl_context(interop_server.cert)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2  # ESP32 TLS stacks often stop at 1.2
    with httpx.Client(base_url=base, verify=tls12) as https:
        assert https.get("/mqtt").status_code == 426


def ssl_context(cert: Path) -> ssl.SSLContext:
    """A client context trusting the throwaway certificate."""
    return ssl.create_default_context(cafile=str(cert))


def test_websocket_mqtt5_client_connects(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """MQTT 5 over WebSocket: the same session as over TCP."""
    token = fresh["token"]
    with ws_device(interop_server, token, tmp_path, "--mqtt5") as client:
        client.command("publish", topic="ds/Humidity", payload="44.5")
        assert eventually(lambda: value_of(api, token, "v9") == "44.5")


def test_websocket_bad_token_is_refused_like_tcp(
    interop_server: InteropServer, tmp_path: Path
) -> None:
    """An unknown token over WebSocket: CONNACK 0x04, which paho reports as reason 0x86."""
    port = interop_server.process.port
    extra = ("--websocket", PATH)
    with DeviceClient(PAHO, "y" * 32, port=port, log_dir=tmp_path, extra=extra) as client:
        failed = client.expect("connect_failed")
        assert failed["code"] == 0x86
        assert not client.saw("connected")


def test_websocket_and_tcp_share_one_session_per_token(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """A WebSocket login replaces the device's TCP MQTT connection (one per token, §2.2)."""
    token = fresh["token"]
    tcp = DeviceClient(PAHO, token, port=interop_server.mqtt_port, log_dir=tmp_path, heartbeat=45)
    with tcp.started("subscribed", codes=[0]) as first, ws_device(interop_server, token, tmp_path):
        first.expect("disconnected")
        assert is_connected(api, token)


def test_killed_websocket_device_fires_its_will(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any], tmp_path: Path
) -> None:
    """A killed WebSocket client: its will is stored as its publish, then it is offline."""
    token = fresh["token"]
    extra = ("--will-topic", "ds/Message", "--will-payload", "ws gone")
    with ws_device(interop_server, token, tmp_path, *extra) as client:
        client.kill()
        assert eventually(lambda: not is_connected(api, token), within=3)
        assert value_of(api, token, "v4") == "ws gone"


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [(["mqtt"], "mqtt"), (["mqttv3.1"], "mqttv3.1"), (["chat", "mqtt"], "mqtt"), (None, None)],
)
def test_subprotocol_is_echoed(
    interop_server: InteropServer, offered: list[str] | None, chosen: str | None
) -> None:
    """The handshake confirms the MQTT subprotocol offered (browsers require it); a client
    offering none is accepted too."""
    wanted = None if offered is None else [Subprotocol(name) for name in offered]
    with connect(socket_url(interop_server), subprotocols=wanted) as socket:
        assert socket.subprotocol == chosen


def test_other_subprotocols_are_refused(interop_server: InteropServer) -> None:
    """A client offering only non-MQTT subprotocols is refused at the handshake (403)."""
    with pytest.raises(InvalidStatus) as refused:
        connect(socket_url(interop_server), subprotocols=[Subprotocol("chat")])
    assert refused.value.response.status_code == 403


def test_frames_are_a_byte_stream(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any]
) -> None:
    """A CONNECT cut across two frames, then a PUBLISH and a PINGREQ in one frame: CONNACK,
    PUBACK and PINGRESP come back and the value is stored."""
    token = fresh["token"]
    reader = ServerReader()
    with connect(socket_url(interop_server), subprotocols=MQTT) as socket:
        login = connect_packet(password=token.encode())
        socket.send(login[:5])
        socket.send(login[5:])
        (connack,) = packets(socket, reader, 1)
        assert connack.type is PacketType.CONNACK
        assert connack.body[1] == 0
        socket.send(publish_packet("ds/Temperature", b"18.25", qos=1, packet_id=7) + PINGREQ)
        kinds = {packet.type for packet in packets(socket, reader, 2)}
        assert kinds == {PacketType.PUBACK, PacketType.PINGRESP}
    assert eventually(lambda: value_of(api, token, "v3") == "18.25000")


def test_text_frame_closes_with_1003(interop_server: InteropServer, fresh: dict[str, Any]) -> None:
    """A text frame is not MQTT: the server closes with 1003 (unsupported data)."""
    reader = ServerReader()
    with connect(socket_url(interop_server), subprotocols=MQTT) as socket:
        socket.send(connect_packet(password=fresh["token"].encode()))
        assert packets(socket, reader, 1)[0].type is PacketType.CONNACK
        socket.send("hello")
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1003


def test_websocket_pings_are_answered(interop_server: InteropServer) -> None:
    """A WebSocket ping gets its pong, before and without any MQTT."""
    with connect(socket_url(interop_server), subprotocols=MQTT) as socket:
        assert socket.ping(b"are you there").wait(5)


def test_plain_http_request_is_told_to_upgrade(api: httpx.Client) -> None:
    """``GET /mqtt`` without a WebSocket handshake: 426 with Blynk's JSON error shape."""
    answer = api.get(PATH)
    assert answer.status_code == 426
    assert answer.headers["upgrade"] == "websocket"
    assert "WebSocket" in answer.json()["error"]["message"]


def test_silence_past_the_keep_alive_closes_the_socket(
    interop_server: InteropServer, api: httpx.Client, fresh: dict[str, Any]
) -> None:
    """MQTT keep-alive governs a WebSocket too: with keep-alive 1 s and nothing sent, the
    server closes the connection and the device goes offline."""
    token = fresh["token"]
    reader = ServerReader()
    with connect(socket_url(interop_server), subprotocols=MQTT) as socket:
        socket.send(connect_packet(password=token.encode(), keep_alive=1))
        assert packets(socket, reader, 1)[0].type is PacketType.CONNACK
        assert is_connected(api, token)
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=10)
    assert not is_connected(api, token)


def test_sigterm_closes_websockets_with_a_close_frame(tmp_path: Path) -> None:
    """A server stopping (SIGTERM) closes its WebSocket devices, plain and secure, with close
    code 1000 before the HTTP servers stop, and exits 0."""
    created = provision(load_spec(2), data_dir=tmp_path)
    cert, key = self_signed(tmp_path)
    wss_port = free_port()
    options = [f"--tls-cert={cert}", f"--tls-key={key}", "--hardware-tls-port=0"]
    options.append(f"--mqtt-wss-port={wss_port}")
    tokens = [device["token"] for device in created["devices"]]
    with ServerProcess(tmp_path, *options) as process:
        plain = connect(f"ws://127.0.0.1:{process.port}{PATH}", subprotocols=MQTT)
        secure = connect(
            f"wss://localhost:{wss_port}{PATH}", subprotocols=MQTT, ssl=ssl_context(cert)
        )
        with plain, secure:
            for socket, token in zip((plain, secure), tokens, strict=True):
                socket.send(connect_packet(password=token.encode()))
                assert packets(socket, ServerReader(), 1)[0].type is PacketType.CONNACK
            assert process.stop() == 0
            for socket in (plain, secure):
                with pytest.raises(ConnectionClosedOK) as closed:
                    socket.recv(timeout=5)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 1000
