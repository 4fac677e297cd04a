"""What a client sends (events) and what the server sends (outbound messages), as values.

Events come out of ``MqttConnection.next_event``; outbound messages go into ``send``. Both are
the same for MQTT 3.1.1 and 5: the connection knows the version and writes the right bytes.
"""

from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True, slots=True, kw_only=True)
class Will:
    """The message the client asks the server to publish for it if it vanishes (§2.7)."""

    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Connect:
    """CONNECT; the server answers with ``ConnAck`` before anything else is read."""

    version: int
    """4 for MQTT 3.1.1, 5 for MQTT 5, 3 for MQTT 3.1 (refused by the server)."""
    client_id: str
    clean_session: bool
    keep_alive: int
    """Seconds; 0 turns the keep-alive off (MQTT 3.1.1 §3.1.2.10)."""
    username: str | None
    password: bytes | None = field(repr=False)
    will: Will | None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnsupportedVersion:
    """A CONNECT of a protocol level this server does not speak: answer ``ConnAck`` with
    ``ConnectCode.BAD_VERSION``, which closes the connection."""

    level: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Publish:
    """PUBLISH from the client. QoS 1 is answered ``Ack(PUBACK)``, QoS 2 ``Ack(PUBREC)``."""

    topic: str
    payload: bytes
    qos: int
    packet_id: int | None
    """None at QoS 0."""
    retain: bool
    is_repeat: bool = False
    """A QoS 2 message already delivered and not yet released: answer it, do not process it
    again (exactly once, MQTT 3.1.1 §4.3.3)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PubAck:
    """The client acknowledged a QoS 1 message of the server."""

    packet_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PubRel:
    """The client releases a QoS 2 message: answer ``Ack(PUBCOMP)``."""

    packet_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscribe:
    """SUBSCRIBE: ``(filter, requested QoS)`` pairs; answer ``SubAck``."""

    packet_id: int
    topics: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Unsubscribe:
    """UNSUBSCRIBE; answer ``UnsubAck``."""

    packet_id: int
    filters: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PingReq:
    """PINGREQ; answer ``PingResp``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Disconnect:
    """DISCONNECT: a clean goodbye, so the will is discarded, unless an MQTT 5 client asked
    for it with reason 0x04 "disconnect with will message"."""

    with_will: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionClosed:
    """The stream ended (or the client disconnected): nothing more will come."""


Event = (
    Connect
    | UnsupportedVersion
    | Publish
    | PubAck
    | PubRel
    | Subscribe
    | Unsubscribe
    | PingReq
    | Disconnect
    | ConnectionClosed
)


class ConnectCode(Enum):
    """How a CONNECT is answered; the connection writes the 3.1.1 or the MQTT 5 code."""

    ACCEPTED = (0x00, 0x00)
    BAD_VERSION = (0x01, 0x84)
    IDENTIFIER_REJECTED = (0x02, 0x85)
    BAD_CREDENTIALS = (0x04, 0x86)
    NOT_AUTHORIZED = (0x05, 0x87)

    @property
    def v3(self) -> int:
        """The MQTT 3.1.1 return code."""
        return self.value[0]

    @property
    def v5(self) -> int:
        """The MQTT 5 reason code."""
        return self.value[1]


class AckKind(Enum):
    """The acknowledgements the server sends for a client's publish (and release)."""

    PUBACK = 4
    PUBREC = 5
    PUBCOMP = 7


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnAck:
    """The answer to CONNECT; anything but ACCEPTED closes the connection."""

    code: ConnectCode
    assigned_client_id: str | None = None
    """The id the server gave a client that connected with an empty one (§2.2); only MQTT 5
    can tell the client."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Downlink:
    """A server PUBLISH; the connection numbers it when ``qos`` is 1. QoS 2 is never sent
    (device-protocols.md §2.6: downlinks go at most at QoS 1)."""

    topic: str
    payload: bytes
    qos: int = 0

    def __post_init__(self) -> None:
        if self.qos not in (0, 1):
            raise ValueError("downlinks go at QoS 0 or 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class Ack:
    """PUBACK, PUBREC or PUBCOMP for one of the client's packets."""

    kind: AckKind
    packet_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SubAck:
    """One entry per requested filter: the granted QoS, or None for a refused filter (0x80)."""

    packet_id: int
    granted: tuple[int | None, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class UnsubAck:
    """The answer to UNSUBSCRIBE of ``count`` filters."""

    packet_id: int
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PingResp:
    """The answer to PINGREQ."""


Outbound = ConnAck | Downlink | Ack | SubAck | UnsubAck | PingResp
