"""Notification settings and the §1.4 limit rule (automations.md): parsing, the every-Nth
counter with the Limit Period, and the text helpers."""

import pytest

from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.notifications import (
    COUNTER,
    LIMIT_PERIOD,
    EventNotifications,
    LimitState,
    Recipient,
    cut,
    limit_step,
    mask_address,
    parse_notifications,
    parse_recipient,
    period_started,
)
from pinbase.domain.templates import SYSTEM_EVENTS

MINUTE = 60_000
HOUR = 60 * MINUTE


def run(settings: EventNotifications, times: list[int]) -> list[int]:
    """The 1-based numbers of the occurrences at ``times`` that notify."""
    state = LimitState()
    notified = []
    for number, now in enumerate(times, start=1):
        state, reason = limit_step(settings, state, now=now)
        if reason is None:
            notified.append(number)
            state = period_started(state, now=now)
    return notified


def test_every_occurrence_notifies_with_the_defaults() -> None:
    """N = 1 without a period notifies on events 1, 2, 3 (§1.4 vector 1)."""
    assert run(EventNotifications(), [0, 5_000, 10_000]) == [1, 2, 3]


def test_every_tenth_of_a_hundred_notifies() -> None:
    """N = 10 notifies on 10, 20, …, 100 (§1.4 vector 2)."""
    settings = EventNotifications(every_n=10)
    assert run(settings, [n * 5_000 for n in range(100)]) == list(range(10, 101, 10))


def test_counter_and_period_together_notify_once() -> None:
    """N = 5 with 1 h over 100 events in 10 min notifies on event 5 only (§1.4 vector 3)."""
    settings = EventNotifications(every_n=5, limit_period_s=3600)
    assert run(settings, [n * 6_000 for n in range(100)]) == [5]


def test_period_suppresses_until_it_has_passed() -> None:
    """N = 1 with 1 h at 0:00, 0:30, 1:00:01 notifies at 0:00 and 1:00:01 (§1.4 vector 4)."""
    settings = EventNotifications(limit_period_s=3600)
    assert run(settings, [0, 30 * MINUTE, HOUR + 1_000]) == [1, 3]


def test_counter_goes_first_and_resets_inside_the_period() -> None:
    """A count reaching N resets even when the period then suppresses."""
    settings = EventNotifications(every_n=2, limit_period_s=60)
    state = LimitState(count=1, period_started_at=0)
    state, reason = limit_step(settings, state, now=1_000)
    assert (state, reason) == (LimitState(count=0, period_started_at=0), LIMIT_PERIOD)
    assert limit_step(settings, state, now=2_000)[1] == COUNTER


def test_settings_parse_from_and_render_to_the_wire_shape() -> None:
    """The wire shape round-trips, and missing fields take their defaults."""
    shape = {
        "enabled": True,
        "email": [{"kind": "DEVICE_OWNER"}, {"kind": "METAFIELD", "metaFieldId": 3}],
        "push": [{"kind": "USER", "userId": 12}, {"kind": "ALL_MEMBERS"}],
        "sms": [{"kind": "DEVICE_OWNER"}],
        "deliverAsAlert": True,
        "limitPeriodSec": 60,
        "everyN": 3,
        "allowUserManagement": True,
    }
    parsed = parse_notifications(shape)
    assert parsed.to_json() == shape
    assert parsed.limits_key == "3:60"
    assert parse_notifications(None) == EventNotifications()
    assert parse_notifications({}) == EventNotifications()


@pytest.mark.parametrize(
    "shape",
    [
        [],
        {"enabled": "yes"},
        {"everyN": 0},
        {"everyN": True},
        {"limitPeriodSec": -1},
        {"email": {}},
        {"email": ["owner"]},
        {"push": [{"kind": "NOBODY"}]},
        {"push": [{"kind": "USER"}]},
        {"push": [{"kind": "DEVICE_OWNER", "userId": 1}]},
        {"push": [{"kind": "METAFIELD"}]},
        {"push": [{"kind": 3}]},
        {"push": [{"kind": "USER", "userId": "1"}]},
        {"push": [{"kind": "USER", "userId": 1, "extra": 1}]},
        {"push": [{"kind": "ALL_MEMBERS"}] * 51},
        {"sound": "loud"},
    ],
)
def test_bad_settings_are_refused(shape: object) -> None:
    """Wrong types, unknown fields and broken rules raise InvalidDefinition."""
    with pytest.raises(InvalidDefinition):
        parse_notifications(shape)


def test_a_recipient_renders_its_id() -> None:
    """METAFIELD and USER recipients carry their id in the wire shape."""
    assert Recipient(kind="METAFIELD", metafield_id=4).to_json() == {
        "kind": "METAFIELD",
        "metaFieldId": 4,
    }
    assert parse_recipient({"kind": "USER", "userId": 2}) == Recipient(kind="USER", user_id=2)


def test_addresses_are_masked_and_texts_cut() -> None:
    """Addresses keep their first letter and domain; long texts end with an ellipsis."""
    assert mask_address("jane@example.com") == "j***@example.com"
    assert mask_address("nobody") == "***"
    assert cut("abc", 3) == "abc"
    assert cut("abcd", 3) == "ab…"


def test_system_events_are_known_by_code() -> None:
    """Online, Offline and OTA are system events with fixed negative ids."""
    assert all(event.is_system and event.id < 0 for event in SYSTEM_EVENTS.values())
    assert SYSTEM_EVENTS["sys_ota"].description == "OTA started"
