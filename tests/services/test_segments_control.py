"""Device segments (``services.segments``) and the Control Segment action (automations.md §3.5)
over the real write pipeline, on SQLite and PostgreSQL, with a hand clock: the name and count
limits, scope (a sub-organization's devices may join, another organization's never), and a run
that writes every device of the segment at run time, logged per device."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hand_clock import HandClock

from editors import Editor
from pinbase.domain.automations import InvalidAutomation
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.runtime import running_services
from pinbase.services.console_devices import StatusFilter
from pinbase.services.container import Services
from pinbase.services.oauth import Caller
from pinbase.services.provisioning import ProvisioningError, parse_spec, provision
from pinbase.services.segments import InvalidSegment, SegmentInUse, SegmentNotFound
from pinbase.settings import Settings
from pinbase.storage.users import NewUser
from postgres import BACKENDS, empty_database

RELAY = {"id": 2, "label": "Relay", "pin": 2, "type": "INT", "min": 0, "max": 1}
SPEC: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "templates": [
        {
            "name": "Pump",
            "datastreams": [{"id": 1, "label": "Level", "pin": 1, "type": "DOUBLE"}, RELAY],
        },
        {
            # Another template whose "relay" is on another pin: merged by name (§3.2).
            "name": "Valve",
            "datastreams": [{**RELAY, "id": 7, "pin": 9, "label": "relay"}],
        },
        {"name": "Meter", "datastreams": [{"id": 1, "label": "Level", "pin": 1, "type": "DOUBLE"}]},
    ],
    "devices": [
        {"name": "Pump 1", "template": "Pump"},
        {"name": "Valve 1", "template": "Valve"},
        {"name": "Meter 1", "template": "Meter"},
        {"name": "North pump", "template": "Pump"},
    ],
}
OTHER: dict[str, Any] = {
    "organization": {"name": "Other"},
    "templates": [{"name": "Pump", "datastreams": [RELAY]}],
    "devices": [{"name": "Their pump", "template": "Pump"}],
}


@pytest.fixture(params=BACKENDS)
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings naming an empty database on each engine."""
    async with empty_database(request, tmp_path) as settings:
        yield settings


@dataclass
class World:
    services: Services
    acme: Editor
    other: Editor
    devices: dict[str, int]


async def setup(services: Services) -> World:
    """Acme (with a sub-organization holding one more pump) and Other."""
    acme = await provision(services.store, parse_spec(SPEC), clock=services.clock, bus=services.bus)
    acme_org = OrgId(acme["organization"]["id"])
    other = await provision(
        services.store, parse_spec(OTHER), clock=services.clock, bus=services.bus
    )
    other_org = OrgId(other["organization"]["id"])
    devices = {d["name"]: int(d["id"]) for part in (acme, other) for d in part["devices"]}
    root = Caller(client_id="t", org_id=acme_org, scope=services.directory.subtree(acme_org))
    north = await services.organizations.create(
        root,
        parent_id=None,
        name="Acme North",
        description=None,
        type=None,
        tz=None,
        unit_system=None,
        phone_number=None,
    )
    root = Caller(client_id="t", org_id=acme_org, scope=services.directory.subtree(acme_org))
    await services.device_admin.transfer(
        root, devices["North pump"], new_user_id=None, new_org_id=north.id
    )

    def editor(org: OrgId) -> Editor:
        return Editor(org_id=org, scope=services.directory.subtree(org))

    return World(services, editor(acme_org), editor(other_org), devices)


def relay_of(services: Services, device_id: int) -> object:
    """The current value of the device's datastream labelled Relay (any case), or None."""
    bound = services.directory.by_id(DeviceId(device_id))
    assert bound is not None
    [datastream] = [d for d in bound.template.datastreams if d.label.lower() == "relay"]
    point = services.telemetry.current(bound.device.id, datastream)
    return None if point is None else point.value


def scene(segment_id: int, value: object = 1) -> dict[str, Any]:
    """A scene setting Relay on every device of the segment."""
    return {
        "name": "All on",
        "condition": {"kind": "SCENE"},
        "actions": [
            {
                "kind": "CONTROL_SEGMENT",
                "segmentId": segment_id,
                "properties": [{"dataStream": "Relay", "value": value}],
            }
        ],
    }


async def test_segment_rules_and_scope(settings: Settings) -> None:
    """Names are 1..40 characters and unique in the organization; 50 at most; a
    sub-organization's device may join, another organization's may not, and another
    organization neither sees nor changes the segment."""
    async with running_services(settings, clock=HandClock()) as services:
        world = await setup(services)
        segments, acme, other = services.segments, world.acme, world.other
        mine = [world.devices["Pump 1"], world.devices["North pump"]]
        pumps = await segments.create(acme, "  Pumps ", device_ids=mine)
        assert (pumps.name, pumps.device_ids) == ("Pumps", tuple(sorted(mine)))
        for bad in ("", "x" * 41, "tab\there"):
            with pytest.raises(InvalidSegment):
                await segments.create(acme, bad)
        with pytest.raises(InvalidSegment, match="exists already"):
            await segments.create(acme, "pumps")
        with pytest.raises(InvalidSegment, match="not found"):
            await segments.create(acme, "Theirs", device_ids=[world.devices["Their pump"]])
        with pytest.raises(InvalidSegment, match="not found"):
            await segments.add_devices(acme, pumps.id, [world.devices["Their pump"]])
        for number in range(49):
            await segments.create(acme, f"S{number}")
        with pytest.raises(InvalidSegment, match="Segments limit reached"):
            await segments.create(acme, "One too many")
        assert await segments.in_org(other) == []
        for attempt in (
            segments.get(other, pumps.id),
            segments.rename(other, pumps.id, "Mine"),
            segments.delete(other, pumps.id),
            segments.add_devices(other, pumps.id, [world.devices["Their pump"]]),
        ):
            with pytest.raises(SegmentNotFound):
                await attempt
        renamed = await segments.rename(acme, pumps.id, "Wells")
        assert renamed.name == "Wells"
        assert await segments.remove_devices(acme, pumps.id, [world.devices["Pump 1"]]) == 1
        await segments.delete(acme, pumps.id)
        with pytest.raises(SegmentNotFound):
            await segments.get(acme, pumps.id)


async def test_control_segment_writes_every_device_of_the_segment_at_run_time(
    settings: Settings,
) -> None:
    """The relay of every device in the segment (the sub-organization's too, the merged
    "relay" of another template) is switched on; a device added after saving is acted on; a
    device without the property is logged SKIPPED; the log lists each device; the actions log
    says Automation."""
    async with running_services(settings, clock=HandClock()) as services:
        world = await setup(services)
        acme, devices = world.acme, world.devices
        segment = await services.segments.create(
            acme, "Field", device_ids=[devices["Pump 1"], devices["Meter 1"]]
        )
        automation = await services.automations.create(acme, scene(segment.id))
        await services.segments.add_devices(
            acme, segment.id, [devices["Valve 1"], devices["North pump"]]
        )
        await services.automations.execute(acme, automation.id)
        for name in ("Pump 1", "Valve 1", "North pump"):
            assert relay_of(services, devices[name]) == 1, name
        [log] = await services.automations.runs(acme, automation.id)
        assert log.run.status == "OK"
        rows = [(a.type, a.device_id, a.status, a.reason, a.value) for a in log.actions]
        assert rows[0] == ("CONTROL_SEGMENT", None, "OK", None, "3 of 4 devices")
        assert sorted(rows[1:], key=lambda r: r[1] or 0) == sorted(
            [
                ("CONTROL_SEGMENT", devices["Pump 1"], "OK", None, "1"),
                ("CONTROL_SEGMENT", devices["Valve 1"], "OK", None, "1"),
                ("CONTROL_SEGMENT", devices["North pump"], "OK", None, "1"),
                ("CONTROL_SEGMENT", devices["Meter 1"], "SKIPPED", "NO_SUCH_DATASTREAM", None),
            ],
            key=lambda r: r[1] or 0,
        )
        north = services.directory.by_id(DeviceId(devices["North pump"]))
        assert north is not None
        assert north.device.org_id != acme.org_id
        async with services.store.transaction() as tx:
            entries = await tx.read_device_actions_page(
                DeviceId(devices["Valve 1"]), offset=0, limit=10
            )
        assert [(e.client, e.trigger_name) for e in entries] == [("AUTOMATION", "All on")]


async def test_control_segment_is_checked_on_save_and_isolated(settings: Settings) -> None:
    """Saving refuses another organization's segment, a property no device has and a value that
    is not a number; the segment cannot be deleted while the automation acts on it, and one gone
    all the same fails the run SEGMENT_NOT_FOUND; another organization's devices are never
    written."""
    async with running_services(settings, clock=HandClock()) as services:
        world = await setup(services)
        acme, other, devices = world.acme, world.other, world.devices
        theirs = await services.segments.create(other, "Theirs", device_ids=[devices["Their pump"]])
        mine = await services.segments.create(acme, "Mine", device_ids=[devices["Pump 1"]])
        with pytest.raises(InvalidAutomation, match=r"segment \d+ is not found"):
            await services.automations.create(acme, scene(theirs.id))
        bad = scene(mine.id)
        bad["actions"][0]["properties"] = [{"dataStream": "Speed", "value": 1}]
        with pytest.raises(InvalidAutomation, match="not a datastream"):
            await services.automations.create(acme, bad)
        with pytest.raises(InvalidAutomation, match="property 'Relay'"):
            await services.automations.create(acme, scene(mine.id, value="on"))
        automation = await services.automations.create(acme, scene(mine.id))
        with pytest.raises(SegmentInUse, match="'All on' acts on this segment"):
            await services.segments.delete(acme, mine.id)
        async with services.store.transaction() as tx:  # gone another way (its organization's)
            await tx.delete_segment(mine.id)
        await services.automations.execute(acme, automation.id)
        [log] = await services.automations.runs(acme, automation.id)
        assert [(a.status, a.reason) for a in log.actions] == [("FAILED", "SEGMENT_NOT_FOUND")]
        assert relay_of(services, devices["Their pump"]) is None
        assert relay_of(services, devices["Pump 1"]) is None


async def test_a_provisioning_file_cannot_name_a_segment(settings: Settings) -> None:
    """A provisioned automation naming a segment (of another organization, or any: a new
    organization has none) is refused."""
    async with running_services(settings, clock=HandClock()) as services:
        world = await setup(services)
        theirs = await services.segments.create(
            world.other, "Theirs", device_ids=[world.devices["Their pump"]]
        )
        spec = {
            **OTHER,
            "organization": {"name": "Third"},
            "automations": [scene(theirs.id)],
        }
        with pytest.raises(ProvisioningError, match="segment"):
            await provision(
                services.store, parse_spec(spec), clock=services.clock, bus=services.bus
            )


async def test_a_dynamic_segment_follows_its_saved_search(settings: Settings) -> None:
    """A segment saved from the search "pump" holds the devices the search keeps when asked
    (a device created later included), refuses picked devices, and Control Segment switches
    them all."""
    async with running_services(settings, clock=HandClock()) as services:
        world = await setup(services)
        acme, devices = world.acme, world.devices
        saved = await services.segments.save_filters(
            acme, "Pumps", query=" pump ", status=StatusFilter.ANY
        )
        assert (saved.is_dynamic, saved.query, saved.device_ids) == (True, "pump", ())
        with pytest.raises(InvalidSegment, match="dynamic"):
            await services.segments.add_devices(acme, saved.id, [devices["Valve 1"]])
        with pytest.raises(InvalidSegment, match="dynamic"):
            await services.segments.remove_devices(acme, saved.id, [devices["Pump 1"]])
        root = Caller(client_id="t", org_id=acme.org_id, scope=acme.scope)
        async with services.store.transaction() as tx:
            owner = await tx.add_user(
                NewUser(
                    org_id=acme.org_id, name="O", email="o@acme.test", role_id=1, status="Active"
                ),
                created_at=0,
            )
        later = await services.device_admin.create(
            root,
            org_id=None,
            template_code=pump_code(services, acme),
            name="Pump 2",
            owner_id=owner.id,
        )
        members = await services.segments.members(saved, org_id=acme.org_id)
        assert {b.device.name for b in members} == {"Pump 1", "North pump", "Pump 2"}
        automation = await services.automations.create(acme, scene(saved.id))
        await services.automations.execute(acme, automation.id)
        for device_id in (devices["Pump 1"], devices["North pump"], int(later.device.id)):
            assert relay_of(services, device_id) == 1
        assert relay_of(services, devices["Valve 1"]) is None


def pump_code(services: Services, editor: Editor) -> str:
    """The template code of Acme's Pump."""
    [template] = [t for t in services.directory.templates_in([editor.org_id]) if t.name == "Pump"]
    return template.code
