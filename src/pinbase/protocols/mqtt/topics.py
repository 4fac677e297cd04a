"""Blynk's subscription rules and topic-filter matching, as pure functions (device-protocols.md
§2.3, §2.5).

A device may subscribe only under ``downlink/``, with at most one trailing multi-level ``#``;
the single-level ``+`` is not offered. Without a matching subscription a device receives
nothing, except the few topics Blynk delivers to every device.
"""

from collections.abc import Iterable

DOWNLINK_PREFIX = "downlink/"

ALWAYS_DELIVERED = frozenset({"downlink/ota/json", "downlink/redirect", "downlink/diag"})
"""Downlinks a device receives whether it subscribed or not (§2.3)."""

MAX_SUBSCRIPTIONS = 32
"""Filters one connection may hold: a Blynk device needs one (``downlink/#``); a few more
cost nothing, thousands would make every downlink a long scan."""

MAX_DOWNLINK_QOS = 1
"""Downlinks go at min(subscription QoS, 1) (§2.6 [R])."""


def is_allowed_filter(topic_filter: str) -> bool:
    """Whether a device may subscribe to ``topic_filter`` (§2.3)."""
    if not topic_filter.startswith(DOWNLINK_PREFIX) or "+" in topic_filter:
        return False
    hash_at = topic_filter.find("#")
    return hash_at < 0 or (hash_at == len(topic_filter) - 1 and topic_filter[hash_at - 1] == "/")


def matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic`` matches an allowed filter: equal, or under its trailing ``/#`` (which
    also matches the parent level itself, MQTT 3.1.1 §4.7.1.2)."""
    if topic_filter.endswith("/#"):
        parent = topic_filter[:-2]
        return topic == parent or topic.startswith(topic_filter[:-1])
    return topic == topic_filter


class Subscriptions:
    """The filters one connection holds, with the QoS granted to each."""

    __slots__ = ("_filters",)

    def __init__(self) -> None:
        self._filters: dict[str, int] = {}

    def add(self, topic_filter: str, qos: int) -> int | None:
        """Subscribe; the granted QoS, or None when the filter is refused (not allowed, or the
        connection holds ``MAX_SUBSCRIPTIONS`` others already). Subscribing again replaces."""
        if not is_allowed_filter(topic_filter):
            return None
        if topic_filter not in self._filters and len(self._filters) >= MAX_SUBSCRIPTIONS:
            return None
        granted = min(qos, MAX_DOWNLINK_QOS)
        self._filters[topic_filter] = granted
        return granted

    def remove(self, filters: Iterable[str]) -> None:
        """Unsubscribe; a filter not held is ignored."""
        for topic_filter in filters:
            self._filters.pop(topic_filter, None)

    def qos_for(self, topic: str) -> int | None:
        """The QoS to deliver ``topic`` at (the highest of the matching filters), or None when
        the device should not receive it. ``ALWAYS_DELIVERED`` topics go at QoS 0 (§2.6)."""
        if topic in ALWAYS_DELIVERED:
            return 0
        granted = [qos for f, qos in self._filters.items() if matches(f, topic)]
        return max(granted) if granted else None
