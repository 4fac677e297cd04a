"""End-user notification management of one event on one device (automations.md §1.5).

Only events whose settings allow it (``EventNotifications.allow_user_management``) take an
override. Per channel the user switches it on or off and picks recipients among registered users
(a ``USER``) or ``ALL_MEMBERS``; the picks are added to the template's hidden default recipients,
never replace them. A mute lasts a chosen period and ends by itself: while it lasts, occurrences
are still stored and counted, and their messages are logged ``MUTED`` (§2.4 step 4).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.notifications import (
    ALL_MEMBERS,
    EMAIL,
    MAX_RECIPIENTS,
    PUSH,
    USER,
    Recipient,
    parse_recipient,
)

USER_CHOSEN_KINDS = frozenset({USER, ALL_MEMBERS})
"""What an end user may pick: registered users, or every member of the device's organization
(§1.3); metafields and the device owner are the template's defaults, hidden from end users."""

MUTE_PERIODS_S = (3_600, 8 * 3_600, 86_400, 7 * 86_400)
"""The periods the console offers to mute for: 1 hour, 8 hours, 1 day, 1 week."""
MAX_MUTE_S = 30 * 86_400
"""A mute ends by itself (§1.5); a month bounds what an API caller may ask for."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelChoice:
    """One channel of an override: whether the user's picks get it, and the picks."""

    enabled: bool = False
    recipients: tuple[Recipient, ...] = ()

    def __post_init__(self) -> None:
        if any(r.kind not in USER_CHOSEN_KINDS for r in self.recipients):
            raise InvalidDefinition("a device's recipients are users or ALL_MEMBERS")
        if len(self.recipients) > MAX_RECIPIENTS:
            raise InvalidDefinition(f"at most {MAX_RECIPIENTS} recipients per channel")

    def to_json(self) -> dict[str, Any]:
        """``{"enabled": …, "recipients": [...]}``."""
        return {"enabled": self.enabled, "recipients": [r.to_json() for r in self.recipients]}


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceEventSettings:
    """A device's override of one event (the §1.5 recommendation's shape, SMS aside)."""

    email: ChannelChoice = field(default_factory=ChannelChoice)
    push: ChannelChoice = field(default_factory=ChannelChoice)
    muted_until: int | None = None
    """When the mute ends (ms); None or a past time: not muted."""

    def is_muted(self, now: int) -> bool:
        """Whether the event is muted on the device at ``now``."""
        return self.muted_until is not None and now < self.muted_until

    def chosen(self, channel: str) -> tuple[Recipient, ...]:
        """The user-chosen recipients of ``channel`` (none while it is switched off)."""
        choice = self.email if channel == EMAIL else self.push if channel == PUSH else None
        return choice.recipients if choice is not None and choice.enabled else ()

    def channels_json(self) -> dict[str, Any]:
        """The channels as stored: ``{"email": {...}, "push": {...}}``."""
        return {"email": self.email.to_json(), "push": self.push.to_json()}

    def to_json(self) -> dict[str, Any]:
        """The channels with ``mutedUntil`` (ms, or null)."""
        return {**self.channels_json(), "mutedUntil": self.muted_until}


def parse_channels(shape: object, *, muted_until: int | None = None) -> DeviceEventSettings:
    """An override from its stored channels JSON (``channels_json``).

    Raises:
        InvalidDefinition: not that shape.
    """
    if not isinstance(shape, Mapping):
        raise InvalidDefinition("channels must be an object")
    return DeviceEventSettings(
        email=_choice(shape.get("email")),
        push=_choice(shape.get("push")),
        muted_until=muted_until,
    )


def _choice(shape: object) -> ChannelChoice:
    if shape is None:
        return ChannelChoice()
    if not isinstance(shape, Mapping):
        raise InvalidDefinition("a channel is an object with enabled and recipients")
    enabled = shape.get("enabled", False)
    recipients = shape.get("recipients", [])
    if not isinstance(enabled, bool) or not isinstance(recipients, list):
        raise InvalidDefinition("a channel is an object with enabled and recipients")
    return ChannelChoice(
        enabled=enabled, recipients=tuple(parse_recipient(item) for item in recipients)
    )
