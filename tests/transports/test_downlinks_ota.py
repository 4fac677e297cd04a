"""The ``ota`` device command (device-lifecycle.md §1.3, §1.4) reaching a device's live
connection from the bus: a raw binary-protocol device and a real paho-mqtt client on the
in-process listeners."""

import asyncio
import json
import queue
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from tcp_stack import Stack, running_stack
from tcp_wire import HW_LOGIN, INTERNAL, PING, RawDevice, Received, frame

from pinbase.protocols.mqtt.client import (
    ServerPacket,
    ServerReader,
    connect_packet,
    publish_packet,
)
from pinbase.protocols.mqtt.packets import PacketType
from pinbase.services.bus import DeviceCommanded
from pinbase.settings import Settings
from pinbase.transports.mqtt import MqttListeners

CPP_INFO = ("mcu", "1.0.0", "fw-type", "TMPL1", "build", "Dec  5 2026 10:00:00", "blynk", "1.3.2")
"""The start of a C++ Arduino >= 1.3 info message (device-protocols.md §1.7.1)."""
URL = "http://pinbase.local/ota/firmware.bin?token=abc"


def cpp_info(buff_in: int = 1024) -> tuple[str, ...]:
    """A C++ device's info body announcing ``buff_in``."""
    return (*CPP_INFO, "h-beat", "45", "buff-in", str(buff_in), "dev", "ESP32")


@dataclass
class Both:
    """The services with the binary and MQTT listeners."""

    stack: Stack
    mqtt_port: int

    async def command(self, token: str, *args: str, kind: str = "ota") -> None:
        """Publish a command for the device owning ``token`` on the bus."""
        bound = await self.stack.bound(token)
        self.stack.services.bus.publish(DeviceCommanded(bound.device.id, kind, args))


@pytest.fixture
async def both(tmp_path: Path) -> AsyncIterator[Both]:
    """Both listeners on free ports, sharing one ``DeviceSessions``."""
    async with running_stack(tmp_path) as stack:
        listeners = MqttListeners.for_services(
            stack.services,
            settings=Settings(data_dir=tmp_path),
            sessions=stack.listeners.sessions,
            guard=stack.guard,
        )
        port = await listeners.open("127.0.0.1", 0)
        try:
            yield Both(stack, port)
        finally:
            await listeners.stop()


# --- binary protocol -----------------------------------------------------------------------


async def test_binary_device_receives_ota_internal_after_its_info(both: Both) -> None:
    """A C++ device gets INTERNAL ``ota\\0<url>`` with a fresh non-zero msg id."""
    token = both.stack.tokens[0]
    async with await RawDevice.connect(both.stack.port) as device:
        await device.send(frame(HW_LOGIN, 1, token))
        assert await device.read() == Received(0, 1, 200)
        await device.send(frame(INTERNAL, 2, *cpp_info()))
        assert await device.read() == Received(0, 2, 200)
        await both.command(token, URL, "1024", "TMPL1", "1.1.0", "")
        received = await device.read()
        assert received.command == INTERNAL
        assert received.msg_id != 0
        assert received.parts == ["ota", URL]


async def test_binary_ota_waits_for_the_info_answer(both: Both) -> None:
    """An ``ota`` sent between login and info goes out only after the info RESPONSE."""
    token = both.stack.tokens[1]
    async with await RawDevice.connect(both.stack.port) as device:
        await device.send(frame(HW_LOGIN, 1, token))
        assert await device.read() == Received(0, 1, 200)
        await both.command(token, URL, "1024", "", "", "")
        assert await device.silent(0.2)
        await device.send(frame(INTERNAL, 2, *cpp_info()))
        assert await device.read() == Received(0, 2, 200)
        assert (await device.read()).parts == ["ota", URL]


async def test_binary_ota_larger_than_buff_in_is_dropped(both: Both) -> None:
    """With ``buff-in`` 64 a long URL is not sent (5 + body must fit); the link stays open."""
    token = both.stack.tokens[2]
    async with await RawDevice.connect(both.stack.port) as device:
        await device.send(frame(HW_LOGIN, 1, token))
        await device.read()
        await device.send(frame(INTERNAL, 2, *cpp_info(64)))
        assert await device.read() == Received(0, 2, 200)
        await both.command(token, "http://h/" + "x" * 60, "10", "", "", "")
        await device.send(frame(PING, 3))
        assert await device.read() == Received(0, 3, 200)


async def test_command_for_a_device_not_connected_does_nothing(both: Both) -> None:
    """A command for an offline device is dropped; a connected neighbour gets nothing."""
    token, other = both.stack.tokens[3], both.stack.tokens[4]
    async with await RawDevice.connect(both.stack.port) as device:
        await device.login(other)
        await both.command(token, URL, "1", "", "", "")
        assert await device.silent(0.2)


# --- MQTT ----------------------------------------------------------------------------------------


@asynccontextmanager
async def paho_device(port: int, token: str) -> AsyncIterator["queue.Queue[mqtt.MQTTMessage]"]:
    """A paho-mqtt client connected with ``token``, subscribed to nothing; yields the messages
    it receives."""
    received: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    connected: queue.Queue[int] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
    client.username_pw_set("device", token)
    client.on_connect = lambda c, u, flags, code, props: connected.put(code.value)
    client.on_message = lambda c, u, message: received.put(message)
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    try:
        assert await asyncio.to_thread(connected.get, True, 5) == 0
        yield received
    finally:
        client.disconnect()
        client.loop_stop()


async def next_message(received: "queue.Queue[mqtt.MQTTMessage]") -> mqtt.MQTTMessage:
    """The next message paho delivered, waited for off the event loop."""
    return await asyncio.to_thread(received.get, True, 5)


async def test_paho_device_receives_ota_json_without_subscribing(both: Both) -> None:
    """A paho device subscribed to nothing gets ``downlink/ota/json`` at QoS 0 with the
    documented fields; empty type/ver/build are left out."""
    token = both.stack.tokens[0]
    async with paho_device(both.mqtt_port, token) as received:
        await both.command(token, URL, "524288", "TMPL1", "1.1.0", "")
        message = await next_message(received)
        assert message.topic == "downlink/ota/json"
        assert message.qos == 0
        assert json.loads(message.payload) == {
            "url": URL,
            "size": 524288,
            "type": "TMPL1",
            "ver": "1.1.0",
        }


async def test_mqtt_ota_larger_than_rxbuff_is_dropped(both: Both) -> None:
    """After ``info/mcu`` with ``rxbuff`` 64 an OTA notice that does not fit is not sent,
    one that fits is."""
    token = both.stack.tokens[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", both.mqtt_port)
    packets = ServerReader()
    pending: list[ServerPacket] = []

    async def receive() -> ServerPacket:
        while not pending:
            pending.extend(packets.feed(await asyncio.wait_for(reader.read(4096), 3)))
        return pending.pop(0)

    try:
        writer.write(connect_packet(password=token.encode()))
        info = json.dumps({"tmpl": "TMPL1", "ver": "1.0.0", "rxbuff": 64}).encode()
        writer.write(publish_packet("info/mcu", info, qos=1))
        assert (await receive()).type is PacketType.CONNACK
        assert (await receive()).type is PacketType.PUBACK  # sent once info/mcu is handled
        await both.command(token, "http://h/" + "x" * 80, "1", "", "", "")
        await both.command(token, "http://h/f", "1", "", "", "")
        notice = await receive()
        assert notice.topic == "downlink/ota/json"
        assert json.loads(notice.payload) == {"url": "http://h/f", "size": 1}
    finally:
        writer.close()
