"""The Blynk uplink topics a device publishes to, parsed into requests (device-protocols.md §2.4).

``parse_uplink(topic, payload)`` returns one request value, or ``BadUplink`` with the line the
server publishes on ``downlink/diag``. Names (datastreams, properties, metadata, events) are
taken as they are, case-sensitive, spaces included; resolving them is the server's business.
JSON payloads are decoded here, their values checked against datastream types later.
"""

import json
from dataclasses import dataclass

MULTI_VALUE_SEPARATOR = "\0"
"""Items of a multi-value payload are separated by NUL (§2.4)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInfo:
    """``info/mcu``: the firmware's facts, as text, and the largest downlink it takes."""

    fields: tuple[tuple[str, str], ...]
    rxbuff: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteDatastream:
    """``ds/<name>``: one value, several items for a multi-value datastream."""

    name: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class EraseDatastream:
    """``ds/<name>/erase``."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TimestampedBatch:
    """``ds/<name>/timestamped_batch``: ``(unix ms, JSON value)`` points."""

    name: str
    points: tuple[tuple[int, object], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchWrite:
    """``batch_ds``: ``(name, JSON value)`` pairs stored under one timestamp."""

    items: tuple[tuple[str, object], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SetProperty:
    """``ds/<name>/prop/<property>``."""

    name: str
    property: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class EraseProperty:
    """``ds/<name>/prop/<property>/erase``."""

    name: str
    property: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LogEvent:
    """``event/<code>``; an empty payload means the event's default description."""

    code: str
    description: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetMetadata:
    """``meta/<field name>``."""

    name: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetDatastreams:
    """``get/ds`` (the listed names) or ``get/ds/all`` (``names`` None)."""

    names: tuple[str, ...] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetMetadata:
    """``get/meta``: the listed field names."""

    names: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class GetTime:
    """``get/utc/all/json``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GetLocation:
    """``get/loc/all``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BadUplink:
    """Not a request the server understands; ``reason`` goes to ``downlink/diag``."""

    reason: str


Uplink = (
    DeviceInfo
    | WriteDatastream
    | EraseDatastream
    | TimestampedBatch
    | BatchWrite
    | SetProperty
    | EraseProperty
    | LogEvent
    | SetMetadata
    | GetDatastreams
    | GetMetadata
    | GetTime
    | GetLocation
)

_FIXED: dict[str, Uplink] = {
    "get/ds/all": GetDatastreams(names=None),
    "get/utc/all/json": GetTime(),
    "get/loc/all": GetLocation(),
}


def parse_uplink(topic: str, payload: bytes) -> Uplink | BadUplink:
    """The request a publish on ``topic`` makes, or why it is not one."""
    try:
        text = payload.decode()
    except UnicodeDecodeError:
        return BadUplink(reason=f"{topic}: payload is not UTF-8")
    if topic.startswith("ds/") and "/" not in topic[3:] and len(topic) > 3:
        # The hot path: one datastream value, most of what devices send.
        return WriteDatastream(name=topic[3:], values=tuple(text.split(MULTI_VALUE_SEPARATOR)))
    fixed = _FIXED.get(topic)
    if fixed is not None:
        return fixed
    parts = topic.split("/")
    head, args = parts[0], parts[1:]
    if not all(args):
        return BadUplink(reason=f"{topic}: unknown topic")
    try:
        request = _parse(topic, head, args, text)
    except (ValueError, TypeError) as error:  # json.JSONDecodeError is a ValueError
        return BadUplink(reason=f"{topic}: {error}")
    return request or BadUplink(reason=f"{topic}: unknown topic")


def _parse(topic: str, head: str, args: list[str], text: str) -> Uplink | None:
    if topic == "info/mcu":
        return _device_info(text)
    if topic == "batch_ds":
        items = json.loads(text)
        if not isinstance(items, dict):
            raise TypeError("expected a JSON object of datastream names and values")
        return BatchWrite(items=tuple(items.items()))
    if topic == "get/ds":
        return GetDatastreams(names=_names(text))
    if topic == "get/meta":
        return GetMetadata(names=_names(text))
    if head == "event" and len(args) == 1:
        return LogEvent(code=args[0], description=text or None)
    if head == "meta" and len(args) == 1:
        return SetMetadata(name=args[0], value=text)
    if head == "ds" and args:
        return _datastream(args[0], args[1:], text)
    return None


def _datastream(name: str, rest: list[str], text: str) -> Uplink | None:
    match rest:  # ``ds/<name>`` alone was taken by parse_uplink's fast path
        case ["erase"]:
            return EraseDatastream(name=name)
        case ["timestamped_batch"]:
            return TimestampedBatch(name=name, points=_points(json.loads(text)))
        case ["prop", prop]:
            values = tuple(text.split(MULTI_VALUE_SEPARATOR))
            return SetProperty(name=name, property=prop, values=values)
        case ["prop", prop, "erase"]:
            return EraseProperty(name=name, property=prop)
    return None


def _device_info(text: str) -> DeviceInfo:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise TypeError("expected a JSON object")
    rxbuff = data.get("rxbuff")
    if rxbuff is not None and (isinstance(rxbuff, bool) or not isinstance(rxbuff, int)):
        raise TypeError("rxbuff must be an integer")
    fields = tuple(
        (str(key), str(value))
        for key, value in data.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    )
    return DeviceInfo(fields=fields, rxbuff=rxbuff)


def _points(data: object) -> tuple[tuple[int, object], ...]:
    if not isinstance(data, list):
        raise TypeError("expected a JSON array of [unix_ms, value] pairs")
    points = []
    for item in data:
        if not (isinstance(item, list) and len(item) == 2):
            raise TypeError("expected [unix_ms, value] pairs")
        ts, value = item
        if isinstance(ts, bool) or not isinstance(ts, int):
            raise TypeError("a timestamp must be an integer of milliseconds")
        points.append((ts, value))
    return tuple(points)


def _names(text: str) -> tuple[str, ...]:
    return tuple(name for name in text.split(",") if name)
