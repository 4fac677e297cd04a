"""Deliveries: messages that leave Pinbase through the durable outbox (automations.md §5.1).

A delivery is created, fully rendered, by whoever decides that something must be sent (the
notification planner, a webhook trigger, an automation step) and is stored in the same
transaction as its cause. The dispatcher (``services.reactions.outbox``) sends it at least once;
its ``id`` is what receivers de-duplicate on (e-mail ``Message-ID``, ``X-Pinbase-Delivery``,
the Web Push ``Topic`` seed), so a retry of one delivery is recognisable as the same message.
"""

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MAX_DEDUPE_KEY_CHARS = 255
"""The width of ``outbox.dedupe_key``: a key names its cause (kind, source, ids), never a body."""

MAX_SOURCE_REF_CHARS = 255
"""The width of ``outbox.source_ref``: an id or a short path of ids."""


class DeliveryKind(StrEnum):
    """What a delivery is, and so which sender and retry schedule handle it (§5.1)."""

    EMAIL = "EMAIL"
    PUSH = "PUSH"
    SMS = "SMS"
    WEBHOOK = "WEBHOOK"
    AUTOMATION_CONTINUATION = "AUTOMATION_CONTINUATION"


class DeliveryState(StrEnum):
    """Where a stored delivery stands (§5.1). ``SENT``, ``FAILED`` and ``CANCELLED`` are final."""

    PENDING = "PENDING"
    IN_FLIGHT = "IN_FLIGHT"
    RETRY = "RETRY"
    SENT = "SENT"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


FINAL_STATES = frozenset({DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.CANCELLED})
"""States a delivery never leaves; retention purges them after their age."""

SOURCES = frozenset({"EVENT", "LIFECYCLE", "AUTOMATION", "WEBHOOK", "WEBHOOK_FAILURE", "LEGACY"})
"""What caused a delivery: the notification log's ``source`` values (§5.4) plus ``WEBHOOK``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """One message to send.

    ``payload`` is JSON-serializable and final: the sender renders nothing. ``dedupe_key`` is
    unique among stored deliveries (a second insert with the same key is ignored), ``due_at`` the
    earliest moment (ms) it may be sent, ``attempts`` how many sends were started so far.
    """

    id: str
    kind: DeliveryKind
    payload: dict[str, Any]
    dedupe_key: str
    due_at: int
    source: str
    source_ref: str | None = None
    org_id: int | None = None
    attempts: int = 0

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("a delivery needs an id")
        if not self.dedupe_key or len(self.dedupe_key) > MAX_DEDUPE_KEY_CHARS:
            raise ValueError(f"a dedupe key has 1 to {MAX_DEDUPE_KEY_CHARS} characters")
        if self.source not in SOURCES:
            raise ValueError(f"unknown delivery source {self.source!r}")
        if self.source_ref is not None and len(self.source_ref) > MAX_SOURCE_REF_CHARS:
            raise ValueError(f"a source ref has at most {MAX_SOURCE_REF_CHARS} characters")
        if self.attempts < 0:
            raise ValueError("attempts cannot be negative")


def new_delivery(
    kind: DeliveryKind,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    due_at: int,
    source: str,
    source_ref: str | None = None,
    org_id: int | None = None,
) -> Delivery:
    """A delivery with a fresh random id; ``dedupe_key`` defaults to that id (never a duplicate).

    Raises:
        ValueError: an empty or over-long key or ref, or an unknown ``source``.
    """
    delivery_id = uuid.uuid4().hex
    return Delivery(
        id=delivery_id,
        kind=kind,
        payload=payload,
        dedupe_key=delivery_id if dedupe_key is None else dedupe_key,
        due_at=due_at,
        source=source,
        source_ref=source_ref,
        org_id=org_id,
    )
