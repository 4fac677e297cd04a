"""``OutgoingMessage``: an ad-hoc message for the notification planner (automations.md §2.1).

Automation actions, webhook failure notices and the legacy ``Blynk.notify`` / ``Blynk.email``
calls hand one to ``Notifications.queue_message``; template events and lifecycle statuses take
their own path through the same routing steps (§2.4).
"""

from dataclasses import dataclass

EMAIL = "EMAIL"
PUSH = "PUSH"
SMS = "SMS"
CHANNELS = frozenset({EMAIL, PUSH, SMS})

SOURCES = frozenset({"EVENT", "LIFECYCLE", "AUTOMATION", "WEBHOOK", "WEBHOOK_FAILURE", "LEGACY"})
"""The ``source`` of a notification-log row and of its outbox delivery (§5.4)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingMessage:
    """A message to some users and addresses of one organization on one channel.

    ``user_ids`` are users of ``org_id`` (others are ignored); ``addresses`` are e-mail
    addresses (EMAIL only). ``hourly_quota`` makes the message count toward the organization's
    automation messages per hour (§1.7), one per message whatever its recipients.
    """

    org_id: int
    device_id: int | None
    channel: str
    user_ids: tuple[int, ...] = ()
    addresses: tuple[str, ...] = ()
    subject: str
    body: str
    source: str
    source_ref: str | None = None
    hourly_quota: bool = False

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"channel must be one of {sorted(CHANNELS)}")
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {sorted(SOURCES)}")
        if self.addresses and self.channel != EMAIL:
            raise ValueError("only an EMAIL message goes to addresses")
