"""Event and message values refuse what has no wire form, with ValueError (value semantics)."""

from collections.abc import Callable

import pytest

from pinbase.domain.pins import Pin, PinType
from pinbase.protocols.device.events import (
    BridgeInit,
    BridgeWrite,
    DeviceInfo,
    Email,
    GroupBegin,
    HardwareWrite,
    Internal,
    LogEvent,
    Login,
    MetadataSet,
    Ping,
    Response,
    SetProperty,
    Sync,
)
from pinbase.protocols.device.frames import Command
from pinbase.protocols.device.outbound import (
    HardwareReadOut,
    HardwareWriteOut,
    InternalPush,
    MetadataReply,
    RtcReply,
    UtcReply,
)

V1 = Pin(PinType.VIRTUAL, 1)
D1 = Pin(PinType.DIGITAL, 1)

INVALID: dict[str, Callable[[], object]] = {
    "msg id above 16 bits": lambda: Ping(msg_id=65536),
    "negative msg id": lambda: Ping(msg_id=-1),
    "reply id above 16 bits": lambda: HardwareReadOut(pin=V1, msg_id=70000),
    "status above 16 bits": lambda: Response(msg_id=1, status=65536),
    "empty token": lambda: Login(msg_id=1, token=""),
    "token with spaces": lambda: Login(msg_id=1, token=" tok"),
    "token with NUL": lambda: Login(msg_id=1, token="to\0ken"),
    "login by another command": lambda: Login(msg_id=1, token="t", command=Command.PING),
    "lone surrogate": lambda: HardwareWrite(msg_id=1, pin=V1, values=("\ud800",)),
    "no value": lambda: HardwareWrite(msg_id=1, pin=V1, values=()),
    "one empty value": lambda: HardwareWrite(msg_id=1, pin=V1, values=("",)),
    "NUL in a value": lambda: HardwareWriteOut(pin=V1, values=("a\0b",)),
    "push without values": lambda: HardwareWriteOut(pin=V1, values=()),
    "sync of no pins": lambda: Sync(msg_id=1, pins=()),
    "sync of mixed kinds": lambda: Sync(msg_id=1, pins=(V1, D1)),
    "property on no pin": lambda: SetProperty(msg_id=1, pins=(), name="label", values=("x",)),
    "property on a digital pin": lambda: SetProperty(
        msg_id=1, pins=(D1,), name="label", values=("x",)
    ),
    "numeric property name": lambda: SetProperty(msg_id=1, pins=(V1,), name="7", values=("x",)),
    "empty property value": lambda: SetProperty(msg_id=1, pins=(V1,), name="label", values=("",)),
    "info without keys": lambda: DeviceInfo(msg_id=1, fields=()),
    "info starting with an unknown key": lambda: DeviceInfo(msg_id=1, fields=(("x", "1"),)),
    "info value with NUL": lambda: DeviceInfo(msg_id=1, fields=(("ver", "1\0"),)),
    "internal with an info key": lambda: Internal(msg_id=1, name="ver", args=("1",)),
    "internal shaped like rtc sync": lambda: Internal(msg_id=1, name="rtc", args=("sync",)),
    "internal shaped like utc": lambda: Internal(msg_id=1, name="utc", args=("time",)),
    "internal shaped like meta get": lambda: Internal(msg_id=1, name="meta", args=("get", "x")),
    "internal shaped like meta set": lambda: Internal(
        msg_id=1, name="meta", args=("set", "x", "y")
    ),
    "internal argument with NUL": lambda: Internal(msg_id=1, name="x", args=("\0",)),
    "empty metadata name": lambda: MetadataSet(msg_id=1, name="", value="x"),
    "empty event code": lambda: LogEvent(msg_id=1, code=""),
    "description with NUL": lambda: LogEvent(msg_id=1, code="c", description="\0"),
    "empty recipient": lambda: Email(msg_id=1, to="", subject="s", body="b"),
    "negative group time": lambda: GroupBegin(msg_id=1, timestamp_ms=-1),
    "bridge channel 256": lambda: BridgeInit(msg_id=1, channel=256, token="t"),
    "bridge write without value": lambda: BridgeWrite(msg_id=1, channel=1, pin=V1, values=()),
    "negative rtc seconds": lambda: RtcReply(msg_id=1, seconds=-1),
    "utc reply without values": lambda: UtcReply(msg_id=1, query="time", values=()),
    "empty utc query": lambda: UtcReply(msg_id=1, query="", values=("1",)),
    "metadata reply without name": lambda: MetadataReply(msg_id=1, name="", value="v"),
    "undocumented internal push": lambda: InternalPush(name="vfs"),
    "internal push argument with NUL": lambda: InternalPush(name="ota", args=("\0",)),
}


@pytest.mark.parametrize("build", INVALID.values(), ids=INVALID.keys())
def test_values_without_a_wire_form_are_refused(build: Callable[[], object]) -> None:
    """Each invalid construction raises ValueError, never another exception."""
    with pytest.raises(ValueError):  # noqa: PT011 (the ids name each case)
        build()


def test_info_lookups() -> None:
    """``get`` returns the last value of a key; numbers parse, clamp and tolerate junk."""
    info = DeviceInfo(
        msg_id=2,
        fields=(("ver", "1"), ("h-beat", "x"), ("h-beat", "10"), ("buff-in", "1" * 20)),
    )
    assert info.get("h-beat") == "10"
    assert info.get("dev") is None
    assert info.heartbeat == 10
    assert info.buff_in == 1_000_000_000
    assert DeviceInfo(msg_id=2, fields=(("ver", "1"),)).heartbeat is None


def test_non_ascii_text_is_fine() -> None:
    """Valid Unicode beyond ASCII is accepted as is."""
    assert HardwareWrite(msg_id=1, pin=V1, values=("température",)).values == ("température",)
