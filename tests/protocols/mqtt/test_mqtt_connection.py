"""MqttConnection: the CONNECT handshake, every client packet, the server's answers, limits."""

import struct

import pytest

from pinbase.protocols import mqtt
from pinbase.protocols.mqtt import (
    NEED_DATA,
    Ack,
    AckKind,
    ConnAck,
    Connect,
    ConnectCode,
    ConnectionClosed,
    Disconnect,
    Downlink,
    Event,
    LocalProtocolError,
    MqttConnection,
    PingReq,
    PingResp,
    ProtocolError,
    PubAck,
    Publish,
    PubRel,
    State,
    SubAck,
    Subscribe,
    UnsubAck,
    Unsubscribe,
    UnsupportedVersion,
    Will,
)
from pinbase.protocols.mqtt.client import (
    DISCONNECT,
    PINGREQ,
    ServerReader,
    connect_packet,
    id_packet,
    publish_packet,
    subscribe_packet,
    unsubscribe_packet,
)
from pinbase.protocols.mqtt.connection import MAX_AWAITING_RELEASE
from pinbase.protocols.mqtt.packets import MQTT_5, PacketType, encode_packet

TOKEN = b"T" * 32


def connected(version: int = 4, **options: object) -> MqttConnection:
    """A connection past an accepted CONNECT."""
    conn = MqttConnection(**options)  # type: ignore[arg-type]
    conn.receive_data(connect_packet(password=TOKEN, version=version))
    assert isinstance(conn.next_event(), Connect)
    conn.send(ConnAck(code=ConnectCode.ACCEPTED))
    return conn


def events(conn: MqttConnection, data: bytes) -> list[Event]:
    """Every event ``data`` yields."""
    conn.receive_data(data)
    found: list[Event] = []
    while (event := conn.next_event()) is not NEED_DATA:
        found.append(event)
        if isinstance(event, ConnectionClosed):
            break
    return found


def test_connect_311_is_read_and_accepted_with_0x00() -> None:
    """A paho-style CONNECT: username, password, empty client id, clean, keep-alive 45."""
    conn = MqttConnection()
    conn.receive_data(connect_packet(password=TOKEN))
    event = conn.next_event()
    assert event == Connect(
        version=4,
        client_id="",
        clean_session=True,
        keep_alive=45,
        username="device",
        password=TOKEN,
        will=None,
    )
    assert conn.state.name == "CONNECTING"
    assert conn.send(ConnAck(code=ConnectCode.ACCEPTED)) == bytes([0x20, 2, 0, 0])
    assert conn.state is State.CONNECTED
    assert conn.version == 4


def test_connect_5_with_will_gets_an_mqtt5_connack_with_properties() -> None:
    """MQTT 5: properties are skipped; CONNACK carries the maximum packet size."""
    conn = MqttConnection(max_packet_size=2048)
    data = connect_packet(password=TOKEN, version=MQTT_5, client_id="x", will=("ds/A", b"0"))
    conn.receive_data(data)
    event = conn.next_event()
    assert isinstance(event, Connect)
    assert event.will == Will(topic="ds/A", payload=b"0", qos=0, retain=False)
    answer = conn.send(ConnAck(code=ConnectCode.ACCEPTED))
    assert answer[:4] == bytes([0x20, answer[1], 0, 0])
    assert struct.pack("!I", 2048) in answer


def test_mqtt5_connack_tells_an_assigned_client_id() -> None:
    """An empty MQTT 5 client id is answered with the Assigned Client Identifier property."""
    conn = MqttConnection()
    conn.receive_data(connect_packet(password=TOKEN, version=MQTT_5))
    conn.next_event()
    answer = conn.send(ConnAck(code=ConnectCode.ACCEPTED, assigned_client_id="pinbase-1"))
    assert b"\x12\x00\x09pinbase-1" in answer


def test_refusals_use_the_version_s_codes_and_close() -> None:
    """0x04 in 3.1.1, 0x86 in MQTT 5, and the connection is CLOSED."""
    conn = MqttConnection()
    conn.receive_data(connect_packet(password=b"bad"))
    conn.next_event()
    assert conn.send(ConnAck(code=ConnectCode.BAD_CREDENTIALS)) == bytes([0x20, 2, 0, 4])
    assert conn.state is State.CLOSED
    assert conn.next_event() == ConnectionClosed()
    conn5 = MqttConnection()
    conn5.receive_data(connect_packet(password=b"bad", version=MQTT_5))
    conn5.next_event()
    assert conn5.send(ConnAck(code=ConnectCode.NOT_AUTHORIZED))[3] == 0x87


@pytest.mark.parametrize(("name", "level"), [(b"MQIsdp", 3), (b"MQTT", 6)])
def test_unknown_protocol_levels_are_refused_with_0x01(name: bytes, level: int) -> None:
    """MQTT 3.1 and future levels: UnsupportedVersion, answered 0x01 (§2.1)."""
    body = struct.pack("!H", len(name)) + name + bytes([level, 2, 0, 45])
    conn = MqttConnection()
    conn.receive_data(encode_packet(PacketType.CONNECT, body))
    assert conn.next_event() == UnsupportedVersion(level=level)
    assert conn.send(ConnAck(code=ConnectCode.BAD_VERSION)) == bytes([0x20, 2, 0, 1])


def test_connect_flags_are_read() -> None:
    """Will QoS and retain, no username, no password, persistent session requested."""
    flags = 0x04 | 0x08 | 0x20
    body = b"\0\x04MQTT" + bytes([4, flags, 0, 0]) + b"\0\x01c" + b"\0\x04ds/A" + b"\0\x01x"
    conn = MqttConnection()
    conn.receive_data(encode_packet(PacketType.CONNECT, body))
    event = conn.next_event()
    assert isinstance(event, Connect)
    assert event.will == Will(topic="ds/A", payload=b"x", qos=1, retain=True)
    assert (event.username, event.password, event.clean_session) == (None, None, False)


@pytest.mark.parametrize(
    "body",
    [
        b"\0\x04MQTT" + bytes([4, 0x03, 0, 0]) + b"\0\0",  # reserved flag
        b"\0\x04MQTT" + bytes([4, 0x1C, 0, 0]) + b"\0\0\0\x01t\0\0",  # will QoS 3
        b"\0\x04MQTT" + bytes([4, 0x02, 0, 0]) + b"\0\x02\xff\xfe",  # client id not UTF-8
        b"\0\x04MQTT" + bytes([4, 0x02, 0, 0]) + b"\0\x01\0",  # client id holds U+0000
        b"\0\x04MQTT" + bytes([4, 0x02, 0]),  # ends inside the keep-alive
        b"\0\x04MQTT" + bytes([5, 0x02, 0, 0]) + b"\xff\xff\xff\xff\x01",  # varint too long
    ],
)
def test_malformed_connects_are_protocol_errors(body: bytes) -> None:
    """Broken CONNECT bodies close the connection."""
    conn = MqttConnection()
    conn.receive_data(encode_packet(PacketType.CONNECT, body))
    with pytest.raises(ProtocolError):
        conn.next_event()
    assert conn.state is State.CLOSED
    assert conn.next_event() == ConnectionClosed()


def test_a_packet_before_connect_is_a_protocol_error() -> None:
    """Only CONNECT opens a connection."""
    conn = MqttConnection()
    conn.receive_data(PINGREQ)
    with pytest.raises(ProtocolError, match="AWAIT_CONNECT"):
        conn.next_event()


def test_a_second_connect_is_a_protocol_error() -> None:
    """MQTT 3.1.1 §3.1.0: a second CONNECT is a violation."""
    conn = connected()
    conn.receive_data(connect_packet(password=TOKEN))
    with pytest.raises(ProtocolError):
        conn.next_event()


def test_reading_before_answering_connect_is_a_local_error() -> None:
    """The server must answer CONNECT first; sending other things before is a bug too."""
    conn = MqttConnection()
    conn.receive_data(connect_packet(password=TOKEN))
    conn.next_event()
    with pytest.raises(LocalProtocolError):
        conn.next_event()
    with pytest.raises(LocalProtocolError):
        conn.send(PingResp())
    conn.send(ConnAck(code=ConnectCode.ACCEPTED))
    with pytest.raises(LocalProtocolError):
        conn.send(ConnAck(code=ConnectCode.ACCEPTED))


def test_publishes_at_each_qos() -> None:
    """QoS 0 has no id; QoS 1 and 2 carry theirs; retain is reported."""
    conn = connected()
    data = publish_packet("ds/A", b"1") + publish_packet("ds/B", b"2", qos=1, packet_id=7)
    data += encode_packet(PacketType.PUBLISH, b"\0\x04ds/C\0\x09" + b"3", flags=0x05)
    assert events(conn, data) == [
        Publish(topic="ds/A", payload=b"1", qos=0, packet_id=None, retain=False),
        Publish(topic="ds/B", payload=b"2", qos=1, packet_id=7, retain=False),
        Publish(topic="ds/C", payload=b"3", qos=2, packet_id=9, retain=True),
    ]


def test_mqtt5_publish_properties_are_skipped() -> None:
    """A property block after the packet id is not part of the payload."""
    conn = connected(MQTT_5)
    body = b"\0\x04ds/A\0\x01" + b"\x02\x01\x01" + b"42"
    assert events(conn, encode_packet(PacketType.PUBLISH, body, flags=2)) == [
        Publish(topic="ds/A", payload=b"42", qos=1, packet_id=1, retain=False)
    ]


def test_qos2_is_delivered_once_until_released() -> None:
    """A repeated QoS 2 publish is marked; after PUBREL the id is free again."""
    conn = connected()
    first = publish_packet("ds/A", b"1", qos=2, packet_id=3)
    found = events(conn, first + first + id_packet(PacketType.PUBREL, 3) + first)
    assert [getattr(e, "is_repeat", None) for e in found] == [False, True, None, False]
    assert found[2] == PubRel(packet_id=3)
    assert conn.send(Ack(kind=AckKind.PUBREC, packet_id=3)) == bytes([0x50, 2, 0, 3])
    assert conn.send(Ack(kind=AckKind.PUBCOMP, packet_id=3)) == bytes([0x70, 2, 0, 3])


def test_too_many_unreleased_qos2_messages_are_a_protocol_error() -> None:
    """The exactly-once set is bounded."""
    conn = connected()
    data = b"".join(
        publish_packet("ds/A", b"1", qos=2, packet_id=n) for n in range(1, MAX_AWAITING_RELEASE + 2)
    )
    conn.receive_data(data)
    for _ in range(MAX_AWAITING_RELEASE):
        conn.next_event()
    with pytest.raises(ProtocolError, match="unreleased"):
        conn.next_event()


@pytest.mark.parametrize(
    "data",
    [
        encode_packet(PacketType.PUBLISH, b"\0\x01a", flags=0x06),  # QoS 3
        encode_packet(PacketType.PUBLISH, b"\0\x01\xff"),  # topic not UTF-8
        encode_packet(PacketType.PUBLISH, b"\0\x01\0"),  # topic holds U+0000
        encode_packet(PacketType.PUBLISH, b"\0\x05ab"),  # topic longer than the packet
        encode_packet(PacketType.PUBLISH, b"\0"),  # no room for the topic length
        encode_packet(PacketType.PUBLISH, b"\0\x01a\0\0", flags=0x02),  # packet id 0
        encode_packet(PacketType.SUBSCRIBE, b"\0\x01\0\x01a\x03", flags=2),  # QoS 3
        encode_packet(PacketType.SUBSCRIBE, b"\0\x01", flags=2),  # no filter
        encode_packet(PacketType.UNSUBSCRIBE, b"\0\x01", flags=2),  # no filter
        encode_packet(PacketType.SUBSCRIBE, b"\0\x01\0\x01a\x00", flags=0),  # wrong flags
        encode_packet(PacketType.PUBREC, b"\0\x01"),  # the server never sends QoS 2
        encode_packet(PacketType.CONNACK, b"\0\0"),  # a server packet
        encode_packet(PacketType.AUTH, b""),  # no enhanced authentication
        bytes([0x00, 0x00]),  # reserved type 0
    ],
)
def test_malformed_or_forbidden_packets_are_protocol_errors(data: bytes) -> None:
    """Whatever breaks MQTT closes the connection."""
    conn = connected()
    conn.receive_data(data)
    with pytest.raises(ProtocolError):
        conn.next_event()


def test_subscribe_unsubscribe_ping_and_their_answers() -> None:
    """Each request is read, and its answer encoded per version."""
    conn = connected()
    data = subscribe_packet([("downlink/#", 1), ("other", 0)], packet_id=5)
    data += unsubscribe_packet(["downlink/#"], packet_id=6) + PINGREQ
    data += id_packet(PacketType.PUBACK, 9)
    assert events(conn, data) == [
        Subscribe(packet_id=5, topics=(("downlink/#", 1), ("other", 0))),
        Unsubscribe(packet_id=6, filters=("downlink/#",)),
        PingReq(),
        PubAck(packet_id=9),
    ]
    assert conn.send(SubAck(packet_id=5, granted=(1, None))) == bytes([0x90, 4, 0, 5, 1, 0x80])
    assert conn.send(UnsubAck(packet_id=6, count=1)) == bytes([0xB0, 2, 0, 6])
    assert conn.send(PingResp()) == bytes([0xD0, 0])


def test_mqtt5_subscribe_answers_carry_properties_and_reasons() -> None:
    """MQTT 5 SUBACK and UNSUBACK have a property length, UNSUBACK one reason per filter."""
    conn = connected(MQTT_5)
    data = subscribe_packet([("downlink/#", 0)], version=MQTT_5)
    data += unsubscribe_packet(["a", "b"], version=MQTT_5)
    assert len(events(conn, data)) == 2
    assert conn.send(SubAck(packet_id=1, granted=(0,))) == bytes([0x90, 4, 0, 1, 0, 0])
    assert conn.send(UnsubAck(packet_id=1, count=2)) == bytes([0xB0, 5, 0, 1, 0, 0, 0])


def test_downlinks_are_numbered_from_1_and_never_0() -> None:
    """QoS 1 downlinks take ids 1..65535, then 1 again; QoS 0 has none."""
    conn = connected()
    reader = ServerReader()
    assert conn.last_packet_id == 0
    first = conn.send(Downlink(topic="downlink/ping", payload=b"", qos=1))
    assert first == bytes([0x32, 17]) + b"\0\x0ddownlink/ping\0\x01"
    assert conn.last_packet_id == 1
    conn._next_id = 65_535
    assert conn.send(Downlink(topic="d", payload=b"", qos=1))[-2:] == b"\xff\xff"
    assert conn.send(Downlink(topic="d", payload=b"", qos=1))[-2:] == b"\0\x01"
    (packet,) = reader.feed(conn.send(Downlink(topic="downlink/ds/A", payload=b"1\x002")))
    assert (packet.topic, packet.payload, packet.flags) == ("downlink/ds/A", b"1\x002", 0)
    assert conn.last_packet_id == 1  # a QoS 0 downlink takes no id


def test_mqtt5_downlinks_carry_an_empty_property_block() -> None:
    """The property length sits between the topic (and id) and the payload."""
    conn = connected(MQTT_5)
    reader = ServerReader(version=MQTT_5)
    (packet,) = reader.feed(conn.send(Downlink(topic="downlink/ds/A", payload=b"7", qos=1)))
    assert (packet.topic, packet.payload) == ("downlink/ds/A", b"7")


def test_downlinks_larger_than_rxbuff_are_undeliverable() -> None:
    """The device's ``rxbuff`` bounds every downlink (§2.6)."""
    conn = connected()
    conn.rxbuff = 20
    with pytest.raises(mqtt.Undeliverable):
        conn.send(Downlink(topic="downlink/ds/Message", payload=b"x" * 10))


def test_downlink_qos_2_is_refused_by_the_value() -> None:
    """The server never publishes at QoS 2."""
    with pytest.raises(ValueError, match="QoS"):
        Downlink(topic="a", payload=b"", qos=2)


def test_disconnect_closes_and_mqtt5_may_keep_the_will() -> None:
    """DISCONNECT ends the stream; MQTT 5 reason 0x04 asks for the will."""
    conn = connected()
    assert events(conn, DISCONNECT) == [Disconnect(with_will=False), ConnectionClosed()]
    conn5 = connected(MQTT_5)
    data = encode_packet(PacketType.DISCONNECT, b"\x04\0")
    assert events(conn5, data)[0] == Disconnect(with_will=True)


def test_long_packets_take_a_multi_byte_length() -> None:
    """A 200-byte downlink's remaining length takes two bytes (MQTT 3.1.1 §2.2.3) and reads
    back whole."""
    data = connected().send(Downlink(topic="downlink/ds/Message", payload=b"x" * 200, qos=0))
    assert data[1] & 0x80
    assert not data[2] & 0x80
    (packet,) = ServerReader().feed(data)
    assert packet.body.endswith(b"x" * 200)


def test_split_and_joined_packets() -> None:
    """A packet split over reads waits; two in one read give two events."""
    conn = connected()
    data = publish_packet("ds/A", b"1") * 2
    assert events(conn, data[:3]) == []
    assert len(events(conn, data[3:])) == 2


def test_oversize_packets_and_long_lengths_are_protocol_errors() -> None:
    """The inbound limit counts the whole packet; a 5-byte length is malformed."""
    conn = connected(max_packet_size=64)
    conn.receive_data(publish_packet("ds/A", b"x" * 60))
    with pytest.raises(ProtocolError, match="limit"):
        conn.next_event()
    conn = connected()
    conn.receive_data(bytes([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]))
    with pytest.raises(ProtocolError, match="four bytes"):
        conn.next_event()


def test_end_of_stream() -> None:
    """EOF gives ConnectionClosed; inside a packet it is a ProtocolError; more data is a bug."""
    conn = connected()
    conn.receive_data(b"")
    conn.receive_data(b"")
    assert conn.next_event() == ConnectionClosed()
    assert conn.state is State.CLOSED
    conn.receive_data(b"")
    with pytest.raises(LocalProtocolError):
        conn.receive_data(b"x")
    broken = connected()
    broken.receive_data(PINGREQ[:1])
    broken.receive_data(b"")
    with pytest.raises(ProtocolError, match="inside"):
        broken.next_event()


def test_data_after_close_is_ignored() -> None:
    """A CLOSED connection reads nothing more."""
    conn = connected()
    events(conn, DISCONNECT)
    conn.receive_data(PINGREQ)
    assert conn.next_event() == ConnectionClosed()


def test_package_surface() -> None:
    """The package exports exactly its documented names, each importable."""
    assert all(hasattr(mqtt, name) for name in mqtt.__all__)
    assert "MqttConnection" in mqtt.__all__
