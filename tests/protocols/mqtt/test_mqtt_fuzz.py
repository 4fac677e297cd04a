"""Hypothesis: any bytes give events, NEED_DATA or ProtocolError; uplinks never raise."""

import contextlib

from hypothesis import given
from hypothesis import strategies as st

from pinbase.protocols.mqtt import (
    NEED_DATA,
    ConnAck,
    Connect,
    ConnectCode,
    ConnectionClosed,
    MqttConnection,
    ProtocolError,
)
from pinbase.protocols.mqtt.client import (
    connect_packet,
    publish_packet,
    subscribe_packet,
    unsubscribe_packet,
)
from pinbase.protocols.mqtt.packets import MQTT_5
from pinbase.protocols.mqtt.uplink import parse_uplink

CONNECT = connect_packet(password=b"t" * 32)

packet = st.one_of(
    st.binary(min_size=1, max_size=40),  # b"" would be the end of the stream
    st.builds(publish_packet, st.text(max_size=8), st.binary(max_size=8), qos=st.integers(0, 2)),
    st.builds(subscribe_packet, st.lists(st.tuples(st.text(max_size=6), st.integers(0, 3)))),
    st.builds(unsubscribe_packet, st.lists(st.text(max_size=6))),
)


def drain(conn: MqttConnection) -> None:
    """Read every event until NEED_DATA, answering a CONNECT as accepted."""
    for _ in range(1000):
        event = conn.next_event()
        if event is NEED_DATA or isinstance(event, ConnectionClosed):
            return
        if isinstance(event, Connect):
            conn.send(ConnAck(code=ConnectCode.ACCEPTED))


@given(st.binary(max_size=300), st.booleans())
def test_random_bytes_only_ever_raise_protocol_error(data: bytes, connect_first: bool) -> None:
    """Garbage before or after CONNECT: events or ProtocolError, nothing else."""
    conn = MqttConnection()
    with contextlib.suppress(ProtocolError):
        if connect_first:
            conn.receive_data(CONNECT)
            drain(conn)
        conn.receive_data(data)
        drain(conn)
        conn.receive_data(b"")
        drain(conn)


@given(st.lists(packet, max_size=6), st.booleans())
def test_packet_shaped_input_only_ever_raises_protocol_error(
    packets: list[bytes], version5: bool
) -> None:
    """Well-framed packets with random contents, in either version."""
    conn = MqttConnection()
    conn.receive_data(connect_packet(password=b"t", version=MQTT_5 if version5 else 4))
    with contextlib.suppress(ProtocolError):
        drain(conn)
        for data in packets:
            conn.receive_data(data)
            drain(conn)


@given(st.text(max_size=30), st.binary(max_size=30))
def test_any_uplink_parses_or_says_why(topic: str, payload: bytes) -> None:
    """parse_uplink never raises."""
    parse_uplink(topic, payload)
