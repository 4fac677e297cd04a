"""Blynk's subscription rules: filters under downlink/, a trailing # only, always-delivered."""

import pytest

from pinbase.protocols.mqtt.topics import MAX_SUBSCRIPTIONS, Subscriptions, is_allowed_filter


@pytest.mark.parametrize(
    ("topic_filter", "allowed"),
    [
        ("downlink/#", True),
        ("downlink/ds/#", True),
        ("downlink/ds/Temperature", True),
        ("#", False),
        ("ds/#", False),
        ("downlink/+/x", False),
        ("downlink/ds#", False),
        ("downlink/#/x", False),
    ],
)
def test_allowed_filters(topic_filter: str, allowed: bool) -> None:
    """§2.3: only under downlink/, no +, # only as the last level."""
    assert is_allowed_filter(topic_filter) is allowed


def test_matching_and_granted_qos() -> None:
    """The highest matching QoS, capped at 1; # matches its parent level too."""
    subscriptions = Subscriptions()
    assert subscriptions.add("downlink/#", 0) == 0
    assert subscriptions.add("downlink/ds/#", 2) == 1
    assert subscriptions.add("downlink/ds/A", 0) == 0
    assert subscriptions.add("ds/A", 0) is None
    assert subscriptions.qos_for("downlink/ds/A") == 1
    assert subscriptions.qos_for("downlink/ds") == 1
    assert subscriptions.qos_for("downlink/reboot") == 0
    subscriptions.remove(["downlink/#", "not/held"])
    assert subscriptions.qos_for("downlink/reboot") is None
    assert subscriptions.qos_for("downlink/dsx") is None


def test_some_downlinks_arrive_without_subscription_at_qos_0() -> None:
    """ota/json, redirect and diag are always delivered, always at QoS 0 (§2.3, §2.6)."""
    subscriptions = Subscriptions()
    assert subscriptions.qos_for("downlink/diag") == 0
    subscriptions.add("downlink/#", 1)
    assert subscriptions.qos_for("downlink/diag") == 0


def test_the_number_of_filters_is_bounded() -> None:
    """Past MAX_SUBSCRIPTIONS new filters are refused; a held one may be renewed."""
    subscriptions = Subscriptions()
    for n in range(MAX_SUBSCRIPTIONS):
        assert subscriptions.add(f"downlink/ds/{n}", 0) == 0
    assert subscriptions.add("downlink/ds/new", 0) is None
    assert subscriptions.add("downlink/ds/0", 1) == 1
