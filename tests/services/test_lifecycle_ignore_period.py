"""The template's offline ignore period (automations.md §1.6, data-model.md §4.4): the Offline
notification is due at disconnect + max(server wait, ignore period), and a reconnect before then
cancels it."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hand_clock import HandClock

from pinbase.domain.deliveries import Delivery, DeliveryKind
from pinbase.domain.ids import DeviceId
from pinbase.runtime import running_services
from pinbase.services.bus import PresenceChanged
from pinbase.services.container import Services
from pinbase.services.provisioning import parse_spec, provision
from pinbase.services.reactions.outbox import Outbox, Outcome, Sent
from pinbase.settings import Settings
from pinbase.testing import free_port

MINUTE = 60_000


def spec(period: int) -> dict[str, Any]:
    """Acme with one owned device whose template mails its owner when Offline."""
    return {
        "organization": {"name": "Acme"},
        "users": [{"email": "owner@acme.io", "name": "Olivia", "roleId": 1, "password": "pw"}],
        "templates": [
            {
                "name": "Freezer",
                "offlineIgnorePeriod": period,
                "events": [
                    {
                        "eventCode": "sys_offline",
                        "name": "Offline",
                        "notifications": {"enabled": True, "email": [{"kind": "DEVICE_OWNER"}]},
                    }
                ],
            }
        ],
        "devices": [{"name": "Freezer 1", "template": "Freezer", "owner": "owner@acme.io"}],
    }


@dataclass
class Recorder:
    """The EMAIL sender: keeps what it is handed."""

    received: list[Delivery] = field(default_factory=list)

    async def send(self, delivery: Delivery) -> Outcome:
        self.received.append(delivery)
        return Sent()


@dataclass
class World:
    """Running services on a hand clock, the device and the recording outbox."""

    services: Services
    clock: HandClock
    device: DeviceId
    outbox: Outbox
    recorder: Recorder

    async def presence(self, online: bool) -> None:
        """Publish a presence change now, let the lifecycle handle it and send what is due."""
        change = PresenceChanged(device_id=self.device, online=online, ts=self.clock.now)
        self.services.bus.publish(change)
        await self.services.lifecycle.drain()
        await self.outbox.run_due()

    async def later(self, ms: int) -> None:
        """Move the clock on and send what is due."""
        self.clock.now += ms
        await self.outbox.run_due()


async def world_with(tmp_path: Path, period: int) -> AsyncIterator[World]:
    clock = HandClock()
    settings = Settings(
        data_dir=tmp_path,
        database_url=None,
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_security="none",
        smtp_from_address="pinbase@acme.io",
        offline_notification_delay_s=60,
    )
    async with running_services(settings, clock=clock) as services:
        created = await provision(
            services.store, parse_spec(spec(period)), clock=services.clock, bus=services.bus
        )
        await services.outbox.stop()
        outbox = Outbox(services.store, clock)
        recorder = Recorder()
        outbox.register(DeliveryKind.EMAIL, recorder.send, on_final=services.notifications.on_final)
        device = DeviceId(created["devices"][0]["id"])
        yield World(services, clock, device, outbox, recorder)


@pytest.fixture
async def five_minutes(tmp_path: Path) -> AsyncIterator[World]:
    """A template with a 5-minute offline ignore period; the server waits 60 s."""
    async for world in world_with(tmp_path, 300):
        yield world


@pytest.fixture
async def ten_seconds(tmp_path: Path) -> AsyncIterator[World]:
    """A template with a 10-second offline ignore period; the server waits 60 s."""
    async for world in world_with(tmp_path, 10):
        yield world


async def test_the_offline_waits_for_the_ignore_period(five_minutes: World) -> None:
    """With a 5-minute period the Offline is not sent at +1 min but is at +5 min."""
    world = five_minutes
    await world.presence(True)
    await world.presence(False)
    await world.later(5 * MINUTE - 1)
    assert world.recorder.received == []
    await world.later(1)
    (offline,) = world.recorder.received
    assert offline.payload["subject"] == "Freezer 1 is Offline"


async def test_a_reconnect_within_the_period_cancels_the_offline(five_minutes: World) -> None:
    """A reconnect at +2 min cancels the Offline due at +5 min; nothing is ever sent."""
    world = five_minutes
    await world.presence(True)
    await world.presence(False)
    await world.later(2 * MINUTE)
    await world.presence(True)
    await world.later(10 * MINUTE)
    assert world.recorder.received == []


async def test_a_shorter_period_leaves_the_server_wait(ten_seconds: World) -> None:
    """A period shorter than the server's wait changes nothing: the Offline goes at +60 s."""
    world = ten_seconds
    await world.presence(True)
    await world.presence(False)
    await world.later(MINUTE - 1)
    assert world.recorder.received == []
    await world.later(1)
    assert len(world.recorder.received) == 1
