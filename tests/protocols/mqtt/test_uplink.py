"""The uplink topic vocabulary (device-protocols.md §2.4) parsed into requests."""

import pytest

from pinbase.protocols.mqtt.uplink import (
    BadUplink,
    BatchWrite,
    DeviceInfo,
    EraseDatastream,
    EraseProperty,
    GetDatastreams,
    GetLocation,
    GetMetadata,
    GetTime,
    LogEvent,
    SetMetadata,
    SetProperty,
    TimestampedBatch,
    WriteDatastream,
    parse_uplink,
)


@pytest.mark.parametrize(
    ("topic", "payload", "request_"),
    [
        ("ds/Set Temperature", b"21.5", WriteDatastream(name="Set Temperature", values=("21.5",))),
        ("ds/Pos", b"1\x002", WriteDatastream(name="Pos", values=("1", "2"))),
        ("ds/A/erase", b"", EraseDatastream(name="A")),
        (
            "ds/A/timestamped_batch",
            b"[[1700000000000, 1], [1700000001000, 2.5]]",
            TimestampedBatch(name="A", points=((1700000000000, 1), (1700000001000, 2.5))),
        ),
        ("batch_ds", b'{"A": 1, "B": "x"}', BatchWrite(items=(("A", 1), ("B", "x")))),
        (
            "ds/A/prop/color",
            b"#FF0000",
            SetProperty(name="A", property="color", values=("#FF0000",)),
        ),
        ("ds/A/prop/color/erase", b"", EraseProperty(name="A", property="color")),
        ("event/overheat", b"Too hot", LogEvent(code="overheat", description="Too hot")),
        ("event/overheat", b"", LogEvent(code="overheat", description=None)),
        ("meta/Room", b"Kitchen", SetMetadata(name="Room", value="Kitchen")),
        ("get/ds", b"A,B,", GetDatastreams(names=("A", "B"))),
        ("get/ds/all", b"", GetDatastreams(names=None)),
        ("get/meta", b"Room", GetMetadata(names=("Room",))),
        ("get/utc/all/json", b"", GetTime()),
        ("get/loc/all", b"", GetLocation()),
        (
            "info/mcu",
            b'{"tmpl": "TMPL1", "ver": "1.0", "rxbuff": 512, "x": true, "y": null}',
            DeviceInfo(fields=(("tmpl", "TMPL1"), ("ver", "1.0"), ("rxbuff", "512")), rxbuff=512),
        ),
        ("info/mcu", b'{"ver": 2}', DeviceInfo(fields=(("ver", "2"),), rxbuff=None)),
    ],
)
def test_known_topics(topic: str, payload: bytes, request_: object) -> None:
    """Each documented uplink topic gives its request."""
    assert parse_uplink(topic, payload) == request_


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("ds/A", b"\xff", "not UTF-8"),
        ("ds//x", b"1", "unknown topic"),
        ("ds/A/what", b"1", "unknown topic"),
        ("nope", b"", "unknown topic"),
        ("event/a/b", b"", "unknown topic"),
        ("batch_ds", b"[1]", "JSON object"),
        ("batch_ds", b"{", "Expecting"),
        ("info/mcu", b"[]", "JSON object"),
        ("info/mcu", b'{"rxbuff": "big"}', "rxbuff"),
        ("info/mcu", b'{"rxbuff": true}', "rxbuff"),
        ("ds/A/timestamped_batch", b"{}", "JSON array"),
        ("ds/A/timestamped_batch", b"[[1]]", "pairs"),
        ("ds/A/timestamped_batch", b'[["1", 2]]', "milliseconds"),
        ("ds/A/timestamped_batch", b"[[true, 2]]", "milliseconds"),
    ],
)
def test_bad_uplinks_say_why(topic: str, payload: bytes, reason: str) -> None:
    """Unknown topics and malformed payloads give a diag line naming the topic."""
    bad = parse_uplink(topic, payload)
    assert isinstance(bad, BadUplink)
    assert bad.reason.startswith(topic)
    assert reason in bad.reason
