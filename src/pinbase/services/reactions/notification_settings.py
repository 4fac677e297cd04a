"""End-user notification management per device (automations.md §1.5): the use cases behind the
console's Notifications control on the device page.

Only events whose settings allow user management are listed and may be changed. Whoever may
control a device (Admin and Staff for the devices in scope, a User for its own) may change its
overrides: pick users of the device's organization or ``ALL_MEMBERS`` per channel, switch a
channel's picks on or off, mute for a period or unmute. The planner reads the override in the
occurrence's transaction (``Notifications._plan``), so a change applies to the next occurrence.
"""

from dataclasses import dataclass, replace

from pinbase.domain.device_notifications import (
    MAX_MUTE_S,
    ChannelChoice,
    DeviceEventSettings,
)
from pinbase.domain.errors import InvalidDefinition, PinbaseError
from pinbase.domain.notifications import USER
from pinbase.domain.templates import TemplateEvent
from pinbase.services.clock import Clock
from pinbase.services.datastream_values import Controller
from pinbase.services.directory import BoundDevice, Directory
from pinbase.services.reactions.recipients import MAX_MEMBERS
from pinbase.services.scope import DeviceNotFound, device_in_scope
from pinbase.storage.base import Store
from pinbase.storage.users import StoredUser


class EventNotManaged(PinbaseError):
    """The device's template has no event with that id whose notifications users may manage."""


class ManagementNotAllowed(PinbaseError):
    """The caller may see the device but not change its notifications (it may not control it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagedEvent:
    """An event users may manage, with the device's override (defaults when none is stored)."""

    event: TemplateEvent
    settings: DeviceEventSettings


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceNotificationView:
    """What the device's notification settings show: the events, and who may be picked."""

    bound: BoundDevice
    events: list[ManagedEvent]
    members: list[StoredUser]
    """The users of the device's organization, the recipients a user may pick."""
    may_change: bool


class DeviceNotificationSettings:
    """Reads and changes a device's per-event notification overrides."""

    def __init__(self, *, store: Store, directory: Directory, clock: Clock) -> None:
        self._store = store
        self._directory = directory
        self._clock = clock

    async def view(self, caller: Controller, device_id: int) -> DeviceNotificationView:
        """The device's manageable events with their overrides.

        Raises:
            DeviceNotFound: also for a device the caller may not see.
        """
        bound = await self._visible(caller, device_id)
        async with self._store.transaction() as tx:
            stored = await tx.list_device_event_settings(bound.device.id)
            members = await tx.list_users([bound.device.org_id], offset=0, limit=MAX_MEMBERS)
        events = [
            ManagedEvent(event=event, settings=stored.get(event.id, DeviceEventSettings()))
            for event in managed_events(bound)
        ]
        return DeviceNotificationView(
            bound=bound,
            events=events,
            members=members,
            may_change=caller.can_control_device(bound.device),
        )

    async def save(
        self,
        caller: Controller,
        device_id: int,
        event_id: int,
        *,
        email: ChannelChoice,
        push: ChannelChoice,
        mute_s: int | None = None,
    ) -> DeviceEventSettings:
        """Store the device's override of one event; ``mute_s`` None keeps the mute as it is,
        0 unmutes, a positive number mutes for that many seconds from now.

        Raises:
            DeviceNotFound, ManagementNotAllowed, EventNotManaged,
            InvalidDefinition: a picked user is not a member of the device's organization, or
                the mute period is out of range.
        """
        bound = await self._visible(caller, device_id)
        if not caller.can_control_device(bound.device):
            raise ManagementNotAllowed(device_id)
        if all(event.id != event_id for event in managed_events(bound)):
            raise EventNotManaged(event_id)
        if mute_s is not None and not 0 <= mute_s <= MAX_MUTE_S:
            raise InvalidDefinition(f"a mute lasts 0..{MAX_MUTE_S} seconds")
        now = self._clock()
        org_id = bound.device.org_id
        async with self._store.transaction() as tx:
            for recipient in email.recipients + push.recipients:
                if recipient.kind == USER and recipient.user_id is not None:
                    user = await tx.find_user(recipient.user_id)
                    if user is None or user.org_id != org_id:
                        raise InvalidDefinition(
                            f"user {recipient.user_id} is not a member of the device's organization"
                        )
            current = await tx.load_device_event_settings(bound.device.id, event_id)
            muted_until = None if current is None else current.muted_until
            if mute_s is not None:
                muted_until = now + mute_s * 1000 if mute_s else None
            if muted_until is not None and muted_until <= now:
                muted_until = None
            settings = replace(
                current or DeviceEventSettings(), email=email, push=push, muted_until=muted_until
            )
            await tx.save_device_event_settings(bound.device.id, event_id, settings, ts=now)
        return settings

    async def _visible(self, caller: Controller, device_id: int) -> BoundDevice:
        bound = await device_in_scope(self._directory, caller, device_id)
        if not caller.can_view_device(bound.device):
            raise DeviceNotFound(device_id)
        return bound


def managed_events(bound: BoundDevice) -> list[TemplateEvent]:
    """The device's template events whose notifications end users may manage (§1.5)."""
    return [
        event
        for event in bound.template.events
        if event.notifications.enabled and event.notifications.allow_user_management
    ]
