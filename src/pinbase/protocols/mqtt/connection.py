"""The server's side of one MQTT connection, as a state machine without I/O.

Theory of operation. The transport feeds received bytes to ``receive_data`` and drains
``next_event`` until it returns ``NEED_DATA``; every answer or downlink goes through ``send``,
which returns the bytes to write::

    AWAIT_CONNECT ──CONNECT──► CONNECTING ──send(ConnAck ACCEPTED)──► CONNECTED
         │                        │                                     │
         └─anything else:         └─send(ConnAck refused)──► CLOSED ◄───┴─DISCONNECT, end of
           ProtocolError                                                  stream, ProtocolError

The connection numbers the server's QoS 1 publishes (1..65535, never 0) and remembers the QoS 2
messages delivered but not yet released, so a repeated one is answered without being processed
twice. It keeps no session beyond the connection: Pinbase offers clean sessions only
(device-protocols.md §2.2).
"""

from dataclasses import replace
from enum import Enum, auto
from typing import Literal

from pinbase.protocols.mqtt.errors import LocalProtocolError, ProtocolError, Undeliverable
from pinbase.protocols.mqtt.events import (
    Ack,
    ConnAck,
    Connect,
    ConnectCode,
    ConnectionClosed,
    Disconnect,
    Downlink,
    Event,
    Outbound,
    Publish,
    PubRel,
    SubAck,
    UnsubAck,
    UnsupportedVersion,
)
from pinbase.protocols.mqtt.packets import (
    DEFAULT_MAX_PACKET,
    MAX_PACKET_ID,
    MQTT_311,
    PINGRESP,
    SUBACK_FAILURE,
    FrameDecoder,
    PacketType,
    decode_packet,
    encode_ack,
    encode_connack,
    encode_publish,
    encode_suback,
    encode_unsuback,
)
from pinbase.protocols.stream import NEED_DATA, Inbound, Sentinel

MAX_AWAITING_RELEASE = 32
"""QoS 2 messages a client may leave unreleased at once. No Blynk client uses QoS 2 (§2.6);
the bound keeps a client that never sends PUBREL from growing the set forever."""

DEFAULT_RXBUFF = 1024
"""Largest downlink a device takes until its ``info/mcu`` tells its ``rxbuff`` (§2.4, §2.6)."""


class State(Enum):
    """Where the connection stands."""

    AWAIT_CONNECT = auto()
    CONNECTING = auto()
    """A CONNECT arrived; the server must answer it before anything else."""
    CONNECTED = auto()
    CLOSED = auto()


class MqttConnection:
    """One MQTT connection, server side: ``receive_data``, ``next_event``, ``send``."""

    def __init__(self, *, max_packet_size: int = DEFAULT_MAX_PACKET) -> None:
        """Start awaiting CONNECT; a packet larger than ``max_packet_size`` is a ProtocolError."""
        self._decoder = FrameDecoder()
        self._max_packet = max_packet_size
        self._state = State.AWAIT_CONNECT
        self._version = MQTT_311
        self._inbound = Inbound(self._decoder)
        self._next_id = 1
        self._last_packet_id = 0
        self._awaiting_release: set[int | None] = set()
        self.rxbuff = DEFAULT_RXBUFF
        """Largest downlink packet the client accepts; the transport sets it from ``info/mcu``."""

    @property
    def state(self) -> State:
        """The current state; CLOSED means: flush what ``send`` returned, then close."""
        return self._state

    @property
    def last_packet_id(self) -> int:
        """The packet id of the latest QoS 1 downlink (0 before any): the id of the PUBACK that
        answers it, such as a ``downlink/ping``'s (device-protocols.md §2.7)."""
        return self._last_packet_id

    @property
    def version(self) -> int:
        """The protocol level of the CONNECT (4 until one arrived)."""
        return self._version

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the client; ``b""`` means the client closed its side.

        Raises:
            LocalProtocolError: data after the end of the stream.
        """
        self._inbound.receive(data, discard=self._state is State.CLOSED)

    def next_event(self) -> Event | Literal[Sentinel.NEED_DATA]:
        """The next event, or ``NEED_DATA``; ``ConnectionClosed`` once nothing more will come.

        Raises:
            ProtocolError: the client broke the protocol; the connection is CLOSED and must be
                dropped without an answer.
            LocalProtocolError: called while a CONNECT waits for its answer.
        """
        if self._state is State.CLOSED:
            return ConnectionClosed()
        if self._state is State.CONNECTING:
            raise LocalProtocolError("answer the CONNECT before reading further")
        try:
            return self._read_event()
        except ProtocolError:
            self._state = State.CLOSED
            raise

    def _read_event(self) -> Event | Literal[Sentinel.NEED_DATA]:
        packet = self._decoder.next_packet(max_size=self._max_packet)
        if packet is None:
            if not self._inbound.is_over():
                return NEED_DATA
            self._state = State.CLOSED
            return ConnectionClosed()
        packet_type, flags, body = packet
        awaiting = self._state is State.AWAIT_CONNECT
        if awaiting != (packet_type == PacketType.CONNECT):
            raise ProtocolError(f"packet type {packet_type} while {self._state.name}")
        event = decode_packet(packet_type, flags, body, version=self._version)
        if isinstance(event, Publish):
            return self._exactly_once(event) if event.qos == 2 else event
        if isinstance(event, Connect | UnsupportedVersion):
            self._state = State.CONNECTING
            if isinstance(event, Connect):
                self._version = event.version
        elif isinstance(event, Disconnect):
            self._state = State.CLOSED
        elif isinstance(event, PubRel):
            self._awaiting_release.discard(event.packet_id)
        return event

    def _exactly_once(self, publish: Publish) -> Publish:
        if publish.packet_id in self._awaiting_release:
            return replace(publish, is_repeat=True)
        if len(self._awaiting_release) >= MAX_AWAITING_RELEASE:
            raise ProtocolError(f"more than {MAX_AWAITING_RELEASE} QoS 2 messages unreleased")
        self._awaiting_release.add(publish.packet_id)
        return publish

    def send(self, message: Outbound) -> bytes:
        """The bytes to write for ``message``, as one piece.

        Raises:
            Undeliverable: a downlink larger than the client's ``rxbuff``.
            LocalProtocolError: the message is not allowed in this state.
        """
        if isinstance(message, ConnAck):
            return self._send_connack(message)
        if self._state is not State.CONNECTED:
            raise LocalProtocolError(f"cannot send {type(message).__name__} while {self._state}")
        version = self._version
        match message:
            case Downlink(topic=topic, payload=payload, qos=qos):
                packet_id = self._take_id() if qos else None
                data = encode_publish(topic, payload, qos=qos, packet_id=packet_id, version=version)
                if len(data) > self.rxbuff:
                    raise Undeliverable(f"{len(data)}-byte publish exceeds rxbuff {self.rxbuff}")
                return data
            case Ack(kind=kind, packet_id=packet_id):
                return encode_ack(PacketType(kind.value), packet_id)
            case SubAck(packet_id=packet_id, granted=granted):
                codes = [SUBACK_FAILURE if qos is None else qos for qos in granted]
                return encode_suback(packet_id, codes, version=version)
            case UnsubAck(packet_id=packet_id, count=count):
                return encode_unsuback(packet_id, count, version=version)
        return PINGRESP  # the one message left: PingResp

    def _send_connack(self, connack: ConnAck) -> bytes:
        code = connack.code
        if self._state is not State.CONNECTING:
            raise LocalProtocolError(f"no CONNECT to answer while {self._state}")
        accepted = code is ConnectCode.ACCEPTED
        self._state = State.CONNECTED if accepted else State.CLOSED
        if code is ConnectCode.BAD_VERSION or self._version == MQTT_311:
            # A client of an unknown version can only read the 3.1.1 form (§2.1).
            return encode_connack(code.v3, version=MQTT_311, max_packet=self._max_packet)
        return encode_connack(
            code.v5,
            version=self._version,
            max_packet=self._max_packet,
            assigned_id=connack.assigned_client_id,
        )

    def _take_id(self) -> int:
        packet_id = self._next_id
        self._next_id = packet_id % MAX_PACKET_ID + 1  # 1..65535, then 1 again: never 0
        self._last_packet_id = packet_id
        return packet_id
