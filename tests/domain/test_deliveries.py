"""Deliveries: what the outbox stores, with an id receivers de-duplicate on (§5.1)."""

import pytest

from pinbase.domain.deliveries import (
    FINAL_STATES,
    MAX_DEDUPE_KEY_CHARS,
    MAX_SOURCE_REF_CHARS,
    Delivery,
    DeliveryKind,
    DeliveryState,
    new_delivery,
)


def test_a_new_delivery_gets_a_fresh_hex_id_that_is_also_its_dedupe_key() -> None:
    """Without a dedupe key, a delivery's key is its own 32-hex id, new for every delivery."""
    first = new_delivery(DeliveryKind.EMAIL, {"to": "a@x.io"}, due_at=5, source="EVENT")
    second = new_delivery(DeliveryKind.EMAIL, {"to": "a@x.io"}, due_at=5, source="EVENT")
    assert len(first.id) == 32
    int(first.id, 16)
    assert first.dedupe_key == first.id
    assert first.id != second.id
    assert first.attempts == 0


def test_a_given_dedupe_key_and_refs_are_kept() -> None:
    """The key, source ref, org and due time given are the delivery's."""
    delivery = new_delivery(
        DeliveryKind.WEBHOOK,
        {"url": "https://x.io"},
        dedupe_key="webhook:7:123",
        due_at=42,
        source="WEBHOOK",
        source_ref="7",
        org_id=3,
    )
    assert (delivery.dedupe_key, delivery.source_ref, delivery.org_id, delivery.due_at) == (
        "webhook:7:123",
        "7",
        3,
        42,
    )
    assert delivery.kind is DeliveryKind.WEBHOOK


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": ""}, "needs an id"),
        ({"dedupe_key": ""}, "dedupe key"),
        ({"dedupe_key": "k" * (MAX_DEDUPE_KEY_CHARS + 1)}, "dedupe key"),
        ({"source": "SMS_GATEWAY"}, "unknown delivery source"),
        ({"source_ref": "r" * (MAX_SOURCE_REF_CHARS + 1)}, "source ref"),
        ({"attempts": -1}, "negative"),
    ],
)
def test_invalid_deliveries_are_refused(changes: dict[str, object], message: str) -> None:
    """An empty id or key, an over-long key or ref, an unknown source or negative attempts
    raise ValueError."""
    fields: dict[str, object] = {
        "id": "a" * 32,
        "kind": DeliveryKind.PUSH,
        "payload": {},
        "dedupe_key": "k",
        "due_at": 0,
        "source": "LIFECYCLE",
    }
    with pytest.raises(ValueError, match=message):
        Delivery(**(fields | changes))  # type: ignore[arg-type]


def test_final_states_are_sent_failed_and_cancelled() -> None:
    """Only SENT, FAILED and CANCELLED are final."""
    assert {state for state in DeliveryState if state in FINAL_STATES} == {
        DeliveryState.SENT,
        DeliveryState.FAILED,
        DeliveryState.CANCELLED,
    }
