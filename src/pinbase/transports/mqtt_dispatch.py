"""What the server does with each uplink request of a connected MQTT device: one service call,
and the downlinks that answer it (device-protocols.md §2.4, §2.5).

MQTT has no error channel for a publish, so whatever is dropped (an unknown name, a value of the
wrong type, a refused event) is told on ``downlink/diag`` in one human-readable line (§2.4 [R]).
"""

import json
import logging
from typing import Protocol

from pinbase.protocols.mqtt.uplink import (
    MULTI_VALUE_SEPARATOR,
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
    Uplink,
    WriteDatastream,
)
from pinbase.services.device_gateway import EventOutcome
from pinbase.services.directory import BoundDevice
from pinbase.services.named_gateway import NamedGateway, datastream_named

logger = logging.getLogger(__name__)

EVENT_DIAG = {
    EventOutcome.UNKNOWN_CODE: "event: unknown code {code}",
    EventOutcome.REFUSED: "event: description too long",
    EventOutcome.DROPPED: "event: limit reached",
}
"""The ``downlink/diag`` line of a refused ``event/<code>`` (automations.md §1.9)."""
EVENT_DIAG_INTERVAL_S = 10.0
"""At most one event diag line per 10 s per device (§1.9)."""

INFO_FIELDS = {"tmpl": "tmpl", "ver": "mcu", "build": "build", "type": "fw-type"}
"""``info/mcu`` keys as the binary info message names them: MQTT's ``ver`` is the firmware
version, the binary ``mcu`` (§2.4), not the library version."""


class Link(Protocol):
    """The connection a request arrived on, as the handlers need it."""

    @property
    def origin(self) -> str:
        """The bus origin of values written on this link."""
        ...

    def publish(self, topic: str, payload: bytes) -> None:
        """Send a downlink, if the device subscribed to it."""
        ...

    def diag(self, text: str) -> None:
        """Tell the device what went wrong, on ``downlink/diag``."""
        ...

    def event_diag(self, text: str) -> None:
        """``diag`` for a refused event, at most one line per ``EVENT_DIAG_INTERVAL_S``
        (automations.md §1.9): a device looping on a limit is not sent a line per try."""
        ...

    def limit_downlinks(self, rxbuff: int) -> None:
        """The device takes downlinks of at most ``rxbuff`` bytes."""
        ...


def downlink_payload(texts: tuple[str, ...]) -> bytes:
    """Text items as one downlink payload, NUL-separated (§2.5)."""
    return MULTI_VALUE_SEPARATOR.join(texts).encode()


async def handle(link: Link, named: NamedGateway, bound: BoundDevice, request: Uplink) -> None:
    """Handle one request of the device ``bound``, answering on ``link``."""
    gateway = named.gateway
    match request:
        case WriteDatastream(name=name, values=values):
            datastream = datastream_named(bound, name)
            if datastream is None:
                link.diag(f"ds/{name}: no datastream with that name")
            elif not await gateway.record_write(
                bound, datastream.pin, values, origin=link.origin, ts=None
            ):
                link.diag(f"ds/{name}: value dropped, it does not fit the datastream")
        case BatchWrite(items=items):
            dropped = await named.record_batch(bound, items, origin=link.origin)
            if dropped:
                link.diag(f"batch_ds: dropped {', '.join(dropped)}")
        case TimestampedBatch(name=name, points=points):
            reason = await named.import_points(bound, name, points)
            if reason is not None:
                link.diag(f"ds/{name}/timestamped_batch: {reason}")
        case SetProperty(name=name, property=prop, values=values):
            datastream = datastream_named(bound, name)
            if datastream is None or not await gateway.set_property(
                bound, [datastream.pin], prop, values
            ):
                link.diag(f"ds/{name}/prop/{prop}: refused")
        case LogEvent(code=code, description=description):
            outcome = await gateway.log_event(bound, code, description)
            if outcome is not EventOutcome.LOGGED:
                link.event_diag(EVENT_DIAG[outcome].format(code=code))
        case SetMetadata(name=name, value=value):
            if not await gateway.write_metadata(bound, name, value):
                link.diag(f"meta/{name}: refused")
        case GetDatastreams(names=names):
            for found, texts in named.sync(bound, names):
                link.publish(f"downlink/ds/{found}", downlink_payload(texts))
            unknown = [name for name in names or () if datastream_named(bound, name) is None]
            if unknown:
                link.diag(f"get/ds: no datastream named {', '.join(unknown)}")
        case GetMetadata(names=names):
            for name in names:
                text = gateway.read_metadata(bound, name)
                if text is None:
                    link.diag(f"get/meta: no metadata field named {name}")
                else:
                    link.publish(f"downlink/meta/{name}", text.encode())
        case GetTime():
            link.publish("downlink/utc/all/json", json.dumps(named.time_json()).encode())
        case DeviceInfo(fields=fields, rxbuff=rxbuff):
            if rxbuff is not None:
                link.limit_downlinks(rxbuff)
            info = [(INFO_FIELDS[key], value) for key, value in fields if key in INFO_FIELDS]
            await gateway.record_info(bound, info)
        case EraseDatastream(name=name):
            if not await named.erase_value(bound, name):
                link.diag(f"ds/{name}/erase: no datastream with that name")
        case EraseProperty(name=name, property=prop):
            if not await named.erase_property(bound, name, prop):
                link.diag(f"ds/{name}/prop/{prop}/erase: no datastream with that name")
        case GetLocation():
            # Devices have no location in Pinbase yet (docs/mqtt.md).
            link.diag("get/loc/all: not supported by this server")
