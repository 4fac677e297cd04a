"""Blynk.Air shipments over the real services, bus and SQLite, in process (device-lifecycle.md
§1.6, §1.7): evaluation points, the OTA command, downloads, retries and limits, rollback,
mismatches, the shipment life and tenant isolation. Time is a hand clock."""

from collections.abc import AsyncIterator
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hand_clock import HandClock

from pinbase.domain.devices import HardwareInfo
from pinbase.domain.ids import OrgId
from pinbase.domain.shipments import Condition, DeviceStatus, Firmware, PreferredTime, TargetKind
from pinbase.runtime import running_services
from pinbase.services.bus import DeviceCommanded, DeviceInfoReported, TimelineEntryAdded
from pinbase.services.container import Services
from pinbase.services.demo import DEMO_SPEC
from pinbase.services.directory import BoundDevice
from pinbase.services.firmware import FirmwareNotFound, FirmwareRefused
from pinbase.services.provisioning import parse_spec, provision
from pinbase.services.scope import DeviceNotFound
from pinbase.services.shipments import ShipmentNotFound, ShipmentRefused, ShipmentRequest
from postgres import BACKENDS, empty_database

DAY_MS = 86_400_000
TAG = b"blnkinf\x00mcu\x001.1.0\x00fw-type\x00TMPLws\x00build\x00Jan  2 2026 10:00:00\x00\x00"


@dataclass(frozen=True)
class Caller:
    """A Platform API-like caller of one organization."""

    org_id: OrgId

    @property
    def scope(self) -> frozenset[OrgId]:
        return frozenset({self.org_id})

    def can_see(self, org_id: OrgId) -> bool:
        return org_id == self.org_id


@dataclass
class World:
    services: Services
    clock: HandClock
    devices: list[BoundDevice]
    other: BoundDevice
    commands: list[DeviceCommanded] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    @property
    def caller(self) -> Caller:
        return Caller(self.devices[0].device.org_id)

    async def upload(self, data: bytes = b"\x00" * 100 + TAG + b"\x01" * 100) -> Firmware:
        return await self.services.firmware.upload(self.caller, filename="ws.bin", data=data)

    async def ship(self, firmware: Firmware, **changes: object) -> int:
        values: dict[str, object] = {
            "name": "Rollout",
            "template_id": self.devices[0].template.id,
            "firmware_id": firmware.id,
            "target": TargetKind.TEMPLATE,
            "start": True,
            **changes,
        }
        request = ShipmentRequest(**values)  # type: ignore[arg-type]
        return (await self.services.shipments.create(self.caller, request)).id

    async def report(self, index: int, version: str, fw_type: str = "TMPLws") -> None:
        self.services.bus.publish(
            DeviceInfoReported(
                device_id=self.devices[index].device.id,
                version=version,
                build=None,
                fw_type=fw_type,
                library_version="1.3.2",
                template_code=None,
            )
        )
        await self.services.shipments.drain()

    async def status(self, shipment_id: int, index: int) -> tuple[DeviceStatus, str | None, int]:
        lines = await self.services.shipments.progress(self.caller, shipment_id)
        line = next(item for item in lines if item.device_id == self.devices[index].device.id)
        return line.row.status, line.row.reason, line.row.attempts

    def token_of(self, command: DeviceCommanded) -> tuple[int, str]:
        path, _, query = command.args[0].partition("?token=")
        return int(path.rsplit("/", 1)[1].split(".")[0]), query


@pytest.fixture(params=BACKENDS)
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """Two organizations of the demo template (three devices, one device), on each engine."""
    clock = HandClock(now=1_767_000_000_000)
    async with (
        empty_database(request, tmp_path) as empty,
        running_services(
            empty.model_copy(update={"ota_base_url": "http://ota.test:8080/"}), clock=clock
        ) as services,
    ):
        bound: list[BoundDevice] = []
        for name, count in (("Mine", 3), ("Theirs", 1)):
            spec = deepcopy(DEMO_SPEC)
            spec["organization"]["name"] = name
            spec["devices"] = [
                {"name": f"{name} {n}", "template": "Weather Station"} for n in range(count)
            ]
            created = await provision(
                services.store, parse_spec(spec), clock=clock, bus=services.bus
            )
            for device in created["devices"]:
                found = await services.directory.by_token(device["token"])
                assert found is not None
                bound.append(found)
        world = World(services=services, clock=clock, devices=bound[:3], other=bound[3])
        services.bus.subscribe(DeviceCommanded, world.commands.append)
        services.bus.subscribe(
            TimelineEntryAdded, lambda entry: world.events.append(entry.description or "")
        )
        yield world


async def test_online_device_gets_the_command_and_downloads_to_success(world: World) -> None:
    """Offline at start: Pending; reporting while online sends ``ota`` with the URL, size and
    tag; the GET and the whole file move it on; the new version is Success, logged."""
    services = world.services
    firmware = await world.upload()
    shipment_id = await world.ship(firmware)
    assert world.commands == []
    assert (await world.status(shipment_id, 0))[0] is DeviceStatus.PENDING
    await world.report(0, "1.0.0")
    assert world.commands == []  # not online: nothing to send to
    services.presence.mark_online(world.devices[0].device.id)
    await world.report(0, "1.0.0")
    [command] = world.commands
    assert command.kind == "ota"
    assert command.args[0].startswith(f"http://ota.test:8080/static/ota/{firmware.id}.bin?token=")
    assert command.args[1:] == (str(firmware.size), "TMPLws", "1.1.0", "Jan 02 2026 10:00:00")
    assert (await world.status(shipment_id, 0))[0] is DeviceStatus.REQUEST_SENT
    firmware_id, token = world.token_of(command)
    assert await services.shipments.begin_download(firmware_id + 1, token) is None
    assert await services.shipments.begin_download(firmware_id, "x" * 32) is None
    peek = await services.shipments.begin_download(firmware_id, token, mark=False)
    assert peek is not None
    assert (await world.status(shipment_id, 0))[0] is DeviceStatus.REQUEST_SENT
    download = await services.shipments.begin_download(firmware_id, token)
    assert download is not None
    assert services.firmware.path(firmware_id).read_bytes()[:3] == b"\x00\x00\x00"
    assert (await world.status(shipment_id, 0))[0] is DeviceStatus.FIRMWARE_REQUESTED
    await services.shipments.end_download(download, sent=firmware.size)
    assert (await world.status(shipment_id, 0))[0] is DeviceStatus.FIRMWARE_DOWNLOADED
    await services.shipments.end_download(download, sent=firmware.size)  # a repeat: no change
    world.clock.now += 30_000  # the device flashes and restarts
    await world.report(0, "1.1.0")
    assert (await world.status(shipment_id, 0))[0] is DeviceStatus.SUCCESS
    assert len(world.commands) == 1
    assert world.events == ["OTA started: Rollout", "OTA success: Rollout"]
    world.clock.now += 2000
    await world.report(0, "1.0.0")
    assert (await world.status(shipment_id, 0))[:2] == (
        DeviceStatus.ROLLBACK,
        "the device went back to version 1.0.0",
    )


async def test_failures_retry_until_the_limit_and_again_after_the_reset(world: World) -> None:
    """A broken download is an Upload failure; the next report sends again; three failures
    reach the limit; a day later it goes out again; Update now forgets the attempts."""
    services = world.services
    device_id = world.devices[0].device.id
    services.presence.mark_online(device_id)
    firmware = await world.upload()
    shipment_id = await world.ship(firmware, target=TargetKind.DEVICES, device_ids=(device_id,))
    for attempt in range(1, 4):
        await world.report(0, "1.0.0")
        firmware_id, token = world.token_of(world.commands[-1])
        download = await services.shipments.begin_download(firmware_id, token)
        assert download is not None
        await services.shipments.end_download(download, sent=10)
        status, reason, attempts = await world.status(shipment_id, 0)
        assert status is DeviceStatus.UPLOAD_FAILURE
        assert reason == f"the download broke off after 10 of {firmware.size} bytes"
        assert attempts == attempt
    await world.report(0, "1.0.0")
    assert (await world.status(shipment_id, 0))[0] is DeviceStatus.DOWNLOAD_LIMIT_REACHED
    assert len(world.commands) == 3
    world.clock.now += DAY_MS
    await world.report(0, "1.0.0")
    assert len(world.commands) == 4
    assert (await world.status(shipment_id, 0))[:3] == (DeviceStatus.REQUEST_SENT, None, 0)
    await world.report(0, "1.0.0")  # back without downloading
    status, reason, _ = await world.status(shipment_id, 0)
    assert status is DeviceStatus.UPLOAD_FAILURE
    assert reason == "the device came back with version 1.0.0 without downloading the file"
    assert len(world.commands) == 4  # not at once: at the next evaluation
    info = HardwareInfo(version="1.0.0", fw_type="TMPLws")
    await services.metadata.record_hardware(world.devices[0], info)
    await services.shipments.update_device(world.caller, shipment_id, device_id)
    assert len(world.commands) == 5
    assert (await world.status(shipment_id, 0))[2] == 0


async def test_type_and_version_mismatch(world: World) -> None:
    """Another firmware type, or a device already on the version: held with the reason."""
    for index in (0, 1):
        world.services.presence.mark_online(world.devices[index].device.id)
    shipment_id = await world.ship(await world.upload())
    await world.report(0, "1.0.0", fw_type="TMPLother")
    await world.report(1, "1.1.0")
    assert (await world.status(shipment_id, 0))[:2] == (
        DeviceStatus.TYPE_MISMATCH,
        "the file is for TMPLws, the device runs TMPLother",
    )
    assert (await world.status(shipment_id, 1))[0] is DeviceStatus.VERSION_MISMATCH
    assert world.commands == []


async def test_start_and_resume_evaluate_online_devices(world: World) -> None:
    """A draft sends nothing; Start sends to online devices from their last report; Pause holds,
    Resume sends; Cancel stops the links; a live shipment cannot be deleted."""
    services, shipments, caller = world.services, world.services.shipments, world.caller
    device = world.devices[0]
    await services.metadata.record_hardware(device, HardwareInfo(version="1.0.0", fw_type="TMPLws"))
    services.presence.mark_online(device.device.id)
    shipment_id = await world.ship(await world.upload(), start=False)
    assert world.commands == []
    await shipments.start_shipment(caller, shipment_id)
    assert [c.device_id for c in world.commands] == [device.device.id]
    await shipments.start_shipment(caller, shipment_id)  # already live: nothing new for it
    assert len(world.commands) == 1
    with pytest.raises(ShipmentRefused, match="cancel it first"):
        await shipments.delete(caller, shipment_id)
    assert (await shipments.pause(caller, shipment_id)).state.value == "paused"
    assert (await shipments.pause(caller, shipment_id)).state.value == "paused"
    with pytest.raises(ShipmentRefused, match="Only a live shipment"):
        await shipments.update_device(caller, shipment_id, device.device.id)
    await shipments.start_shipment(caller, shipment_id)
    await shipments.cancel(caller, shipment_id)
    firmware_id, token = world.token_of(world.commands[0])
    assert await shipments.begin_download(firmware_id, token) is None
    with pytest.raises(ShipmentRefused, match="cannot start again"):
        await shipments.start_shipment(caller, shipment_id)
    with pytest.raises(ShipmentRefused, match="cannot become paused"):
        await shipments.pause(caller, shipment_id)
    assert [s.name for s in await shipments.listing(caller)] == ["Rollout"]
    await shipments.delete(caller, shipment_id)
    with pytest.raises(ShipmentNotFound):
        await shipments.get(caller, shipment_id)


async def test_requests_that_break_a_rule_are_refused(world: World) -> None:
    """Duplicate name, bad name, another template's device, another tenant's firmware or
    device, an untagged file without confirmation, an empty or oversized upload, a missing tag."""
    shipments, caller = world.services.shipments, world.caller
    firmware = await world.upload()
    await world.ship(firmware)
    with pytest.raises(ShipmentRefused, match="exists already"):
        await world.ship(firmware)
    with pytest.raises(ShipmentRefused, match="Shipment name"):
        await world.ship(firmware, name=" ")
    with pytest.raises(DeviceNotFound):
        await world.ship(
            firmware, name="B", target=TargetKind.DEVICES, device_ids=(world.other.device.id,)
        )
    with pytest.raises(ShipmentRefused, match="at least one device"):
        await world.ship(firmware, name="C", target=TargetKind.DEVICES)
    with pytest.raises(ShipmentRefused, match="Tag 5 is not found"):
        await world.ship(firmware, name="D", target=TargetKind.TAG, tag_id=5)
    bare = await world.upload(b"no tag here")
    with pytest.raises(ShipmentRefused, match="no firmware info"):
        await world.ship(bare, name="E")
    await world.ship(bare, name="F", condition=Condition.ANY, confirm_without_info=True)
    theirs = Caller(world.other.device.org_id)
    with pytest.raises(FirmwareNotFound):
        await world.services.firmware.get(theirs, firmware.id)
    with pytest.raises(ShipmentNotFound):
        await shipments.get(theirs, 1)
    assert await shipments.listing(theirs) == []
    with pytest.raises(FirmwareRefused, match="empty"):
        await world.services.firmware.upload(caller, filename="x.bin", data=b"")
    with pytest.raises(FirmwareRefused, match="file name"):
        await world.services.firmware.upload(caller, filename="", data=b"1")
    world.services.firmware.max_bytes = 4
    with pytest.raises(FirmwareRefused, match="larger"):
        await world.services.firmware.upload(caller, filename="x.bin", data=b"12345")
    only = await world.ship(
        firmware,
        name="Only one",
        target=TargetKind.DEVICES,
        device_ids=(world.devices[1].device.id,),
    )
    with pytest.raises(ShipmentRefused, match="not part of the shipment"):
        await shipments.update_device(caller, only, world.devices[2].device.id)


async def test_a_preferred_time_window_sends_when_it_opens(world: World) -> None:
    """Night only: a report at noon leaves the device Pending; once the night window is open,
    the leader's check sends the file to the online device, once."""
    services = world.services
    device = world.devices[0]
    await services.metadata.record_hardware(device, HardwareInfo(version="1.0.0", fw_type="TMPLws"))
    services.presence.mark_online(device.device.id)
    noon = world.clock.now - world.clock.now % DAY_MS + 12 * 3_600_000
    world.clock.now = noon
    shipment_id = await world.ship(await world.upload(), preferred_time=PreferredTime.NIGHT)
    await world.report(0, "1.0.0")
    assert world.commands == []
    assert await services.shipments.open_windows() == 0
    assert (await world.status(shipment_id, 0))[0] is DeviceStatus.PENDING
    world.clock.now = noon + 13 * 3_600_000  # 01:00 the next night
    assert await services.shipments.open_windows() == 1
    assert [command.device_id for command in world.commands] == [device.device.id]
    assert await services.shipments.open_windows() == 0
