"""How each device command reads in each protocol (``transports.commands``): the binary value,
the MQTT downlink, and the refusals of arguments a protocol cannot carry."""

import json

import pytest

from pinbase.domain.ids import DeviceId
from pinbase.protocols.device import DebugPrint, InternalPush, Redirect, ServerPing
from pinbase.services.bus import DeviceCommanded
from pinbase.transports.commands import (
    MAX_PENDING_PINGS,
    CommandRefused,
    MqttDownlink,
    PendingPings,
    binary_outbound,
    mqtt_downlink,
)

DEVICE = DeviceId(1)


def command(kind: str, *args: str) -> DeviceCommanded:
    """A command for device 1."""
    return DeviceCommanded(DEVICE, kind, args)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (command("ota", "http://h/f", "1"), InternalPush(name="ota", args=("http://h/f",))),
        (command("reboot"), InternalPush(name="dbg", args=("reboot",))),
        (command("reconfigure"), InternalPush(name="dbg", args=("config start",))),
        (command("ping"), ServerPing()),
        (command("redirect", "h", "8442", "mqtt://h:8442"), Redirect(host="h", port=8442)),
        (command("diag", "hello"), DebugPrint(text="hello")),
        (command("diag"), DebugPrint(text="")),
    ],
    ids=lambda value: getattr(value, "kind", ""),
)
def test_binary_forms(sent: DeviceCommanded, expected: object) -> None:
    """Each kind has its binary value (device-lifecycle.md §4)."""
    assert binary_outbound(sent) == expected


@pytest.mark.parametrize(
    "sent",
    [
        command("ota"),
        command("ota", ""),
        command("ota", "http://h/\0"),
        command("redirect", "h"),
        command("redirect", "h", "port"),
        command("redirect", "h", "70000"),
        command("redirect", "", "80"),
        command("diag", "a\0b"),
        command("teleport"),
    ],
)
def test_binary_refusals(sent: DeviceCommanded) -> None:
    """Arguments the binary protocol cannot carry, and unknown kinds, are refused."""
    assert isinstance(binary_outbound(sent), CommandRefused)


def test_mqtt_forms() -> None:
    """Topics and payloads of every kind; OTA JSON leaves out what is unknown."""
    ota = mqtt_downlink(command("ota", "http://h/f", "10", "TMPL1", "", "Dec 5 2026"))
    assert isinstance(ota, MqttDownlink)
    assert ota.topic == "downlink/ota/json"
    assert json.loads(ota.payload) == {
        "url": "http://h/f",
        "size": 10,
        "type": "TMPL1",
        "build": "Dec 5 2026",
    }
    assert mqtt_downlink(command("ota", "http://h/f", "10")) == MqttDownlink(
        topic="downlink/ota/json", payload=b'{"url":"http://h/f","size":10}'
    )
    assert mqtt_downlink(command("reboot")) == MqttDownlink(topic="downlink/reboot", payload=b"")
    assert mqtt_downlink(command("reconfigure")) == MqttDownlink(
        topic="downlink/reconfigure", payload=b""
    )
    assert mqtt_downlink(command("redirect", "h", "1", "wss://h/mqtt")) == MqttDownlink(
        topic="downlink/redirect", payload=b"wss://h/mqtt"
    )
    assert mqtt_downlink(command("diag", "x")) == MqttDownlink(topic="downlink/diag", payload=b"x")
    assert mqtt_downlink(command("ping")) == MqttDownlink(topic="downlink/ping", payload=b"")


@pytest.mark.parametrize(
    "sent",
    [
        command("ota"),
        command("ota", "http://h/f"),
        command("ota", "http://h/f", "ten"),
        command("ota", "http://h/f", "²"),
        command("redirect", "h", "1"),
        command("teleport"),
    ],
)
def test_mqtt_refusals(sent: DeviceCommanded) -> None:
    """No URL, a size that is not a byte count, a redirect without its URI, unknown kinds."""
    assert isinstance(mqtt_downlink(sent), CommandRefused)


def test_pending_pings_time_answers_and_drain() -> None:
    """An answer to a ping gives its request id and round trip; others are ignored; the
    book fills up at ``MAX_PENDING_PINGS``; draining hands back what still waits."""
    pings = PendingPings()
    pings.sent(5, 100, at=1.0)
    assert pings.answered(6, at=1.5) is None
    assert pings.answered(5, at=1.0125) == (100, 12.5)
    assert pings.answered(5, at=2.0) is None
    for wire_id in range(MAX_PENDING_PINGS):
        assert not pings.is_full()
        pings.sent(wire_id, wire_id + 1000, at=0.0)
    assert pings.is_full()
    assert sorted(pings.drain()) == [1000 + n for n in range(MAX_PENDING_PINGS)]
    assert pings.drain() == []
