"""An in-process publish/subscribe bus with typed topics, and the topics of what happens live.

A topic is a message class; subscribers get every published instance of it. Delivery is a plain
synchronous call in publication order, so a subscriber must not block: device connections and
console viewers (``services.live``) queue the message on their own connection and return.

Messages are plain values (ids, values, timestamps, an origin), never live domain objects, so
that the same message can later cross a process boundary (issue #11). A message carries what
its subscribers need to act at once (a value's pin and datastream label, for the device links)
so that nobody looks anything up inside a device's write.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from pinbase.domain.ids import DatastreamId, DeviceId, OrgId
from pinbase.domain.pins import Pin
from pinbase.domain.value_types import Value

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


@dataclass(frozen=True, slots=True, kw_only=True)
class PropertyChanged:
    """A property of a device's datastream was set; ``value`` is one string or a list of them."""

    device_id: DeviceId
    datastream_id: DatastreamId
    name: str
    value: str | tuple[str, ...]
    ts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PresenceChanged:
    """A device went online (its first live connection) or offline (its last one ended) at
    ``ts``; a second login replacing the first changes nothing and is not announced."""

    device_id: DeviceId
    online: bool
    ts: int


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


@dataclass(frozen=True, slots=True, kw_only=True)
class PinPushed:
    """A value for a connected device's pin that is not stored: the answer of a webhook with
    ``legacyResponseToPin`` (automations.md §4.6, Blynk 1.0 sent it as ``vw``). Only the device's
    live session takes it; nothing else treats it as a write."""

    device_id: DeviceId
    datastream_id: DatastreamId
    pin: Pin
    label: str
    value: str
    ts: int


class Bus:
    """Typed publish/subscribe; ``subscribe`` returns the function that undoes it."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[type, list[Callable[[Any], None]]] = defaultdict(list)

    def subscribe(self, topic: type[Message], callback: Callable[[Message], None]) -> Unsubscribe:
        """Call ``callback`` with every message of type ``topic`` published from now on."""
        self._subscribers[topic].append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers[topic]:
                self._subscribers[topic].remove(callback)

        return unsubscribe

    def publish(self, message: object) -> None:
        """Deliver ``message`` to its topic's subscribers; one failing subscriber spoils none."""
        for callback in tuple(self._subscribers.get(type(message), ())):
            try:
                callback(message)
            except Exception:
                logger.exception("bus.subscriber_failed topic=%s", type(message).__name__)
