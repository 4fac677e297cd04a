"""The device side of MQTT, as far as Pinbase's tests and benchmarks speak it.

Builds the packets a client sends and reads the ones a server sends, with the same codec
helpers as the server, so raw-socket tests and load generators need no MQTT library of their
own. ``paho-mqtt`` is the real client in the interop tests.
"""

import struct
from dataclasses import dataclass

from pinbase.protocols.mqtt.packets import (
    MQTT_5,
    MQTT_311,
    FrameDecoder,
    PacketType,
    encode_packet,
)


def _string(raw: bytes) -> bytes:
    return struct.pack("!H", len(raw)) + raw


def connect_packet(
    *,
    password: bytes | None,
    username: str | None = "device",
    client_id: str = "",
    keep_alive: int = 45,
    version: int = MQTT_311,
    clean: bool = True,
    will: tuple[str, bytes] | None = None,
) -> bytes:
    """CONNECT; ``will`` is ``(topic, payload)`` at QoS 0."""
    flags = 0x02 if clean else 0
    properties = b"\0" if version == MQTT_5 else b""
    payload = _string(client_id.encode())
    if will is not None:
        flags |= 0x04
        payload += properties + _string(will[0].encode()) + _string(will[1])
    if username is not None:
        flags |= 0x80
        payload += _string(username.encode())
    if password is not None:
        flags |= 0x40
        payload += _string(password)
    header = _string(b"MQTT") + bytes([version, flags]) + struct.pack("!H", keep_alive)
    return encode_packet(PacketType.CONNECT, header + properties + payload)


def publish_packet(
    topic: str, payload: bytes, *, qos: int = 0, packet_id: int = 1, version: int = MQTT_311
) -> bytes:
    """A client PUBLISH."""
    body = _string(topic.encode())
    if qos:
        body += struct.pack("!H", packet_id)
    if version == MQTT_5:
        body += b"\0"
    return encode_packet(PacketType.PUBLISH, body + payload, flags=qos << 1)


def subscribe_packet(
    filters: list[tuple[str, int]], *, packet_id: int = 1, version: int = MQTT_311
) -> bytes:
    """SUBSCRIBE to ``(filter, QoS)`` pairs."""
    body = struct.pack("!H", packet_id) + (b"\0" if version == MQTT_5 else b"")
    for topic_filter, qos in filters:
        body += _string(topic_filter.encode()) + bytes([qos])
    return encode_packet(PacketType.SUBSCRIBE, body, flags=2)


def unsubscribe_packet(filters: list[str], *, packet_id: int = 1, version: int = MQTT_311) -> bytes:
    """UNSUBSCRIBE from ``filters``."""
    body = struct.pack("!H", packet_id) + (b"\0" if version == MQTT_5 else b"")
    for topic_filter in filters:
        body += _string(topic_filter.encode())
    return encode_packet(PacketType.UNSUBSCRIBE, body, flags=2)


def id_packet(packet_type: PacketType, packet_id: int) -> bytes:
    """PUBACK or PUBREL (the latter with its mandatory flags)."""
    flags = 2 if packet_type is PacketType.PUBREL else 0
    return encode_packet(packet_type, struct.pack("!H", packet_id), flags=flags)


PINGREQ = encode_packet(PacketType.PINGREQ, b"")
DISCONNECT = encode_packet(PacketType.DISCONNECT, b"")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerPacket:
    """A packet from the server; ``topic`` and ``payload`` are set for a PUBLISH."""

    type: PacketType
    flags: int
    body: bytes
    topic: str = ""
    payload: bytes = b""


class ServerReader:
    """Splits the server's byte stream into packets."""

    def __init__(self, *, version: int = MQTT_311) -> None:
        self._decoder = FrameDecoder()
        self._version = version

    def feed(self, data: bytes) -> list[ServerPacket]:
        """The whole packets received so far."""
        self._decoder.feed(data)
        packets = []
        while (packet := self._decoder.next_packet(max_size=1 << 28)) is not None:
            packet_type, flags, body = packet
            packets.append(self._read(PacketType(packet_type), flags, body))
        return packets

    def _read(self, packet_type: PacketType, flags: int, body: bytes) -> ServerPacket:
        if packet_type is not PacketType.PUBLISH:
            return ServerPacket(type=packet_type, flags=flags, body=body)
        (length,) = struct.unpack("!H", body[:2])
        start = 2 + length + (2 if flags & 0x06 else 0) + (1 if self._version == MQTT_5 else 0)
        return ServerPacket(
            type=packet_type,
            flags=flags,
            body=body,
            topic=body[2 : 2 + length].decode(),
            payload=body[start:],
        )
