"""An in-process publish/subscribe bus with typed topics.

A topic is a message class; subscribers get every published instance of it. Delivery is a plain
synchronous call in publication order, so a subscriber must not block: device connections (a
later issue) queue the message on their own connection and return.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pinbase.domain.datastreams import Datastream
from pinbase.domain.devices import Device
from pinbase.domain.value_types import Value

logger = logging.getLogger(__name__)

Message = TypeVar("Message")
Unsubscribe = Callable[[], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class ValuesChanged:
    """Values of one device were stored; all share ``ts``. ``origin`` says who wrote them."""

    device: Device
    writes: tuple[tuple[Datastream, Value], ...]
    ts: int
    origin: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PropertyChanged:
    """A property of a device's datastream was set; ``value`` is one string or a list of them."""

    device: Device
    datastream: Datastream
    name: str
    value: str | list[str]
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
