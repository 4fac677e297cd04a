"""The MQTT device API (device-protocols.md §2), sans-IO.

``MqttConnection`` is the entry point: bytes in, events out, ``send(message)`` returns bytes; it
speaks MQTT 3.1.1 and 5 (``packets`` holds the wire format and its limits). ``topics`` holds
Blynk's subscription rules, ``uplink`` the topics a device publishes to.
"""

from pinbase.protocols.mqtt.connection import MqttConnection, State
from pinbase.protocols.mqtt.errors import LocalProtocolError, ProtocolError, Undeliverable
from pinbase.protocols.mqtt.events import (
    Ack,
    AckKind,
    ConnAck,
    Connect,
    ConnectCode,
    ConnectionClosed,
    Disconnect,
    Downlink,
    Event,
    Outbound,
    PingReq,
    PingResp,
    PubAck,
    Publish,
    PubRel,
    SubAck,
    Subscribe,
    UnsubAck,
    Unsubscribe,
    UnsupportedVersion,
    Will,
)
from pinbase.protocols.stream import NEED_DATA, Sentinel

__all__ = [
    "NEED_DATA",
    "Ack",
    "AckKind",
    "ConnAck",
    "Connect",
    "ConnectCode",
    "ConnectionClosed",
    "Disconnect",
    "Downlink",
    "Event",
    "LocalProtocolError",
    "MqttConnection",
    "Outbound",
    "PingReq",
    "PingResp",
    "ProtocolError",
    "PubAck",
    "PubRel",
    "Publish",
    "Sentinel",
    "State",
    "SubAck",
    "Subscribe",
    "Undeliverable",
    "UnsubAck",
    "Unsubscribe",
    "UnsupportedVersion",
    "Will",
]
