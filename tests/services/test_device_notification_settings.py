"""End-user notification management (automations.md §1.5) through its use cases and the planner,
on SQLite and PostgreSQL with a hand clock: only managed events are listed and changed; picks
add to the template's recipients; a mute logs ``MUTED`` while occurrences still count toward
the Event Counter; the use case's refusals."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hand_clock import HandClock
from test_notification_planner import browser_keys

from pinbase.domain.device_notifications import ChannelChoice
from pinbase.domain.devices import Device
from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.notifications import ALL_MEMBERS, USER, Recipient
from pinbase.runtime import running_services
from pinbase.services.container import Services
from pinbase.services.provisioning import parse_spec, provision
from pinbase.services.reactions.notification_settings import (
    EventNotManaged,
    ManagementNotAllowed,
)
from pinbase.services.scope import DeviceNotFound
from postgres import BACKENDS, empty_database

SPEC: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [
        {"email": "owner@acme.io", "name": "Olivia", "roleId": 1, "password": "pw"},
        {"email": "staff@acme.io", "name": "Sam", "roleId": 2, "password": "pw"},
    ],
    "templates": [
        {
            "name": "Freezer",
            "events": [
                {
                    "eventCode": "warm",
                    "name": "Too warm",
                    "notifications": {
                        "enabled": True,
                        "email": [{"kind": "DEVICE_OWNER"}],
                        "everyN": 2,
                        "allowUserManagement": True,
                    },
                },
                {
                    "eventCode": "door",
                    "notifications": {"enabled": True, "email": [{"kind": "DEVICE_OWNER"}]},
                },
            ],
        }
    ],
    "devices": [{"name": "Freezer 1", "template": "Freezer", "owner": "owner@acme.io"}],
}
SMTP = {
    "smtp_host": "127.0.0.1",
    "smtp_port": 2525,
    "smtp_security": "none",
    "smtp_from_address": "pinbase@acme.io",
}
OTHER: dict[str, Any] = {
    "organization": {"name": "Other"},
    "users": [{"email": "olga@other.io", "name": "Olga", "roleId": 1, "password": "pw"}],
}


@dataclass(frozen=True)
class Caller:
    """A caller of Acme that sees every device of its scope and controls them if ``controls``."""

    org_id: OrgId
    scope: frozenset[OrgId]
    controls: bool = True

    def can_see(self, org_id: OrgId) -> bool:
        """Whether ``org_id`` is in scope."""
        return org_id in self.scope

    def can_view_device(self, device: Device) -> bool:
        """Every device of the scope."""
        return self.can_see(device.org_id)

    def can_control_device(self, device: Device) -> bool:
        """Every device of the scope when ``controls``."""
        return self.controls and self.can_see(device.org_id)


@dataclass
class World:
    """Running services on a hand clock with Acme and Other provisioned."""

    services: Services
    clock: HandClock
    caller: Caller
    device: int
    users: dict[str, int]

    async def log(self, code: str) -> None:
        """Log an occurrence of ``code`` 10 s after the last step (past the 1 s and 5 s rules)."""
        self.clock.now += 10_000
        bound = self.services.directory.by_id(DeviceId(self.device))
        assert bound is not None
        event = bound.template.event(code)
        assert event is not None
        await self.services.events.log(bound.device, event, None)

    async def outcomes(self) -> list[tuple[str, str, str | None]]:
        """(channel, status, reason) of the device's log rows, oldest first."""
        rows = await self.services.notifications.log_page(self.caller.org_id, limit=500)
        return [(r.channel, r.status, r.reason) for r in reversed(rows)]

    def event_id(self, code: str) -> int:
        """The id of the template event ``code``."""
        bound = self.services.directory.by_id(DeviceId(self.device))
        assert bound is not None
        event = bound.template.event(code)
        assert event is not None
        return event.id


@pytest.fixture(params=BACKENDS)
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """Acme (a freezer owned by Olivia, Sam) and Other (Olga) on each backend."""
    clock = HandClock()
    async with empty_database(request, tmp_path) as plain:
        # SMTP configured so that e-mail is a channel; the server's outbox is stopped, so the
        # log rows stay as the planner wrote them.
        settings = plain.model_copy(update=SMTP)
        async with running_services(settings, clock=clock) as services:
            await services.outbox.stop()
            yield await _provisioned(services, clock)


async def _provisioned(services: Services, clock: HandClock) -> World:
    """Provision Acme and Other; Acme's users enable push in a browser."""
    created = await provision(
        services.store, parse_spec(SPEC), clock=services.clock, bus=services.bus
    )
    other = await provision(
        services.store, parse_spec(OTHER), clock=services.clock, bus=services.bus
    )
    org = OrgId(created["organization"]["id"])
    users = {u["email"]: int(u["id"]) for u in created["users"] + other["users"]}
    for user in created["users"]:
        p256dh, auth = browser_keys()
        await services.push_subscriptions.subscribe(
            int(user["id"]),
            endpoint=f"https://push.example/{user['id']}",
            p256dh=p256dh,
            auth=auth,
            user_agent=None,
        )
    return World(
        services=services,
        clock=clock,
        caller=Caller(org_id=org, scope=services.directory.subtree(org)),
        device=int(created["devices"][0]["id"]),
        users=users,
    )


async def test_view_lists_managed_events_and_the_organizations_users(world: World) -> None:
    """Only ``warm`` allows management; the pickable users are Acme's, not Other's."""
    view = await world.services.device_notifications.view(world.caller, world.device)
    assert [item.event.code for item in view.events] == ["warm"]
    assert {user.email for user in view.members} == {"owner@acme.io", "staff@acme.io"}
    assert view.may_change


async def test_picks_add_to_defaults_and_a_mute_still_counts(world: World) -> None:
    """Sam picked for e-mail and all members for push: an occurrence that notifies mails the
    owner and Sam and pushes both users. Muted, the Event Counter (every 2nd) still counts:
    the 2nd occurrence while muted is ``MUTED`` for each recipient, the 3rd ``COUNTER``; after
    the mute ends the 4th is queued again."""
    settings = world.services.device_notifications
    sam = Recipient(kind=USER, user_id=world.users["staff@acme.io"])
    email = ChannelChoice(enabled=True, recipients=(sam,))
    push = ChannelChoice(enabled=True, recipients=(Recipient(kind=ALL_MEMBERS),))
    warm = world.event_id("warm")
    saved = await settings.save(world.caller, world.device, warm, email=email, push=push)
    assert not saved.is_muted(world.clock.now)
    await world.log("warm")
    await world.log("warm")
    queued = await world.outcomes()
    assert queued[0] == ("-", "SUPPRESSED", "COUNTER")
    assert sorted(queued[1:]) == [("EMAIL", "QUEUED", None)] * 2 + [("PUSH", "QUEUED", None)] * 2
    await settings.save(world.caller, world.device, warm, email=email, push=push, mute_s=3_600)
    await world.log("warm")
    await world.log("warm")
    muted = (await world.outcomes())[len(queued) :]
    assert muted[0] == ("-", "SUPPRESSED", "COUNTER")
    assert (
        sorted(muted[1:])
        == [("EMAIL", "SUPPRESSED", "MUTED")] * 2 + [("PUSH", "SUPPRESSED", "MUTED")] * 2
    )
    world.clock.now += 3_600_000
    await world.log("warm")
    await world.log("warm")
    after = (await world.outcomes())[len(queued) + len(muted) :]
    assert {status for _, status, _ in after[1:]} == {"QUEUED"}


async def test_switched_off_picks_leave_the_template_defaults(world: World) -> None:
    """With the e-mail picks switched off only the owner (the template's default) is mailed."""
    sam = Recipient(kind=USER, user_id=world.users["staff@acme.io"])
    await world.services.device_notifications.save(
        world.caller,
        world.device,
        world.event_id("warm"),
        email=ChannelChoice(enabled=False, recipients=(sam,)),
        push=ChannelChoice(),
    )
    await world.log("warm")
    await world.log("warm")
    assert (await world.outcomes())[1:] == [("EMAIL", "QUEUED", None)]


async def test_refusals(world: World) -> None:
    """A viewer without control, an unmanaged event, a user of another organization, a mute out
    of range and another organization's caller are each refused; nothing is stored."""
    settings = world.services.device_notifications
    warm, door = world.event_id("warm"), world.event_id("door")
    off = ChannelChoice()
    viewer = Caller(org_id=world.caller.org_id, scope=world.caller.scope, controls=False)
    with pytest.raises(ManagementNotAllowed):
        await settings.save(viewer, world.device, warm, email=off, push=off)
    assert not (await settings.view(viewer, world.device)).may_change
    with pytest.raises(EventNotManaged):
        await settings.save(world.caller, world.device, door, email=off, push=off)
    olga = Recipient(kind=USER, user_id=world.users["olga@other.io"])
    with pytest.raises(InvalidDefinition, match="not a member"):
        await settings.save(
            world.caller,
            world.device,
            warm,
            email=ChannelChoice(enabled=True, recipients=(olga,)),
            push=ChannelChoice(),
        )
    for seconds in (-1, 31 * 86_400):
        with pytest.raises(InvalidDefinition, match="a mute lasts"):
            await settings.save(
                world.caller, world.device, warm, email=off, push=off, mute_s=seconds
            )
    stranger = Caller(org_id=OrgId(0), scope=frozenset())
    with pytest.raises(DeviceNotFound):
        await settings.view(stranger, world.device)
    async with world.services.store.transaction() as tx:
        assert await tx.list_device_event_settings(DeviceId(world.device)) == {}
