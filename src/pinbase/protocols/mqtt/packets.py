"""MQTT 3.1.1 and 5 packets on the wire: framing, decoding of client packets, encoding of the
server's (OASIS MQTT 3.1.1 §2-3, MQTT 5.0 §2-3).

A packet is a fixed header (type and flags in one byte, then the remaining length as a 1-4 byte
varint) followed by that many bytes. Only the packets a server receives are decoded, and only
the packets a server sends are encoded. MQTT 5 properties from the client are skipped: Pinbase
offers no feature a property turns on (no topic aliases, no enhanced auth, no subscription
identifiers), and the CONNACK tells an MQTT 5 client so.
"""

import struct
from enum import IntEnum

from pinbase.protocols.mqtt.errors import ProtocolError
from pinbase.protocols.mqtt.events import (
    Connect,
    Disconnect,
    Event,
    PingReq,
    PubAck,
    Publish,
    PubRel,
    Subscribe,
    Unsubscribe,
    UnsupportedVersion,
    Will,
)

DEFAULT_MAX_PACKET = 1024
"""Largest packet accepted from a device, fixed header included: Blynk.Cloud's limit for every
MQTT message (device-protocols.md §2.6); configurable, a larger packet closes the connection."""

MAX_REMAINING_LENGTH_BYTES = 4
"""The remaining-length varint has at most four bytes (MQTT 3.1.1 §2.2.3)."""

MAX_PACKET_ID = 65_535

MQTT_311 = 4
MQTT_5 = 5
SUPPORTED_VERSIONS = frozenset({MQTT_311, MQTT_5})

DISCONNECT_WITH_WILL = 0x04
"""MQTT 5 DISCONNECT reason: the client wants its will published (MQTT 5 §3.14.2.1)."""

SUBACK_FAILURE = 0x80
"""Refused filter: "Failure" in 3.1.1, "Unspecified error" in MQTT 5 (device-protocols §2.3)."""

_PROPERTY_ASSIGNED_CLIENT_ID = 0x12
_PROPERTY_MAXIMUM_PACKET_SIZE = 0x27
_PROPERTY_WILDCARD_AVAILABLE = 0x28
_PROPERTY_SUBSCRIPTION_IDS_AVAILABLE = 0x29
_PROPERTY_SHARED_AVAILABLE = 0x2A


class PacketType(IntEnum):
    """The control packet types (MQTT 3.1.1 §2.2.1; AUTH is MQTT 5 only)."""

    CONNECT = 1
    CONNACK = 2
    PUBLISH = 3
    PUBACK = 4
    PUBREC = 5
    PUBREL = 6
    PUBCOMP = 7
    SUBSCRIBE = 8
    SUBACK = 9
    UNSUBSCRIBE = 10
    UNSUBACK = 11
    PINGREQ = 12
    PINGRESP = 13
    DISCONNECT = 14
    AUTH = 15


_FLAGS: dict[int, int] = {
    PacketType.CONNECT: 0,
    PacketType.PUBACK: 0,
    PacketType.PUBREL: 2,
    PacketType.SUBSCRIBE: 2,
    PacketType.UNSUBSCRIBE: 2,
    PacketType.PINGREQ: 0,
    PacketType.DISCONNECT: 0,
}
"""The packets a server accepts besides PUBLISH, with the flags each must carry (§2.2.2)."""


class FrameDecoder:
    """Splits a byte stream into ``(packet type, flags, body)`` packets."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        self._buffer += data

    @property
    def buffered(self) -> int:
        """Bytes held that do not form a whole packet yet."""
        return len(self._buffer)

    def next_packet(self, *, max_size: int) -> tuple[int, int, bytes] | None:
        """The next whole packet, or None when more bytes are needed.

        Raises:
            ProtocolError: a remaining length longer than four bytes, or a packet larger than
                ``max_size`` bytes in all.
        """
        buffer = self._buffer
        length = 0
        for index in range(1, MAX_REMAINING_LENGTH_BYTES + 1):
            if index >= len(buffer):
                return None
            byte = buffer[index]
            length |= (byte & 0x7F) << (7 * (index - 1))
            if not byte & 0x80:
                break
        else:
            raise ProtocolError("remaining length longer than four bytes")
        end = index + 1 + length
        if end > max_size:
            raise ProtocolError(f"{end}-byte packet exceeds the {max_size}-byte limit")
        if len(buffer) < end:
            return None
        first = buffer[0]
        body = bytes(buffer[index + 1 : end])
        del buffer[:end]
        return first >> 4, first & 0x0F, body


class _Reader:
    """Reads the fields of one packet body; running past its end is a ProtocolError."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self._data = data
        self._pos = pos

    @property
    def left(self) -> int:
        return len(self._data) - self._pos

    def take(self, count: int) -> bytes:
        if count > self.left:
            raise ProtocolError("packet ends inside a field")
        start = self._pos
        self._pos += count
        return self._data[start : self._pos]

    def byte(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        value: int = struct.unpack("!H", self.take(2))[0]
        return value

    def binary(self) -> bytes:
        return self.take(self.u16())

    def text(self) -> str:
        raw = self.binary()
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise ProtocolError("a string is not UTF-8") from None
        if "\0" in text:
            raise ProtocolError("a string holds U+0000")  # MQTT 3.1.1 §1.5.3
        return text

    def varint(self) -> int:
        value = 0
        for shift in range(0, 7 * MAX_REMAINING_LENGTH_BYTES, 7):
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
        raise ProtocolError("variable byte integer longer than four bytes")

    def skip_properties(self) -> None:
        self.take(self.varint())

    def packet_id(self) -> int:
        packet_id = self.u16()
        if packet_id == 0:
            raise ProtocolError("packet identifier 0")
        return packet_id

    def rest(self) -> bytes:
        return self.take(self.left)


def decode_packet(packet_type: int, flags: int, body: bytes, *, version: int) -> Event:
    """The event for one client packet, for a connection speaking ``version``.

    Raises:
        ProtocolError: a packet a client may not send, wrong flags, or a malformed body.
    """
    if packet_type == PacketType.PUBLISH:
        return _decode_publish(flags, body, version)
    if _FLAGS.get(packet_type) != flags:  # type 0, server packets and AUTH too
        raise ProtocolError(f"packet type {packet_type} with flags {flags} from a client")
    reader = _Reader(body)
    match packet_type:
        case PacketType.CONNECT:
            return _decode_connect(reader)
        case PacketType.PUBACK:
            return PubAck(packet_id=reader.packet_id())
        case PacketType.PUBREL:
            return PubRel(packet_id=reader.packet_id())
        case PacketType.SUBSCRIBE:
            return _decode_subscribe(reader, version)
        case PacketType.UNSUBSCRIBE:
            return _decode_unsubscribe(reader, version)
        case PacketType.PINGREQ:
            return PingReq()
    # DISCONNECT: MQTT 5 may add a reason code and properties (§3.14.2).
    return Disconnect(with_will=version == MQTT_5 and body[:1] == bytes([DISCONNECT_WITH_WILL]))


def _decode_connect(reader: _Reader) -> Connect | UnsupportedVersion:
    name = reader.binary()
    level = reader.byte()
    if (name, level) not in ((b"MQTT", MQTT_311), (b"MQTT", MQTT_5)):
        return UnsupportedVersion(level=level)
    flags = reader.byte()
    if flags & 0x01:
        raise ProtocolError("CONNECT reserved flag set")
    keep_alive = reader.u16()
    if level == MQTT_5:
        reader.skip_properties()
    client_id = reader.text()
    will = None
    if flags & 0x04:
        if level == MQTT_5:
            reader.skip_properties()
        will_qos = (flags >> 3) & 0x03
        if will_qos == 3:
            raise ProtocolError("will QoS 3")
        topic = reader.text()
        will = Will(topic=topic, payload=reader.binary(), qos=will_qos, retain=bool(flags & 0x20))
    username = reader.text() if flags & 0x80 else None
    password = reader.binary() if flags & 0x40 else None
    return Connect(
        version=level,
        client_id=client_id,
        clean_session=bool(flags & 0x02),
        keep_alive=keep_alive,
        username=username,
        password=password,
        will=will,
    )


def _decode_publish(flags: int, body: bytes, version: int) -> Publish:
    # The hot path (one call per device message): the topic of a QoS 0 or 1 publish is sliced
    # directly; fields past it go through the reader. ``_Reader.text`` would cost a third more
    # per publish (bench/device_mqtt.py).
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise ProtocolError("PUBLISH with QoS 3")
    end = 2 + int.from_bytes(body[:2]) if len(body) >= 2 else len(body) + 1
    if end > len(body):
        raise ProtocolError("packet ends inside a field")
    raw = body[2:end]
    try:
        topic = raw.decode()
    except UnicodeDecodeError:
        raise ProtocolError("the topic is not UTF-8") from None
    if "\0" in topic:
        raise ProtocolError("the topic holds U+0000")
    if not qos and version != MQTT_5:
        return Publish(
            topic=topic, payload=body[end:], qos=0, packet_id=None, retain=bool(flags & 1)
        )
    reader = _Reader(body, end)
    packet_id = reader.packet_id() if qos else None
    if version == MQTT_5:
        reader.skip_properties()
    return Publish(
        topic=topic, payload=reader.rest(), qos=qos, packet_id=packet_id, retain=bool(flags & 1)
    )


def _decode_subscribe(reader: _Reader, version: int) -> Subscribe:
    packet_id = reader.packet_id()
    if version == MQTT_5:
        reader.skip_properties()
    topics = []
    while reader.left:
        topic = reader.text()
        qos = reader.byte() & 0x03  # MQTT 5 keeps more options in the upper bits
        if qos == 3:
            raise ProtocolError("SUBSCRIBE with QoS 3")
        topics.append((topic, qos))
    if not topics:
        raise ProtocolError("SUBSCRIBE without a topic filter")
    return Subscribe(packet_id=packet_id, topics=tuple(topics))


def _decode_unsubscribe(reader: _Reader, version: int) -> Unsubscribe:
    packet_id = reader.packet_id()
    if version == MQTT_5:
        reader.skip_properties()
    filters = []
    while reader.left:
        filters.append(reader.text())
    if not filters:
        raise ProtocolError("UNSUBSCRIBE without a topic filter")
    return Unsubscribe(packet_id=packet_id, filters=tuple(filters))


# --- encoding (server to client) -----------------------------------------------------------


def encode_varint(value: int) -> bytes:
    """A variable byte integer (MQTT 3.1.1 §2.2.3), for lengths up to 268,435,455."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def encode_packet(packet_type: PacketType, body: bytes, *, flags: int = 0) -> bytes:
    """A whole packet: fixed header and ``body``."""
    return bytes([packet_type << 4 | flags]) + encode_varint(len(body)) + body


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def encode_connack(
    code: int, *, version: int, max_packet: int, assigned_id: str | None = None
) -> bytes:
    """CONNACK with session-present 0 (only clean sessions, device-protocols.md §2.2). An MQTT 5
    answer also tells the client the largest packet accepted, the features not offered and the
    client id the server assigned, if it did (MQTT 5 §3.2.2.3.7)."""
    body = bytes([0, code])
    if version == MQTT_5:
        properties = bytes([_PROPERTY_MAXIMUM_PACKET_SIZE]) + struct.pack("!I", max_packet)
        if assigned_id is not None:
            properties += bytes([_PROPERTY_ASSIGNED_CLIENT_ID]) + _string(assigned_id)
        properties += bytes([_PROPERTY_WILDCARD_AVAILABLE, 1])
        properties += bytes([_PROPERTY_SUBSCRIPTION_IDS_AVAILABLE, 0])
        properties += bytes([_PROPERTY_SHARED_AVAILABLE, 0])
        body += encode_varint(len(properties)) + properties
    return encode_packet(PacketType.CONNACK, body)


def encode_publish(
    topic: str, payload: bytes, *, qos: int, packet_id: int | None, version: int
) -> bytes:
    """A server PUBLISH; never retained, never a duplicate (device-protocols.md §2.6)."""
    body = _string(topic)
    if packet_id is not None:
        body += struct.pack("!H", packet_id)
    if version == MQTT_5:
        body += b"\0"  # no properties
    return encode_packet(PacketType.PUBLISH, body + payload, flags=qos << 1)


def encode_ack(packet_type: PacketType, packet_id: int) -> bytes:
    """PUBACK, PUBREC or PUBCOMP; the same bytes in both versions (MQTT 5 omits reason 0)."""
    return encode_packet(packet_type, struct.pack("!H", packet_id))


def encode_suback(packet_id: int, codes: list[int], *, version: int) -> bytes:
    """SUBACK with one return code per requested filter."""
    properties = b"\0" if version == MQTT_5 else b""
    return encode_packet(
        PacketType.SUBACK, struct.pack("!H", packet_id) + properties + bytes(codes)
    )


def encode_unsuback(packet_id: int, count: int, *, version: int) -> bytes:
    """UNSUBACK; MQTT 5 adds a success reason per filter (unsubscribing is always granted)."""
    tail = b"\0" + bytes(count) if version == MQTT_5 else b""
    return encode_packet(PacketType.UNSUBACK, struct.pack("!H", packet_id) + tail)


PINGRESP = encode_packet(PacketType.PINGRESP, b"")
