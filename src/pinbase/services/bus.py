"""An in-process publish/subscribe bus with typed topics, and the topics of what happens live.

A topic is a message class; subscribers get every published instance of it. Delivery is a plain
synchronous call in publication order, so a subscriber must not block: device connections and
console viewers (``services.live``) queue the message on their own connection and return.

Messages are plain values (ids, values, timestamps, an origin), never live domain objects, so
that the same message can cross to the other nodes of an installation (issue #11): topics
decorated ``@wire.message`` do, when the bus has a broker linking it to other nodes. A message
carries what its subscribers need to act at once (a value's pin and datastream label, for the
device links) so that nobody looks anything up inside a device's write.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

from pinbase.domain.ids import DatastreamId, DeviceId, OrgId
from pinbase.domain.pins import Pin, parse_pin
from pinbase.domain.points import Point
from pinbase.domain.value_types import Value
from pinbase.services import wire
from pinbase.services.broker import Broker, LocalBroker

logger = logging.getLogger(__name__)

Message = TypeVar("Message")
Unsubscribe = Callable[[], None]


class WrittenValue(NamedTuple):
    """One value of a ``ValuesChanged``: its datastream as each subscriber addresses it (id for
    the console, pin for the binary protocol, label for MQTT topics) and the typed value.

    A named tuple rather than a frozen dataclass: one is built per stored value on the device
    write path, and it costs half as much (0.25 against 0.53 µs, timeit on this machine).
    """

    datastream_id: DatastreamId
    pin: Pin
    label: str
    value: Value


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class ValuesChanged:
    """Values of one device were stored; all share ``ts``. ``origin`` says who wrote them
    (``device_tcp``, ``device_mqtt``, ``device_http``, ``legacy_http``, ``platform_api``,
    ``console``, ``automation``, ``webhook``); ``origin_id`` is the automation's or webhook's id
    when it wrote them, and ``hops`` how many automation or webhook steps led to this write
    since a person or a device last wrote, so that rules writing datastreams cannot loop
    forever (issue #10)."""

    device_id: DeviceId
    writes: tuple[WrittenValue, ...]
    ts: int
    origin: str
    origin_id: int | None = None
    hops: int = 0


def _compact_values(message: ValuesChanged) -> list[Any]:
    writes = [[w.datastream_id, w.pin.name, w.label, w.value] for w in message.writes]
    return [message.device_id, writes, message.ts, message.origin, message.origin_id, message.hops]


def _values_from(payload: list[Any]) -> ValuesChanged:
    device_id, writes, ts, origin, origin_id, hops = payload
    return ValuesChanged(
        device_id=DeviceId(device_id),
        writes=tuple(
            [
                WrittenValue(
                    DatastreamId(ds_id),
                    _pin_named(pin),
                    label,
                    tuple(value) if type(value) is list else value,
                )
                for ds_id, pin, label, value in writes
            ]
        ),
        ts=ts,
        origin=origin,
        origin_id=origin_id,
        hops=hops,
    )


@lru_cache(maxsize=1024)
def _pin_named(name: str) -> Pin:
    return parse_pin(name)


# The device write path's message: positional and pins by name, a third of the tagged size and
# about four times faster to decode (docs/decisions.md, "Broker seam").
wire.compact(ValuesChanged, encode=_compact_values, decode=_values_from)


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class PropertyChanged:
    """A property of a device's datastream was set; ``value`` is one string or a list of them."""

    device_id: DeviceId
    datastream_id: DatastreamId
    name: str
    value: str | tuple[str, ...]
    ts: int


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class PropertyErased:
    """A stored property of a device's datastream was removed (MQTT ``…/prop/<name>/erase``)."""

    device_id: DeviceId
    datastream_id: DatastreamId
    name: str


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class ValuesImported:
    """Back-dated points of one device were stored (timestamped uploads, committed); ``newest``
    holds the newest imported point of each datastream, which becomes its current value unless
    a newer one is known. Nothing is pushed to devices (http-api.md OP-26)."""

    device_id: DeviceId
    newest: tuple[Point, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PresenceChanged:
    """A device went online (its first live connection) or offline (its last one ended) at
    ``ts``; a second login replacing the first changes nothing and is not announced.

    Each node derives its own from the installation's sessions (``services.presence``), so it
    never crosses to other nodes. ``local`` is true on the node whose session, or whose
    noticing a dead node, caused the change: reactors that act once per installation act on
    those only (issue #11)."""

    device_id: DeviceId
    online: bool
    ts: int
    local: bool = True


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineEntryAdded:
    """A device event was logged on the device's timeline (data-model.md §1.8), committed.

    ``id`` is the stored entry's id; ``event_id``, ``code``, ``name`` and ``event_type`` name the
    template event it is an occurrence of. ``visible`` is false when the event's "Show on
    timeline" is off: webhooks still fire, live timelines leave it out (automations.md §1.10).
    """

    id: int
    device_id: DeviceId
    event_id: int
    code: str
    name: str
    event_type: str
    description: str | None
    ts: int
    visible: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class UserSaved:
    """A user was stored, committed: created (``created``), changed (role, organization), or
    signed up (``signed_up``: chose its password from an invitation link). Nothing is cached
    from users; webhook user triggers listen (automations.md §4.2)."""

    user_id: int
    org_id: OrgId
    created: bool
    signed_up: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceFirstConnected:
    """A device connected for the first time ever (automations.md §1.6, ``firstConnectTime``);
    published once per device, after the fact is committed. Feeds the webhooks' "First-Time
    Device Connection" trigger (§4.2)."""

    device_id: DeviceId
    org_id: int
    ts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceActivated:
    """A signed-in user created (activated) a device, committed: the console's "new device"
    or PLT-DEV-09 for its owner. Feeds the webhooks' "New Device Activated By User" trigger
    (automations.md §4.2); ``user_id`` is the activating user, the device's owner."""

    device_id: DeviceId
    org_id: OrgId
    user_id: int
    ts: int


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class PinPushed:
    """A value for a connected device's pin that is not stored: the answer of a webhook with
    ``legacyResponseToPin`` (automations.md §4.6, Blynk 1.0 sent it as ``vw``). Only the device's
    live session takes it, on whichever node the device is connected to (a shared topic);
    nothing else treats it as a write."""

    device_id: DeviceId
    datastream_id: DatastreamId
    pin: Pin
    label: str
    value: str
    ts: int


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInfoReported:
    """A device reported its firmware: the binary info message, MQTT ``info/mcu`` or DEV-12
    (device-lifecycle.md §1.7, an evaluation point of Blynk.Air shipments). Published on the
    node that received it, every time, even when nothing changed; the shipments evaluate it
    there only (``remote=False``), so once per installation."""

    device_id: DeviceId
    version: str | None
    build: str | None
    fw_type: str | None
    library_version: str | None
    template_code: str | None


COMMAND_KINDS = frozenset({"ota", "reboot", "ping", "redirect", "reconfigure", "diag"})
"""What a ``DeviceCommanded`` may ask of a device's connection (device-lifecycle.md §1.3, §1.4,
§4)."""


@wire.message
@dataclass(frozen=True, slots=True)
class DeviceCommanded:
    """A command for one device's live connection, on whichever node it is connected.

    ``kind`` is one of ``COMMAND_KINDS``. Arguments by kind: ``ota`` ``(url, size, fw_type,
    version, build)`` (size as decimal text, the last three may be empty); ``redirect`` ``(host,
    port, uri)`` (the binary protocol takes host and port, MQTT the full URI); ``diag``
    ``(text,)``; the others none. ``request_id`` is set for ``ping``: the ``DevicePingAnswered``
    that answers it carries it back. Only the session holding the device acts; on a node where
    the device is not connected nothing happens.
    """

    device_id: DeviceId
    kind: str  # "ota" | "reboot" | "ping" | "redirect" | "reconfigure" | "diag"
    args: tuple[str, ...] = ()
    request_id: int = 0  # set for "ping": the answer carries it back


NOT_CONNECTED = "not connected"
"""A ``DevicePingAnswered`` reason: the session had already ended when the ping arrived."""
CONNECTION_CLOSED = "connection closed"
"""A ``DevicePingAnswered`` reason: the connection ended before the device answered."""


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class DevicePingAnswered:
    """The answer to a ``ping`` ``DeviceCommanded``, from the node holding the device's session:
    ``ms`` from sending the ping to the device's answer (binary RESPONSE, MQTT PUBACK), or None
    with ``reason`` when the session could not ping it (a Python client, no subscription, the
    connection went). Sent to every node: the one that asked waits for its ``request_id``."""

    device_id: DeviceId
    request_id: int
    ms: float | None
    reason: str = ""


class Bus:
    """Typed publish/subscribe; ``subscribe`` returns the function that undoes it.

    With a broker linking this node to others, ``publish`` also sends a message of a shared
    topic (``services.wire.message``) to the other nodes, and ``start`` hands what they send to
    the subscribers that asked for it (``remote=True``). Caches and fan-out to connections
    (``CachedState``, ``LiveHub``, device sessions) want remote messages; reactors that must act
    once per installation (automations, lifecycle notifications, webhook events) do not: the
    node that published acts.
    """

    def __init__(self, broker: Broker | None = None) -> None:
        self.broker: Broker = broker if broker is not None else LocalBroker()
        self._subscribers: defaultdict[type, list[Callable[[Any], None]]] = defaultdict(list)
        self._remote: defaultdict[type, list[Callable[[Any], None]]] = defaultdict(list)
        # A node alone sends nothing: the hot path costs one attribute test more than before.
        self._sends = not (isinstance(self.broker, LocalBroker) and self.broker.alone)

    def subscribe(
        self,
        topic: type[Message],
        callback: Callable[[Message], None],
        *,
        remote: bool = False,
        local: bool = True,
    ) -> Unsubscribe:
        """Call ``callback`` with every message of type ``topic`` published from now on on this
        node (unless ``local`` is false) and, with ``remote``, published on the other nodes."""
        lists = []
        if local:
            lists.append(self._subscribers[topic])
        if remote:
            lists.append(self._remote[topic])
        for subscribers in lists:
            subscribers.append(callback)

        def unsubscribe() -> None:
            for subscribers in lists:
                if callback in subscribers:
                    subscribers.remove(callback)

        return unsubscribe

    def publish(self, message: object) -> None:
        """Deliver ``message`` to its topic's subscribers; one failing subscriber spoils none.
        A message of a shared topic goes to the other nodes too."""
        topic = type(message)
        for callback in tuple(self._subscribers.get(topic, ())):
            try:
                callback(message)
            except Exception:
                logger.exception("bus.subscriber_failed topic=%s", topic.__name__)
        if self._sends and wire.is_shared(topic):
            self.broker.send(message)

    def receive(self, message: object) -> None:
        """Deliver a message another node published to the ``remote`` subscribers."""
        topic = type(message)
        for callback in tuple(self._remote.get(topic, ())):
            try:
                callback(message)
            except Exception:
                logger.exception("bus.subscriber_failed topic=%s remote", topic.__name__)

    async def start(self) -> None:
        """Start receiving what the other nodes publish."""
        await self.broker.start(self.receive)

    async def stop(self) -> None:
        """Stop sending and receiving (what is queued is sent first)."""
        await self.broker.stop()
