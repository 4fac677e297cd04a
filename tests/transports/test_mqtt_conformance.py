"""Raw-socket conformance of the MQTT listener (device-protocols.md §2): the exact CONNACK
codes, subscription rules, QoS handshakes, limits and timers, against the real services on a
loopback port. The happy paths with a real client are in tests/interop/test_paho_mqtt.py."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from tcp_stack import Stack, running_stack, until

from pinbase.domain.pins import PinType
from pinbase.protocols.mqtt.client import (
    PINGREQ,
    ServerPacket,
    ServerReader,
    connect_packet,
    id_packet,
    publish_packet,
    subscribe_packet,
    unsubscribe_packet,
)
from pinbase.protocols.mqtt.packets import MQTT_5, PacketType, encode_packet
from pinbase.services.bus import ValuesChanged
from pinbase.settings import Settings
from pinbase.transports.mqtt import MqttListeners
from pinbase.transports.mqtt_hub import MqttOptions

OPTIONS = MqttOptions(connect_timeout=0.5, max_packet=256, diag_interval=0.0)
"""Short timers; every diag line goes out (the 1 s limit has tests of its own)."""


@dataclass
class MqttStack:
    """The services with the binary and MQTT listeners."""

    stack: Stack
    port: int

    @property
    def tokens(self) -> list[str]:
        """The provisioned devices' tokens."""
        return self.stack.tokens


@pytest.fixture
async def mq(tmp_path: Path) -> AsyncIterator[MqttStack]:
    """Both listeners on free ports, sharing one ``DeviceSessions``."""
    async with running_stack(tmp_path) as stack:
        mqtt = MqttListeners.for_services(
            stack.services,
            settings=Settings(data_dir=tmp_path),
            sessions=stack.listeners.sessions,
            guard=stack.guard,
            options=OPTIONS,
        )
        port = await mqtt.open("127.0.0.1", 0)
        try:
            yield MqttStack(stack, port)
        finally:
            await mqtt.stop()


class RawClient:
    """One MQTT connection speaking exact packets."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, version: int):
        self._reader = reader
        self._writer = writer
        self._packets = ServerReader(version=version)
        self._pending: list[ServerPacket] = []

    def send(self, data: bytes) -> None:
        """Write bytes as they are."""
        self._writer.write(data)

    async def receive(self, within: float = 2.0) -> ServerPacket:
        """The next packet from the server."""
        while not self._pending:
            data = await asyncio.wait_for(self._reader.read(4096), within)
            if not data:
                raise ConnectionError("closed by the server")
            self._pending.extend(self._packets.feed(data))
        return self._pending.pop(0)

    async def publish_of(self, topic: str) -> ServerPacket:
        """The next PUBLISH on ``topic``, skipping others."""
        while (packet := await self.receive()).topic != topic:
            pass
        return packet

    async def closed(self, within: float = 3.0) -> bool:
        """Whether the server closes the connection (sending nothing more first)."""
        data = await asyncio.wait_for(self._reader.read(4096), within)
        return data == b""


@asynccontextmanager
async def raw(mq: MqttStack, *, version: int = 4) -> AsyncIterator[RawClient]:
    """A socket to the MQTT listener, closed at the end."""
    reader, writer = await asyncio.open_connection("127.0.0.1", mq.port)
    try:
        yield RawClient(reader, writer, version)
    finally:
        writer.close()


@asynccontextmanager
async def connected(
    mq: MqttStack, token: str, *, version: int = 4, **kw: object
) -> AsyncIterator[RawClient]:
    """A client past an accepted CONNECT, subscribed to ``downlink/#`` at QoS 0."""
    async with raw(mq, version=version) as client:
        client.send(connect_packet(password=token.encode(), version=version, **kw))  # type: ignore[arg-type]
        connack = await client.receive()
        assert connack.type is PacketType.CONNACK
        assert connack.body[1] == 0
        client.send(subscribe_packet([("downlink/#", 0)], version=version))
        assert (await client.receive()).type is PacketType.SUBACK
        yield client


async def value(mq: MqttStack, token: str, pin: int) -> object:
    """The current value of virtual ``pin``, or None."""
    bound = await mq.stack.bound(token)
    datastream = await mq.stack.datastream(token, pin, PinType.VIRTUAL)
    point = mq.stack.services.telemetry.current(bound.device.id, datastream)
    return None if point is None else point.value


# --- CONNECT ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"password": b"x" * 32}, 4),
        ({"password": None}, 4),
        ({"password": b"\xff\xfe"}, 4),
        ({"password": "TOKEN", "username": "admin"}, 5),
        ({"password": "TOKEN", "client_id": "c" * 65}, 2),
        ({"password": "TOKEN", "clean": False}, 2),
    ],
)
async def test_refused_connects_get_their_311_codes_and_close(
    mq: MqttStack, options: dict[str, object], code: int
) -> None:
    """0x04 bad token, 0x05 username other than ``device``, 0x02 bad client id (§2.2)."""
    if options["password"] == "TOKEN":
        options["password"] = mq.tokens[0].encode()
    async with raw(mq) as client:
        client.send(connect_packet(**options))  # type: ignore[arg-type]
        connack = await client.receive()
        assert connack.body == bytes([0, code])
        assert await client.closed()


async def test_mqtt5_refusal_uses_reason_0x86(mq: MqttStack) -> None:
    """MQTT 5 bad credentials: 0x86 (§2.2)."""
    async with raw(mq, version=MQTT_5) as client:
        client.send(connect_packet(password=b"bad", version=MQTT_5))
        assert (await client.receive()).body[1] == 0x86


async def test_mqtt31_is_refused_with_0x01(mq: MqttStack) -> None:
    """Protocol level 3: "unacceptable protocol version", then close (§2.1)."""
    async with raw(mq) as client:
        client.send(encode_packet(PacketType.CONNECT, b"\0\x06MQIsdp\x03\x02\0\x2d\0\0"))
        assert (await client.receive()).body == bytes([0, 1])
        assert await client.closed()


async def test_persistent_session_request_with_an_id_is_treated_as_clean(mq: MqttStack) -> None:
    """clean_session=0 with a client id is accepted, session-present 0 (§2.2 [R])."""
    async with raw(mq) as client:
        client.send(connect_packet(password=mq.tokens[0].encode(), client_id="dev", clean=False))
        assert (await client.receive()).body == bytes([0, 0])


async def test_a_packet_before_connect_or_no_connect_in_time_closes(mq: MqttStack) -> None:
    """Only CONNECT opens; silence past the connect timeout closes too."""
    async with raw(mq) as client:
        client.send(PINGREQ)
        assert await client.closed()
    async with raw(mq) as client:
        assert await client.closed(within=2)


# --- subscriptions, ping, unknown topics ------------------------------------------------------


async def test_subscription_rules_and_ping(mq: MqttStack) -> None:
    """QoS capped at 1; filters outside downlink/ or with + get 0x80; the connection stays."""
    async with raw(mq) as client:
        client.send(connect_packet(password=mq.tokens[0].encode()))
        await client.receive()
        filters = [("downlink/#", 2), ("ds/#", 0), ("downlink/+/x", 0)]
        client.send(subscribe_packet(filters, packet_id=3))
        suback = await client.receive()
        assert suback.body == bytes([0, 3, 1, 0x80, 0x80])
        client.send(PINGREQ)
        assert (await client.receive()).type is PacketType.PINGRESP
        client.send(unsubscribe_packet(["downlink/#"], packet_id=4))
        assert (await client.receive()).body == bytes([0, 4])
        client.send(publish_packet("get/ds", b"Setpoint") + publish_packet("nope", b""))
        diag = await client.receive()
        assert (diag.topic, diag.payload) == ("downlink/diag", b"nope: unknown topic")


async def test_downlinks_go_at_the_subscription_qos_and_pings_at_qos_1(mq: MqttStack) -> None:
    """A QoS 1 subscription gets QoS 1 publishes with an id; the device's PUBACK is quiet."""
    token = mq.tokens[0]
    async with raw(mq) as client:
        client.send(connect_packet(password=token.encode()))
        await client.receive()
        client.send(subscribe_packet([("downlink/ds/#", 1)]))
        await client.receive()
        client.send(publish_packet("get/ds", b"Setpoint"))
        packet = await client.receive()
        assert (packet.topic, packet.flags, packet.payload) == ("downlink/ds/Setpoint", 2, b"21.5")
        client.send(id_packet(PacketType.PUBACK, 1) + PINGREQ)
        assert (await client.receive()).type is PacketType.PINGRESP


# --- QoS handshakes ---------------------------------------------------------------------------


async def test_qos1_is_acknowledged_once_stored(mq: MqttStack) -> None:
    """PUBACK echoes the id, and the value is stored by then."""
    token = mq.tokens[0]
    async with connected(mq, token) as client:
        client.send(publish_packet("ds/Counter", b"5", qos=1, packet_id=77))
        puback = await client.receive()
        assert (puback.type, puback.body) == (PacketType.PUBACK, b"\0\x4d")
        assert await value(mq, token, 1) == 5


async def test_qos2_is_processed_once(mq: MqttStack) -> None:
    """PUBREC, then PUBCOMP for the PUBREL; a repeat before the release is not stored again."""
    token = mq.tokens[0]
    stored: list[ValuesChanged] = []
    unsubscribe = mq.stack.services.bus.subscribe(ValuesChanged, stored.append)
    try:
        async with connected(mq, token) as client:
            client.send(publish_packet("ds/Counter", b"3", qos=2, packet_id=9))
            assert (await client.receive()).type is PacketType.PUBREC
            client.send(publish_packet("ds/Counter", b"3", qos=2, packet_id=9))
            assert (await client.receive()).type is PacketType.PUBREC
            client.send(id_packet(PacketType.PUBREL, 9))
            pubcomp = await client.receive()
            assert (pubcomp.type, pubcomp.body) == (PacketType.PUBCOMP, b"\0\x09")
    finally:
        unsubscribe()
    assert len(stored) == 1


# --- limits and timers ------------------------------------------------------------------------


async def test_an_oversize_packet_closes_the_connection(mq: MqttStack) -> None:
    """The inbound limit (256 here, 1024 by default) closes without an answer (§2.6)."""
    async with connected(mq, mq.tokens[0]) as client:
        client.send(publish_packet("ds/Message", b"x" * 300))
        assert await client.closed()


async def test_keep_alive_expiry_takes_the_device_offline(mq: MqttStack) -> None:
    """1.5 x a 1 s keep-alive without a packet: dropped and offline (§2.2)."""
    token = mq.tokens[1]
    async with connected(mq, token, keep_alive=1) as client:
        assert await mq.stack.is_online(token)
        assert await client.closed(within=3)
        assert await until(lambda: _offline(mq, token))


async def _offline(mq: MqttStack, token: str) -> bool:
    return not await mq.stack.is_online(token)


async def test_rxbuff_bounds_downlinks(mq: MqttStack) -> None:
    """After ``info/mcu`` with rxbuff 40 a longer downlink is dropped, a short one arrives."""
    token = mq.tokens[2]
    async with connected(mq, token) as client:
        client.send(publish_packet("info/mcu", json.dumps({"rxbuff": 40}).encode()))
        client.send(publish_packet("ds/Message", b"y" * 60) + publish_packet("get/ds", b"Message"))
        client.send(publish_packet("get/ds", b"Setpoint"))
        packet = await client.publish_of("downlink/ds/Setpoint")
        assert packet.payload == b"21.5"


async def test_mqtt5_disconnect_with_will_fires_the_will(mq: MqttStack) -> None:
    """DISCONNECT reason 0x04 keeps the will, which is stored as the device's publish (§2.7)."""
    token = mq.tokens[3]
    will = ("ds/Message", b"bye")
    async with connected(mq, token, version=MQTT_5, will=will) as client:
        client.send(encode_packet(PacketType.DISCONNECT, b"\x04\0"))
        assert await client.closed()
    assert await until(lambda: _has(mq, token, 4, "bye"))
    assert not await mq.stack.is_online(token)


async def _has(mq: MqttStack, token: str, pin: int, expected: object) -> bool:
    return await value(mq, token, pin) == expected


async def test_a_will_on_a_bad_topic_is_ignored(mq: MqttStack) -> None:
    """A will whose topic is not an uplink topic is dropped; the device still goes offline."""
    token = mq.tokens[3]
    async with connected(mq, token, will=("downlink/x", b"1")):
        pass
    assert await until(lambda: _offline(mq, token))


# --- uplink topics without a paho scenario ----------------------------------------------------


async def test_timestamped_batch_metadata_and_unsupported_topics(mq: MqttStack) -> None:
    """Back-dated points are stored; meta set/get round-trips; location, erasing an unknown
    name and other refusals are told on ``downlink/diag``."""
    token = mq.tokens[4]
    async with connected(mq, token) as client:
        now = mq.stack.services.clock()
        batch = json.dumps([[now - 60_000, 1.5], [now - 30_000, 2.5]]).encode()
        client.send(publish_packet("ds/Humidity/timestamped_batch", batch))
        assert await until(lambda: _has(mq, token, 9, 2.5))
        client.send(publish_packet("ds/Humidity/timestamped_batch", b"[[1, 1]]"))
        assert b"more than a month" in (await client.publish_of("downlink/diag")).payload
        client.send(publish_packet("ds/Nope/timestamped_batch", b"[]"))
        assert b"Nope" in (await client.publish_of("downlink/diag")).payload
        client.send(publish_packet("meta/Room", b"Kitchen") + publish_packet("get/meta", b"Room,X"))
        assert (await client.publish_of("downlink/meta/Room")).payload == b"Kitchen"
        assert b"X" in (await client.publish_of("downlink/diag")).payload
        client.send(publish_packet("meta/Nope", b"1"))
        assert b"meta/Nope" in (await client.publish_of("downlink/diag")).payload
        client.send(publish_packet("get/loc/all", b""))
        assert b"not supported" in (await client.publish_of("downlink/diag")).payload
        for topic in ("ds/Nope/erase", "ds/Nope/prop/color/erase"):
            client.send(publish_packet(topic, b""))
            diag = (await client.publish_of("downlink/diag")).payload
            assert diag == f"{topic}: no datastream with that name".encode()
        client.send(publish_packet("ds/Nope/prop/color", b"x"))
        assert b"refused" in (await client.publish_of("downlink/diag")).payload
        client.send(publish_packet("event/nope", b""))
        assert (await client.publish_of("downlink/diag")).payload == b"event: unknown code nope"
        client.send(publish_packet("ds/Nope", b"1", qos=1, packet_id=2))
        assert b"Nope" in (await client.publish_of("downlink/diag")).payload
        client.send(publish_packet("ds/Counter", b"abc") + publish_packet("ds/Counter", b"1.5"))
        assert b"dropped" in (await client.publish_of("downlink/diag")).payload
        client.send(publish_packet("get/utc/all/json", b""))
        time_json = json.loads((await client.publish_of("downlink/utc/all/json")).payload)
        assert time_json["tz_name"] == "UTC"


async def test_event_refusals_are_told_once_per_ten_seconds(mq: MqttStack) -> None:
    """A dropped event is told ``event: limit reached`` (automations.md §1.9); further event
    refusals within 10 s are not told, so the next diag line is another topic's."""
    async with connected(mq, mq.tokens[2]) as client:
        client.send(publish_packet("event/door_open", b"") + publish_packet("event/door_open", b""))
        assert (await client.publish_of("downlink/diag")).payload == b"event: limit reached"
        client.send(
            publish_packet("event/door_open", b"")
            + publish_packet("event/nope", b"")
            + publish_packet("meta/Nope", b"1")
        )
        assert (await client.publish_of("downlink/diag")).payload.startswith(b"meta/Nope")


async def test_a_binary_login_replaces_the_mqtt_connection(mq: MqttStack) -> None:
    """One connection per device across protocols: a TCP login closes the MQTT session."""
    token = mq.tokens[5]
    async with connected(mq, token) as client:
        reader, writer = await asyncio.open_connection("127.0.0.1", mq.stack.port)
        body = token.encode()
        writer.write(bytes([29, 0, 1, 0, len(body)]) + body)
        assert (await reader.read(5)) == bytes([0, 0, 1, 0, 200])
        assert await client.closed()
        assert await mq.stack.is_online(token)
        writer.close()
    async with connected(mq, token):
        assert await mq.stack.is_online(token)


async def test_a_flood_is_dropped_and_told(mq: MqttStack, tmp_path: Path) -> None:
    """The binary protocol's flood rule (§1.12): beyond the burst publishes are dropped and
    ``downlink/diag`` says so; the connection stays (a sustained flood would close it)."""
    flooded = MqttListeners.for_services(
        mq.stack.services,
        settings=Settings(data_dir=tmp_path),
        sessions=mq.stack.listeners.sessions,
        guard=mq.stack.guard,
        options=MqttOptions(flood_rate=1.0, flood_burst=2),
    )
    port = await flooded.open("127.0.0.1", 0)
    try:
        token = mq.tokens[4]
        async with connected(MqttStack(mq.stack, port), token) as client:
            client.send(b"".join(publish_packet("ds/Counter", b"1") for _ in range(5)))
            diag = await client.publish_of("downlink/diag")
            assert diag.payload == b"too many messages: dropping"
            client.send(PINGREQ)
            assert (await client.receive()).type is PacketType.PINGRESP
    finally:
        await flooded.stop()


async def test_values_written_elsewhere_are_pushed_but_own_writes_are_not(mq: MqttStack) -> None:
    """A value recorded by another origin arrives on ``downlink/ds/<name>`` at once; the
    device's own publish is not echoed (§2.5)."""
    token = mq.tokens[2]
    async with connected(mq, token) as client:
        client.send(publish_packet("ds/Counter", b"4", qos=1))
        assert (await client.receive()).type is PacketType.PUBACK
        bound = await mq.stack.bound(token)
        datastream = await mq.stack.datastream(token, 5, PinType.VIRTUAL)
        await mq.stack.services.telemetry.record(
            bound.device, [(datastream, (1.5, 2.5))], origin="test"
        )
        packet = await client.receive()
        assert (packet.topic, packet.payload) == ("downlink/ds/Position", b"1.5\x002.5")
