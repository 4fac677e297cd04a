"""The notification settings of a template event and the rules the planner applies to them.

Settings (automations.md §1.2): a master switch, one recipient list per channel with tagged
recipients (§1.3), whether pushes are delivered as alerts, and the two limits of §1.4: the Limit
Period (at most one notification per period) and the Event Counter, which Pinbase reads as
*every Nth* occurrence (OP-A1). ``limit_step`` is the pure rule; the planner keeps its state.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pinbase.domain.errors import InvalidDefinition

DEVICE_OWNER = "DEVICE_OWNER"
METAFIELD = "METAFIELD"
USER = "USER"
ALL_MEMBERS = "ALL_MEMBERS"
RECIPIENT_KINDS = frozenset({DEVICE_OWNER, METAFIELD, USER, ALL_MEMBERS})

MAX_RECIPIENTS = 50
"""Recipients per channel list: far above any real use, a bound on one occurrence's fan-out."""
MAX_LIMIT_PERIOD_S = 31 * 86_400
"""The editor offers periods in hours and minutes; a month is more than anyone sets."""
MAX_EVERY_N = 1_000_000

SYSTEM_ONLINE = "sys_online"
SYSTEM_OFFLINE = "sys_offline"
SYSTEM_OTA = "sys_ota"
SYSTEM_CODES = frozenset({SYSTEM_ONLINE, SYSTEM_OFFLINE, SYSTEM_OTA})
"""Codes custom events may not take (automations.md §1.6)."""

# Suppression reasons (automations.md §2.5) and log statuses (§5.4).
RATE_1S = "RATE_1S"
DAILY_QUOTA = "DAILY_QUOTA"
COUNTER = "COUNTER"
LIMIT_PERIOD = "LIMIT_PERIOD"
MIN_INTERVAL = "MIN_INTERVAL"
HOURLY_QUOTA = "HOURLY_QUOTA"
MUTED = "MUTED"
NO_RECIPIENT = "NO_RECIPIENT"
INVALID_ADDRESS = "INVALID_ADDRESS"
NO_PUSH_TARGET = "NO_PUSH_TARGET"
CHANNEL_DISABLED = "CHANNEL_DISABLED"
NO_PHONE_NUMBER = "NO_PHONE_NUMBER"
"""An SMS recipient with no phone number in its user profile (issue #10 SMS, docs/decisions.md)."""
QUEUED = "QUEUED"
SENT = "SENT"
FAILED = "FAILED"
SUPPRESSED = "SUPPRESSED"

EMAIL = "EMAIL"
PUSH = "PUSH"
SMS = "SMS"
NO_CHANNEL = "-"
"""The channel of a log row for an occurrence dropped at intake (§2.5)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """A tagged recipient of an event's notifications (automations.md §1.2)."""

    kind: str
    metafield_id: int | None = None
    user_id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in RECIPIENT_KINDS:
            raise InvalidDefinition(f"recipient kind must be one of {sorted(RECIPIENT_KINDS)}")
        if (self.kind == METAFIELD) != (self.metafield_id is not None):
            raise InvalidDefinition("a METAFIELD recipient, and only it, names a metaFieldId")
        if (self.kind == USER) != (self.user_id is not None):
            raise InvalidDefinition("a USER recipient, and only it, names a userId")

    def to_json(self) -> dict[str, Any]:
        """The wire shape: ``{"kind": …}`` plus ``metaFieldId`` or ``userId``."""
        shape: dict[str, Any] = {"kind": self.kind}
        if self.metafield_id is not None:
            shape["metaFieldId"] = self.metafield_id
        if self.user_id is not None:
            shape["userId"] = self.user_id
        return shape


@dataclass(frozen=True, slots=True, kw_only=True)
class EventNotifications:
    """An event's notification settings; the default is off with no recipients."""

    enabled: bool = False
    email: tuple[Recipient, ...] = ()
    push: tuple[Recipient, ...] = ()
    sms: tuple[Recipient, ...] = ()
    """``SMS TO`` (§1.2): sent only when an SMS gateway is configured (§2.1)."""
    deliver_as_alert: bool = False
    limit_period_s: int = 0
    """0 = no Limit Period."""
    every_n: int = 1
    """Notify on every Nth occurrence; 1 notifies on each."""
    allow_user_management: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.limit_period_s <= MAX_LIMIT_PERIOD_S:
            raise InvalidDefinition(f"limitPeriodSec must be 0..{MAX_LIMIT_PERIOD_S}")
        if not 1 <= self.every_n <= MAX_EVERY_N:
            raise InvalidDefinition(f"everyN must be 1..{MAX_EVERY_N}")
        if max(len(self.email), len(self.push), len(self.sms)) > MAX_RECIPIENTS:
            raise InvalidDefinition(f"at most {MAX_RECIPIENTS} recipients per channel")

    @property
    def limits_key(self) -> str:
        """What the limit state depends on: editing either limit resets it (§1.4)."""
        return f"{self.every_n}:{self.limit_period_s}"

    def to_json(self) -> dict[str, Any]:
        """The read shape of ``notifications`` in an event definition."""
        return {
            "enabled": self.enabled,
            "email": [r.to_json() for r in self.email],
            "push": [r.to_json() for r in self.push],
            "sms": [r.to_json() for r in self.sms],
            "deliverAsAlert": self.deliver_as_alert,
            "limitPeriodSec": self.limit_period_s,
            "everyN": self.every_n,
            "allowUserManagement": self.allow_user_management,
        }


def parse_recipient(shape: object) -> Recipient:
    """A recipient from its wire shape.

    Raises:
        InvalidDefinition: not an object of a known kind with the right id.
    """
    if not isinstance(shape, Mapping):
        raise InvalidDefinition("a recipient is an object with a kind")
    unknown = set(shape) - {"kind", "metaFieldId", "userId"}
    if unknown:
        raise InvalidDefinition(f"unknown recipient field {sorted(unknown)[0]!r}")
    kind = shape.get("kind")
    metafield_id = _optional_int(shape.get("metaFieldId"), "metaFieldId")
    user_id = _optional_int(shape.get("userId"), "userId")
    if not isinstance(kind, str):
        raise InvalidDefinition("a recipient is an object with a kind")
    return Recipient(kind=kind, metafield_id=metafield_id, user_id=user_id)


def parse_notifications(shape: object) -> EventNotifications:
    """Notification settings from their wire shape; missing fields take their defaults.

    Raises:
        InvalidDefinition: a field has the wrong type or breaks a rule.
    """
    if shape is None:
        return EventNotifications()
    if not isinstance(shape, Mapping):
        raise InvalidDefinition("notifications must be an object")
    known = {
        "enabled",
        "email",
        "push",
        "sms",
        "deliverAsAlert",
        "limitPeriodSec",
        "everyN",
        "allowUserManagement",
    }
    unknown = set(shape) - known
    if unknown:
        raise InvalidDefinition(f"unknown notifications field {sorted(unknown)[0]!r}")
    return EventNotifications(
        enabled=_bool(shape.get("enabled", False), "enabled"),
        email=_recipients(shape.get("email", []), "email"),
        push=_recipients(shape.get("push", []), "push"),
        sms=_recipients(shape.get("sms", []), "sms"),
        deliver_as_alert=_bool(shape.get("deliverAsAlert", False), "deliverAsAlert"),
        limit_period_s=_int(shape.get("limitPeriodSec", 0), "limitPeriodSec"),
        every_n=_int(shape.get("everyN", 1), "everyN"),
        allow_user_management=_bool(shape.get("allowUserManagement", False), "allowUserManagement"),
    )


def _recipients(items: object, name: str) -> tuple[Recipient, ...]:
    if not isinstance(items, list):
        raise InvalidDefinition(f"{name} must be a list of recipients")
    return tuple(parse_recipient(item) for item in items)


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidDefinition(f"{name} must be true or false")
    return value


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidDefinition(f"{name} must be an integer")
    return value


def _optional_int(value: object, name: str) -> int | None:
    return None if value is None else _int(value, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitState:
    """The §1.4 state of one (device, event): occurrences counted since the last Nth, and when
    the running Limit Period started (None: none running)."""

    count: int = 0
    period_started_at: int | None = None


def limit_step(
    settings: EventNotifications, state: LimitState, *, now: int
) -> tuple[LimitState, str | None]:
    """Count one occurrence; return the new state and the suppression reason, or None to notify.

    The counter goes first and resets at N even when the Limit Period then suppresses (§1.4).
    The period's start is left for ``period_started`` once a message was actually queued.
    """
    count = state.count + 1
    if count < settings.every_n:
        return LimitState(count=count, period_started_at=state.period_started_at), COUNTER
    counted = LimitState(count=0, period_started_at=state.period_started_at)
    started = state.period_started_at
    in_period = started is not None and now - started < settings.limit_period_s * 1000
    return counted, (LIMIT_PERIOD if settings.limit_period_s and in_period else None)


def period_started(state: LimitState, *, now: int) -> LimitState:
    """The state once an occurrence queued at least one message: its Limit Period starts."""
    return LimitState(count=state.count, period_started_at=now)


def mask_address(address: str) -> str:
    """An e-mail address for logs and the notification log: ``j***@example.com`` (§5.4)."""
    local, at, domain = address.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str) -> str:
    """A phone number for logs and the notification log: ``+49***67`` (§5.4)."""
    digits = "".join(c for c in phone if c.isdigit() or c == "+")
    return f"{digits[:3]}***{digits[-2:]}" if len(digits) > 5 else "***"


def cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending with ``…`` when it was cut (§2.3)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
