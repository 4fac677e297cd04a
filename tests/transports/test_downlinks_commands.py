"""Reboot, ping, redirect, reconfigure and diag (device-lifecycle.md §4) through
``DeviceCommands`` to raw binary-protocol devices and real paho-mqtt clients on the in-process
listeners; each command is an actions-log entry."""

import asyncio
import json
import queue
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from tcp_stack import Stack, running_stack, until
from tcp_wire import (
    HARDWARE,
    HW_LOGIN,
    INTERNAL,
    LOGIN,
    PING,
    RawDevice,
    Received,
    frame,
    response,
)

from pinbase.domain.ids import DeviceId, OrgId
from pinbase.protocols.mqtt.client import (
    PINGREQ,
    ServerPacket,
    ServerReader,
    connect_packet,
    publish_packet,
    subscribe_packet,
)
from pinbase.protocols.mqtt.packets import PacketType
from pinbase.services.bus import DeviceCommanded, DevicePingAnswered
from pinbase.services.device_commands import (
    BadRedirect,
    CommandNotSupported,
    DeviceCommands,
    DeviceOffline,
    command_summary,
    redirect_uri,
)
from pinbase.services.oauth import Caller
from pinbase.services.scope import DeviceNotFound
from pinbase.settings import Settings
from pinbase.transports.commands import MAX_PENDING_PINGS
from pinbase.transports.mqtt import MqttListeners

REDIRECT, DEBUG_PRINT = 41, 55
CPP_INFO = ("mcu", "1.0.0", "fw-type", "TMPL1", "h-beat", "45", "buff-in", "1024", "dev", "ESP32")
BLYNKLIB_INFO = ("ver", "0.2.6", "buff-in", "1024", "h-beat", "10", "dev", "python")


@dataclass
class Both:
    """The services with the binary and MQTT listeners, and a caller seeing every device."""

    stack: Stack
    mqtt_port: int
    caller: Caller

    @property
    def commands(self) -> DeviceCommands:
        """The service under test."""
        return self.stack.services.device_commands

    async def device_id(self, token: str) -> int:
        """The id of the device owning ``token``."""
        return int((await self.stack.bound(token)).device.id)

    async def actions(self, token: str) -> list[Any]:
        """The device's actions log, newest first."""
        found = await self.stack.services.device_records.actions(
            self.caller, await self.device_id(token), offset=0, limit=10
        )
        return list(found.items)


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
        org = (await stack.bound(stack.tokens[0])).device.org_id
        caller = Caller(
            client_id="t", org_id=org, scope=stack.services.directory.subtree(OrgId(org))
        )
        try:
            yield Both(stack, port, caller)
        finally:
            await listeners.stop()


@asynccontextmanager
async def cpp_device(both: Both, token: str) -> AsyncIterator[RawDevice]:
    """A raw device that logs in the way the C++ library does, info message answered."""
    async with await RawDevice.connect(both.stack.port) as device:
        await device.send(frame(HW_LOGIN, 1, token))
        assert await device.read() == Received(0, 1, 200)
        await device.send(frame(INTERNAL, 2, *CPP_INFO))
        assert await device.read() == Received(0, 2, 200)
        yield device


async def online(both: Both, token: str) -> None:
    """Wait until the device counts as online."""
    assert await until(lambda: both.stack.is_online(token))


# --- binary protocol ------------------------------------------------------------------------


async def test_reboot_sends_dbg_reboot_and_logs_an_action(both: Both) -> None:
    """Reboot reaches a C++ device as INTERNAL ``dbg\\0reboot`` and is in the actions log."""
    token = both.stack.tokens[0]
    async with cpp_device(both, token) as device:
        await both.commands.reboot(both.caller, await both.device_id(token), user_email="a@b.c")
        received = await device.read()
        assert (received.command, received.parts) == (INTERNAL, ["dbg", "reboot"])
        assert received.msg_id != 0
    (entry,) = await both.actions(token)
    assert (entry.command, entry.pin, entry.trigger_user_email) == ("reboot", None, "a@b.c")
    assert entry.is_online


async def test_ping_is_timed_to_the_devices_response(both: Both) -> None:
    """A C++ device is sent PING; its RESPONSE 200 gives the round trip, logged in ms."""
    token = both.stack.tokens[1]
    async with cpp_device(both, token) as device:
        pinging = asyncio.create_task(both.commands.ping(both.caller, await both.device_id(token)))
        received = await device.read()
        assert (received.command, received.length) == (PING, 0)
        assert received.msg_id != 0
        await device.send(response(received.msg_id, 200))
        ms = await pinging
    assert ms is not None
    assert ms >= 0
    (entry,) = await both.actions(token)
    assert entry.command == "ping"
    assert json.loads(entry.value) == {"ms": ms}


async def test_unanswered_ping_gives_none(tmp_path: Path) -> None:
    """A device that never answers: the ping ends after the timeout with None, logged so."""
    async with running_stack(tmp_path) as stack:
        token = stack.tokens[0]
        bound = await stack.bound(token)
        caller = Caller(
            client_id="t", org_id=bound.device.org_id, scope=frozenset({bound.device.org_id})
        )
        services = stack.services
        commands = DeviceCommands(
            directory=services.directory,
            presence=services.presence,
            bus=services.bus,
            actions=services.actions,
            ping_timeout_s=0.2,
        )
        try:
            async with await RawDevice.connect(stack.port) as device:
                await device.send(frame(HW_LOGIN, 1, token))
                await device.read()
                await device.send(frame(INTERNAL, 2, *CPP_INFO))
                await device.read()
                assert await commands.ping(caller, bound.device.id) is None
                assert (await device.read()).command == PING
        finally:
            commands.close()


async def test_ping_ends_when_the_device_disconnects(both: Both) -> None:
    """A device that drops its connection instead of answering: the ping gives None at once."""
    token = both.stack.tokens[2]
    async with cpp_device(both, token) as device:
        pinging = asyncio.create_task(both.commands.ping(both.caller, await both.device_id(token)))
        assert (await device.read()).command == PING
    assert await asyncio.wait_for(pinging, 5) is None


async def test_python_clients_are_never_pinged_or_redirected(both: Both) -> None:
    """A blynklib device (``dev`` python) gets neither PING nor REDIRECT: the service refuses
    with a clear reason, and nothing reaches the device (§1.11.5)."""
    token = both.stack.tokens[3]
    async with await RawDevice.connect(both.stack.port) as device:
        await device.send(frame(LOGIN, 1, token))
        assert await device.read() == Received(0, 1, 200)
        await device.send(frame(INTERNAL, 2, *BLYNKLIB_INFO))
        assert await device.read() == Received(0, 2, 200)
        device_id = await both.device_id(token)
        assert await until(lambda: _board(both, token, "python"), within=3), (
            "the info message is recorded"
        )
        with pytest.raises(CommandNotSupported, match="Python"):
            await both.commands.ping(both.caller, device_id)
        with pytest.raises(CommandNotSupported, match="Python"):
            await both.commands.redirect(both.caller, device_id, "other.example", 8442)
        assert await device.silent(0.2)
    assert await both.actions(token) == []


async def _board(both: Both, token: str, board: str) -> bool:
    bound = await both.stack.services.directory.find_by_id(
        (await both.stack.bound(token)).device.id
    )
    return bound is not None and bound.device.hardware_info.board_type == board


async def test_session_refuses_ping_to_a_client_not_known_as_cpp(both: Both) -> None:
    """Even when the service's view lags (no info yet), the session answers the ping with the
    reason instead of sending PING to a client it has not recognised."""
    token = both.stack.tokens[4]
    async with await RawDevice.connect(both.stack.port) as device:
        await device.send(frame(LOGIN, 1, token))
        assert await device.read() == Received(0, 1, 200)
        await online(both, token)
        with pytest.raises(CommandNotSupported, match="known to be the C\\+\\+ library"):
            await both.commands.ping(both.caller, await both.device_id(token))


async def test_redirect_sends_host_and_explicit_port(both: Both) -> None:
    """REDIRECT ``host\\0port`` reaches a C++ device; the entry keeps the target."""
    token = both.stack.tokens[5]
    async with cpp_device(both, token) as device:
        device_id = await both.device_id(token)
        await both.commands.redirect(both.caller, device_id, "node2.example", 8442)
        received = await device.read()
        assert (received.command, received.parts) == (REDIRECT, ["node2.example", "8442"])
    (entry,) = await both.actions(token)
    assert json.loads(entry.value) == {
        "host": "node2.example",
        "port": 8442,
        "uri": "mqtt://node2.example:8442",
    }


async def test_reconfigure_and_diag_reach_a_cpp_device(both: Both) -> None:
    """Reconfigure is INTERNAL ``dbg\\0config start``; a diag is DEBUG_PRINT with the text."""
    token = both.stack.tokens[0]
    async with cpp_device(both, token) as device:
        await both.commands.reconfigure(both.caller, await both.device_id(token))
        assert (await device.read()).parts == ["dbg", "config start"]
        bound = await both.stack.bound(token)
        both.stack.services.bus.publish(DeviceCommanded(bound.device.id, "diag", ("bad",)))
        received = await device.read()
        assert (received.command, received.body) == (DEBUG_PRINT, b"bad")


async def test_commands_need_an_online_device_in_scope(both: Both) -> None:
    """An offline device is refused with DeviceOffline; another organization's is not found."""
    token = both.stack.tokens[1]
    device_id = await both.device_id(token)
    with pytest.raises(DeviceOffline, match="offline"):
        await both.commands.reboot(both.caller, device_id)
    with pytest.raises(DeviceOffline):
        await both.commands.ping(both.caller, device_id)
    stranger = Caller(client_id="x", org_id=OrgId(999), scope=frozenset({OrgId(999)}))
    with pytest.raises(DeviceNotFound):
        await both.commands.reboot(stranger, device_id)
    assert await both.actions(token) == []


# --- MQTT -------------------------------------------------------------------------------------


@dataclass
class Paho:
    """A real paho-mqtt client in its own network thread."""

    client: mqtt.Client
    received: "queue.Queue[mqtt.MQTTMessage]"

    async def message(self) -> mqtt.MQTTMessage:
        """The next message paho delivered, waited for off the event loop."""
        return await asyncio.to_thread(self.received.get, True, 5)


@asynccontextmanager
async def paho_device(port: int, token: str, *, subscribe: bool = True) -> AsyncIterator[Paho]:
    """A paho-mqtt client connected with ``token``, subscribed to ``downlink/#`` at QoS 1
    unless told otherwise."""
    received: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    ready: queue.Queue[str] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
    client.username_pw_set("device", token)

    def on_connect(c: mqtt.Client, _: object, flags: object, code: Any, props: object) -> None:
        if subscribe:
            c.subscribe("downlink/#", qos=1)
        else:
            ready.put("connected")

    client.on_connect = on_connect
    client.on_subscribe = lambda c, u, mid, codes, props: ready.put("subscribed")
    client.on_message = lambda c, u, message: received.put(message)
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    try:
        await asyncio.to_thread(ready.get, True, 5)
        yield Paho(client, received)
    finally:
        client.disconnect()
        client.loop_stop()


async def test_paho_device_answers_ping_with_its_puback(both: Both) -> None:
    """``downlink/ping`` goes at QoS 1; paho's own PUBACK is the answer (§2.7)."""
    token = both.stack.tokens[2]
    async with paho_device(both.mqtt_port, token) as device:
        await online(both, token)
        ms = await both.commands.ping(both.caller, await both.device_id(token))
        message = await device.message()
        assert (message.topic, message.qos, message.payload) == ("downlink/ping", 1, b"")
    assert ms is not None
    assert ms >= 0


async def test_paho_device_gets_reboot_reconfigure_and_redirect(both: Both) -> None:
    """Reboot and reconfigure arrive empty; a redirect carries the full URI."""
    token = both.stack.tokens[3]
    async with paho_device(both.mqtt_port, token) as device:
        await online(both, token)
        device_id = await both.device_id(token)
        await both.commands.reboot(both.caller, device_id)
        await both.commands.reconfigure(both.caller, device_id)
        uri = "mqtts://node2.example:8883"
        await both.commands.redirect(both.caller, device_id, "node2.example", 8883, uri=uri)
        got = [(m.topic, m.payload) for m in [await device.message() for _ in range(3)]]
    assert got == [
        ("downlink/reboot", b""),
        ("downlink/reconfigure", b""),
        ("downlink/redirect", uri.encode()),
    ]
    assert [entry.command for entry in await both.actions(token)] == [
        "redirect",
        "reconfigure",
        "reboot",
    ]


async def test_unsubscribed_mqtt_device_is_not_pinged_but_redirected(both: Both) -> None:
    """Without a subscription ``downlink/ping`` is not delivered (the service says why), while
    ``downlink/redirect`` is (§2.3)."""
    token = both.stack.tokens[4]
    async with paho_device(both.mqtt_port, token, subscribe=False) as device:
        await online(both, token)
        device_id = await both.device_id(token)
        with pytest.raises(CommandNotSupported, match="did not subscribe"):
            await both.commands.ping(both.caller, device_id)
        await both.commands.redirect(both.caller, device_id, "h.example", 1883)
        message = await device.message()
        assert (message.topic, message.payload) == ("downlink/redirect", b"mqtt://h.example:1883")


# --- pure helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "port", "uri"),
    [
        ("", 80, None),
        ("a b", 80, None),
        ("http://x", 80, None),
        ("h" * 254, 80, None),
        ("h", 0, None),
        ("h", 65536, None),
        ("h", 80, "http://h:80"),
        ("h", 80, "mqtt://h\0"),
    ],
)
def test_bad_redirect_targets_are_refused(host: str, port: int, uri: str | None) -> None:
    """Hosts with spaces or a scheme, ports out of range and non-MQTT URIs are refused."""
    with pytest.raises(BadRedirect):
        redirect_uri(host, port, uri=uri)


def test_command_summaries_name_the_command() -> None:
    """The console's actions log shows a command in one line."""
    assert command_summary("reboot", None) == "Reboot"
    assert command_summary("ping", {"ms": 12.5}) == "Ping: 12.5 ms"
    assert command_summary("ping", {"ms": None}) == "Ping: no answer"
    assert command_summary("redirect", {"uri": "mqtt://h:1"}) == "Redirect to mqtt://h:1"
    assert command_summary("other", None) == "other"


# --- diagnostics (device-lifecycle.md §4: 1/s per device, never to Python clients) --------------


async def test_dropped_writes_are_told_to_a_cpp_device_once_a_second(both: Both) -> None:
    """A write to a pin the template lacks: DEBUG_PRINT says so; a second one at once is not
    told again (the next frame is the PING's answer)."""
    token = both.stack.tokens[5]
    async with cpp_device(both, token) as device:
        await device.send(frame(HARDWARE, 3, "vw", "200", "1"))
        received = await device.read()
        assert received.command == DEBUG_PRINT
        assert received.body.startswith(b"1 of 1 values dropped")
        await device.send(frame(HARDWARE, 4, "vw", "201", "1"), frame(PING, 5))
        assert await device.read() == Received(0, 5, 200)


async def test_python_clients_get_no_debug_print(both: Both) -> None:
    """The same write from a blynklib device is dropped silently (it would disconnect)."""
    token = both.stack.tokens[4]
    async with await RawDevice.connect(both.stack.port) as device:
        await device.send(frame(LOGIN, 1, token))
        assert await device.read() == Received(0, 1, 200)
        await device.send(frame(INTERNAL, 2, *BLYNKLIB_INFO))
        assert await device.read() == Received(0, 2, 200)
        await device.send(frame(HARDWARE, 3, "vw", "200", "1"), frame(PING, 4))
        assert await device.read() == Received(0, 4, 200)


async def test_mqtt_diag_lines_are_limited_to_one_a_second(both: Both) -> None:
    """Two refused uplinks at once: one ``downlink/diag`` line, then the PINGRESP."""
    token = both.stack.tokens[3]
    reader, writer = await asyncio.open_connection("127.0.0.1", both.mqtt_port)
    packets = ServerReader()
    seen: list[ServerPacket] = []
    try:
        writer.write(connect_packet(password=token.encode()))
        writer.write(publish_packet("nope", b"") + publish_packet("nope/again", b"") + PINGREQ)
        while not seen or seen[-1].type is not PacketType.PINGRESP:
            seen.extend(packets.feed(await asyncio.wait_for(reader.read(4096), 3)))
    finally:
        writer.close()
    diags = [packet.payload for packet in seen if packet.topic == "downlink/diag"]
    assert diags == [b"nope: unknown topic"]


# --- refusals inside the sessions -------------------------------------------------------------


def answers_of(both: Both) -> list[DevicePingAnswered]:
    """Every ping answer published from now on."""
    heard: list[DevicePingAnswered] = []
    both.stack.services.bus.subscribe(DevicePingAnswered, heard.append)
    return heard


async def test_binary_session_drops_bad_commands_and_bounds_pings(both: Both) -> None:
    """An ``ota`` without a URL is dropped; of nine pings at once the ninth is answered at once
    with the reason, the eight others go out."""
    token = both.stack.tokens[0]
    heard = answers_of(both)
    async with cpp_device(both, token) as device:
        device_id = DeviceId(await both.device_id(token))
        bus = both.stack.services.bus
        bus.publish(DeviceCommanded(device_id, "ota"))
        for request_id in range(1, MAX_PENDING_PINGS + 2):
            bus.publish(DeviceCommanded(device_id, "ping", (), request_id))
        for _ in range(MAX_PENDING_PINGS):
            assert (await device.read()).command == PING
        assert [(a.request_id, a.reason) for a in heard] == [
            (MAX_PENDING_PINGS + 1, "too many pings in flight")
        ]


async def test_mqtt_session_drops_bad_commands_and_bounds_pings(both: Both) -> None:
    """An ``ota`` whose size is not a number is dropped; of nine pings at once to a device
    that never acknowledges, the ninth is refused; the connection ending answers the eight."""
    token = both.stack.tokens[1]
    heard = answers_of(both)
    reader, writer = await asyncio.open_connection("127.0.0.1", both.mqtt_port)
    packets = ServerReader()
    seen: list[ServerPacket] = []
    try:
        writer.write(connect_packet(password=token.encode()))
        writer.write(subscribe_packet([("downlink/#", 1)]))
        while len(seen) < 2:
            seen.extend(packets.feed(await asyncio.wait_for(reader.read(4096), 3)))
        device_id = DeviceId(await both.device_id(token))
        bus = both.stack.services.bus
        bus.publish(DeviceCommanded(device_id, "ota", ("http://h/f", "ten")))
        for request_id in range(1, MAX_PENDING_PINGS + 2):
            bus.publish(DeviceCommanded(device_id, "ping", (), request_id))
        while len(seen) < 2 + MAX_PENDING_PINGS:
            seen.extend(packets.feed(await asyncio.wait_for(reader.read(4096), 3)))
        assert {packet.topic for packet in seen[2:]} == {"downlink/ping"}
        assert [a.request_id for a in heard] == [MAX_PENDING_PINGS + 1]
    finally:
        writer.close()
    assert await until(lambda: _answered(heard, MAX_PENDING_PINGS + 1))
    assert {a.reason for a in heard[1:]} == {"connection closed"}


async def _answered(heard: list[DevicePingAnswered], count: int) -> bool:
    return len(heard) == count
