"""The device-side helpers used by raw-socket tests and the benchmark agree with the server."""

from pinbase.protocols.mqtt import (
    NEED_DATA,
    ConnAck,
    Connect,
    ConnectCode,
    MqttConnection,
    Publish,
)
from pinbase.protocols.mqtt.client import ServerReader, connect_packet, publish_packet
from pinbase.protocols.mqtt.packets import MQTT_5, PacketType


def test_anonymous_connect_and_mqtt5_publish_round_trip() -> None:
    """No username or password; an MQTT 5 publish decodes to the same topic and payload."""
    conn = MqttConnection()
    conn.receive_data(connect_packet(password=None, username=None, version=MQTT_5))
    event = conn.next_event()
    assert isinstance(event, Connect)
    assert (event.username, event.password) == (None, None)
    reader = ServerReader(version=MQTT_5)
    (connack,) = reader.feed(conn.send(ConnAck(code=ConnectCode.ACCEPTED)))
    assert connack.type is PacketType.CONNACK
    conn.receive_data(publish_packet("ds/A", b"1", qos=1, packet_id=4, version=MQTT_5))
    assert conn.next_event() == Publish(
        topic="ds/A", payload=b"1", qos=1, packet_id=4, retain=False
    )
    assert conn.next_event() is NEED_DATA
