"""MQTT over WebSocket in process (device-lifecycle.md §3): ``MqttWebSocket`` over the real
services, driven by an in-memory ASGI server side (what granian hands the application), for the
handshake rules, the byte stream, text frames, backpressure and stopping. The same over a real
socket with real clients: tests/interop/test_paho_mqtt_websocket.py, tests/browser/
test_mqttjs_websocket.py."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from tcp_stack import Stack, running_stack, until

from pinbase.domain.pins import PinType
from pinbase.protocols.mqtt.client import (
    PINGREQ,
    ServerPacket,
    ServerReader,
    connect_packet,
    publish_packet,
)
from pinbase.protocols.mqtt.packets import PacketType
from pinbase.settings import Settings
from pinbase.transports.mqtt import MqttListeners
from pinbase.transports.mqtt_hub import MqttOptions
from pinbase.transports.mqtt_websocket import MqttWebSocket, choose_subprotocol
from pinbase.transports.websocket import Message, WebSocketTransport

OPTIONS = MqttOptions(connect_timeout=2.0, max_packet=256)


class Peer:
    """The server side of one WebSocket as an ASGI application sees it, in memory: what the
    client sends goes in ``inbound``, what the application sends comes out of ``outbound``."""

    def __init__(
        self,
        app: MqttWebSocket,
        *,
        subprotocols: Sequence[str] = (),
        origin: str | None = None,
    ) -> None:
        headers = [(b"host", b"pinbase.test")]
        if origin is not None:
            headers.append((b"origin", origin.encode()))
        scope = {
            "type": "websocket",
            "path": "/mqtt",
            "scheme": "ws",
            "client": ("192.0.2.7", 50000),
            "headers": headers,
            "subprotocols": list(subprotocols),
        }
        self.inbound: asyncio.Queue[Message] = asyncio.Queue()
        self.outbound: asyncio.Queue[Message] = asyncio.Queue()
        self._reader = ServerReader()
        self._packets: list[ServerPacket] = []
        self.inbound.put_nowait({"type": "websocket.connect"})
        self.task = asyncio.get_running_loop().create_task(app(scope, self.inbound.get, self._send))

    async def _send(self, message: Message) -> None:
        await self.outbound.put(message)

    def frame(self, data: bytes) -> None:
        """The client sends a binary frame."""
        self.inbound.put_nowait({"type": "websocket.receive", "bytes": data})

    def text(self, data: str) -> None:
        """The client sends a text frame."""
        self.inbound.put_nowait({"type": "websocket.receive", "text": data})

    def leave(self) -> None:
        """The client's connection is gone."""
        self.inbound.put_nowait({"type": "websocket.disconnect", "code": 1006})

    async def sent(self) -> Message:
        """The next message the application sent."""
        return await asyncio.wait_for(self.outbound.get(), 3)

    async def packet(self) -> ServerPacket:
        """The next MQTT packet, whatever frame carries it."""
        while not self._packets:
            message = await self.sent()
            assert message["type"] == "websocket.send", message
            self._packets.extend(self._reader.feed(message["bytes"]))
        return self._packets.pop(0)

    async def ended(self) -> None:
        """Wait for the application to return."""
        await asyncio.wait_for(self.task, 3)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[tuple[Stack, MqttListeners]]:
    """The services with binary and MQTT listeners (no MQTT port open: WebSockets only)."""
    async with running_stack(tmp_path) as stack:
        mqtt = MqttListeners.for_services(
            stack.services,
            settings=Settings(data_dir=tmp_path),
            sessions=stack.listeners.sessions,
            guard=stack.guard,
            options=OPTIONS,
        )
        try:
            yield stack, mqtt
        finally:
            await mqtt.stop()


async def accepted(app: MqttWebSocket, **handshake: Any) -> Peer:
    """A peer past an accepted handshake."""
    peer = Peer(app, **handshake)
    assert (await peer.sent())["type"] == "websocket.accept"
    return peer


async def logged_in(app: MqttWebSocket, token: str) -> Peer:
    """A peer past an accepted CONNECT."""
    peer = await accepted(app, subprotocols=["mqtt"])
    peer.frame(connect_packet(password=token.encode()))
    connack = await peer.packet()
    assert connack.type is PacketType.CONNACK
    assert connack.body[1] == 0
    return peer


async def stored(stack: Stack, token: str, pin: int) -> object:
    """The current value of virtual ``pin``, or None."""
    bound = await stack.bound(token)
    datastream = await stack.datastream(token, pin, PinType.VIRTUAL)
    point = stack.services.telemetry.current(bound.device.id, datastream)
    return None if point is None else point.value


# --- the handshake ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (["mqtt"], "mqtt"),
        (["mqttv3.1"], "mqttv3.1"),
        (["wamp", "MQTT", "mqtt"], "MQTT"),
        ([], None),
    ],
)
def test_the_first_mqtt_subprotocol_offered_is_chosen(
    offered: list[str], chosen: str | None
) -> None:
    """The client's first MQTT subprotocol is echoed as offered; none offered, none chosen."""
    assert choose_subprotocol(offered) == chosen


def test_only_other_subprotocols_are_refused() -> None:
    """An offer without an MQTT subprotocol is refused."""
    with pytest.raises(ValueError, match="no MQTT subprotocol"):
        choose_subprotocol(["wamp", "chat"])


async def test_accept_echoes_the_subprotocol(stack: tuple[Stack, MqttListeners]) -> None:
    """``websocket.accept`` names the chosen subprotocol (browsers drop it otherwise)."""
    peer = Peer(stack[1].websocket(), subprotocols=["mqtt"])
    assert await peer.sent() == {"type": "websocket.accept", "subprotocol": "mqtt"}
    peer.leave()
    await peer.ended()


async def test_other_subprotocols_are_closed_before_accept(
    stack: tuple[Stack, MqttListeners],
) -> None:
    """Only non-MQTT subprotocols: the handshake is closed unaccepted (the server answers 403)."""
    peer = Peer(stack[1].websocket(), subprotocols=["chat"])
    assert (await peer.sent())["type"] == "websocket.close"
    await peer.ended()


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://panel.example.org", True),
        ("HTTPS://Panel.Example.org/", True),
        ("https://evil.example.org", False),
        ("http://pinbase.test", True),
        ("https://pinbase.test", True),
        ("http://pinbase.test:8080", False),
        (None, True),
    ],
)
async def test_the_origin_allow_list(
    stack: tuple[Stack, MqttListeners], origin: str | None, allowed: bool
) -> None:
    """With an allow-list, browsers' pages connect from the listed origins (compared as browsers
    send them) and from the server's own host; a client without ``Origin`` is no browser."""
    app = stack[1].websocket(origins=("https://panel.example.org",))
    peer = Peer(app, subprotocols=["mqtt"], origin=origin)
    expected = "websocket.accept" if allowed else "websocket.close"
    assert (await peer.sent())["type"] == expected
    peer.leave()
    await peer.ended()


async def test_any_origin_without_an_allow_list(stack: tuple[Stack, MqttListeners]) -> None:
    """No allow-list (the default): any page may connect, the token authenticates."""
    peer = Peer(stack[1].websocket(), origin="https://anywhere.example")
    assert (await peer.sent())["type"] == "websocket.accept"
    peer.leave()
    await peer.ended()


# --- the byte stream --------------------------------------------------------------------------


async def test_packets_span_frames_and_frames_carry_several_packets(
    stack: tuple[Stack, MqttListeners],
) -> None:
    """A CONNECT in three frames, then a PUBLISH (QoS 1) and a PINGREQ in one frame: CONNACK,
    PUBACK and PINGRESP, and the value stored."""
    services, mqtt = stack
    token = services.tokens[0]
    peer = await accepted(mqtt.websocket(), subprotocols=["mqtt"])
    login = connect_packet(password=token.encode())
    for part in (login[:1], login[1:9], login[9:]):
        peer.frame(part)
    assert (await peer.packet()).type is PacketType.CONNACK
    peer.frame(publish_packet("ds/Temperature", b"20.5", qos=1, packet_id=3) + PINGREQ)
    assert (await peer.packet()).type is PacketType.PUBACK
    assert (await peer.packet()).type is PacketType.PINGRESP
    assert await stored(services, token, 3) == 20.5
    assert await services.is_online(token)


async def test_a_text_frame_closes_with_1003_and_the_device_goes_offline(
    stack: tuple[Stack, MqttListeners],
) -> None:
    """A text frame: close 1003 (unsupported data); the device is offline."""
    services, mqtt = stack
    token = services.tokens[1]
    peer = await logged_in(mqtt.websocket(), token)
    peer.text("ds/Temperature 1")
    assert await peer.sent() == {"type": "websocket.close", "code": 1003}
    await peer.ended()
    assert not await services.is_online(token)


async def test_a_peer_that_leaves_fires_its_will_after_what_it_sent(
    stack: tuple[Stack, MqttListeners],
) -> None:
    """Publish, then the connection is gone: the publish is stored, then the will, and the
    device is offline."""
    services, mqtt = stack
    token = services.tokens[2]
    peer = await accepted(mqtt.websocket())
    peer.frame(connect_packet(password=token.encode(), will=("ds/Message", b"bye")))
    assert (await peer.packet()).type is PacketType.CONNACK
    peer.frame(publish_packet("ds/Temperature", b"5"))
    peer.leave()
    await peer.ended()
    assert await until(lambda: _offline(services, token))
    assert await stored(services, token, 3) == 5
    assert await stored(services, token, 4) == "bye"


async def _offline(stack: Stack, token: str) -> bool:
    return not await stack.is_online(token)


async def test_a_wrong_token_is_refused_like_tcp(stack: tuple[Stack, MqttListeners]) -> None:
    """An unknown token: CONNACK 0x04 in a binary frame, then the close frame."""
    peer = await accepted(stack[1].websocket(), subprotocols=["mqtt"])
    peer.frame(connect_packet(password=b"q" * 32))
    connack = await peer.packet()
    assert connack.type is PacketType.CONNACK
    assert connack.body[1] == 4
    assert (await peer.sent())["type"] == "websocket.close"
    await peer.ended()


async def test_stop_closes_every_socket_with_a_close_frame(
    stack: tuple[Stack, MqttListeners],
) -> None:
    """``stop`` (before the HTTP server stops) closes each connection cleanly; its will does
    not fire (the device did not go away)."""
    services, mqtt = stack
    token = services.tokens[3]
    app = mqtt.websocket()
    peer = await accepted(app)
    peer.frame(connect_packet(password=token.encode(), will=("ds/Message", b"gone")))
    assert (await peer.packet()).type is PacketType.CONNACK
    await app.stop(within=2)
    assert await peer.sent() == {"type": "websocket.close", "code": 1000}
    await peer.ended()
    assert not await services.is_online(token)
    assert await stored(services, token, 4) is None


# --- the transport alone ----------------------------------------------------------------------


class Recorder(asyncio.Protocol):
    """A protocol that keeps what it is given."""

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.lost = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.data.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost += 1


async def test_paused_reading_takes_no_frame_until_resumed() -> None:
    """``pause_reading`` stops asking the server for frames; ``resume_reading`` goes on."""
    inbound: asyncio.Queue[Message] = asyncio.Queue()
    sent: list[Message] = []
    asked: list[int] = []

    async def receive() -> Message:
        asked.append(1)
        return await inbound.get()

    async def send(message: Message) -> None:
        sent.append(message)

    protocol = Recorder()
    transport = WebSocketTransport({"client": ("192.0.2.1", 1)}, send, protocol)
    serving = asyncio.get_running_loop().create_task(transport.serve(receive))
    assert await until(lambda: _equal(len(asked), 1))  # waiting for the first frame
    transport.pause_reading()
    inbound.put_nowait({"type": "websocket.receive", "bytes": b"a"})
    assert await until(lambda: _equal(protocol.data, [b"a"]))
    inbound.put_nowait({"type": "websocket.receive", "bytes": b"b"})
    for _ in range(5):
        await asyncio.sleep(0)
    assert protocol.data == [b"a"]
    assert len(asked) == 1
    transport.resume_reading()
    assert await until(lambda: _equal(protocol.data, [b"a", b"b"]))
    transport.close()
    await asyncio.wait_for(serving, 3)
    assert sent == [{"type": "websocket.close", "code": 1000}]
    assert protocol.lost == 1
    assert transport.get_extra_info("peername") == ("192.0.2.1", 1)


async def test_writes_are_coalesced_and_flushed_before_the_close_frame() -> None:
    """Writes queued together leave as one binary frame; ``close`` sends them, then closes."""
    sent: list[Message] = []

    async def receive() -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    protocol = Recorder()
    transport = WebSocketTransport({}, send, protocol)
    serving = asyncio.get_running_loop().create_task(transport.serve(receive))
    await asyncio.sleep(0)
    transport.write(b"one")
    transport.write(b"two")
    transport.close()
    transport.write(b"late")
    await asyncio.wait_for(serving, 3)
    assert sent == [
        {"type": "websocket.send", "bytes": b"onetwo"},
        {"type": "websocket.close", "code": 1000},
    ]
    assert protocol.lost == 1


@pytest.mark.parametrize("closing", [False, True])
async def test_abort_drops_a_frame_the_server_does_not_take(closing: bool) -> None:
    """A frame (or the close frame) the server never takes, as when the client does not read,
    does not hold the connection: ``abort`` ends it at once."""
    taking = asyncio.Event()

    async def receive() -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        taking.set()
        await asyncio.Event().wait()

    protocol = Recorder()
    transport = WebSocketTransport({}, send, protocol)
    serving = asyncio.get_running_loop().create_task(transport.serve(receive))
    await asyncio.sleep(0)
    transport.write(b"stuck")
    if closing:
        transport.close()
    await asyncio.wait_for(taking.wait(), 3)
    transport.write(b"more")
    assert transport.get_write_buffer_size() == (0 if closing else 4)
    transport.abort()
    await asyncio.wait_for(serving, 3)
    assert protocol.lost == 1
    assert transport.get_write_buffer_size() == 0


async def _equal(left: object, right: object) -> bool:
    return left == right


class Eofless(Recorder):
    """A protocol that does not keep the connection open at the peer's end (as TLS)."""

    def __init__(self) -> None:
        super().__init__()
        self.eof = 0

    def eof_received(self) -> bool:
        self.eof += 1
        return False


async def test_a_peer_gone_ends_the_connection_without_sending() -> None:
    """The peer leaves: the protocol hears ``eof_received``; a protocol that does not keep
    the connection open ends it at once, and nothing more is sent."""
    inbound: asyncio.Queue[Message] = asyncio.Queue()
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    protocol = Eofless()
    scope = {"client": None, "scheme": "wss"}
    transport = WebSocketTransport(scope, send, protocol)
    serving = asyncio.get_running_loop().create_task(transport.serve(inbound.get))
    inbound.put_nowait({"type": "websocket.receive", "bytes": b""})
    inbound.put_nowait({"type": "websocket.disconnect", "code": 1006})
    await asyncio.wait_for(serving, 3)
    assert (protocol.eof, protocol.lost, protocol.data) == (1, 1, [])
    assert sent == []
    assert transport.is_closing()
    assert not transport.can_write_eof()
    assert transport.get_protocol() is protocol
    assert transport.get_extra_info("peername") is None
    assert transport.get_extra_info("scheme") == "wss"
    assert transport.get_extra_info("sslcontext") is None


async def test_a_failing_server_ends_the_connection() -> None:
    """A ``receive`` or a ``send`` that fails (the server dropped the connection) ends it:
    ``connection_lost`` once."""

    async def receive() -> Message:
        raise RuntimeError("connection dropped")

    async def send(message: Message) -> None:
        raise RuntimeError("connection dropped")

    reading = Eofless()
    transport = WebSocketTransport({}, send, reading)
    await asyncio.wait_for(transport.serve(receive), 3)
    assert (reading.eof, reading.lost) == (1, 1)

    async def silent() -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    writing = Recorder()
    transport = WebSocketTransport({}, send, writing)
    serving = asyncio.get_running_loop().create_task(transport.serve(silent))
    await asyncio.sleep(0)
    assert transport.is_reading()
    transport.write(b"lost")
    await asyncio.wait_for(serving, 3)
    assert writing.lost == 1
