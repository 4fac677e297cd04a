"""The automation engine and use cases (``services.reactions``) over the real write pipeline, on
SQLite and PostgreSQL, with a hand clock: the §3.4 vectors end to end, the Limit Period, a
Europe/Berlin schedule in the DST gap, a WAIT that survives a restart, disable, scope, limits,
and an automation switched off when its device goes."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hand_clock import HandClock

from editors import Editor
from pinbase.domain.automations import InvalidAutomation
from pinbase.domain.datastream_automation import AutomationSetting, AutomationType
from pinbase.domain.datastreams import DataType
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.pins import Pin, PinType
from pinbase.domain.users import ADMIN
from pinbase.runtime import running_services
from pinbase.services.bus import ValuesChanged
from pinbase.services.console_caller import ConsoleCaller, permissions_of
from pinbase.services.container import Services
from pinbase.services.oauth import Caller
from pinbase.services.provisioning import ProvisioningError, parse_spec, provision
from pinbase.services.reactions.automations import (
    AutomationCaller,
    AutomationNotFound,
    NotAScene,
    to_json,
)
from pinbase.services.template_settings import DatastreamSettings
from pinbase.settings import Settings
from postgres import BACKENDS, empty_database

SPEC = {
    "organization": {"name": "Acme"},
    "templates": [
        {
            "name": "Boiler",
            "datastreams": [
                {"id": 1, "label": "Temperature", "pin": 1, "type": "DOUBLE", "decimals": "#.0"},
                {"id": 2, "label": "Relay", "pin": 2, "type": "INT", "min": 0, "max": 1},
            ],
            "events": [{"eventCode": "hot", "name": "Too hot"}],
        }
    ],
    "devices": [{"name": "Cellar", "template": "Boiler"}, {"name": "Attic", "template": "Boiler"}],
}
MINUTE = 60_000


@pytest.fixture(params=BACKENDS)
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings naming an empty database on each engine."""
    async with empty_database(request, tmp_path) as settings:
        yield settings


@dataclass
class World:
    """What ``SPEC`` created, with an editor of its organization."""

    editor: Editor
    cellar: int
    attic: int


async def setup(services: Services) -> World:
    """Provision ``SPEC`` into the running services."""
    created = await provision(
        services.store, parse_spec(SPEC), clock=services.clock, bus=services.bus
    )
    org = OrgId(created["organization"]["id"])
    editor = Editor(user_id=7, org_id=org, scope=services.directory.subtree(org))
    return World(
        editor=editor, cellar=created["devices"][0]["id"], attic=created["devices"][1]["id"]
    )


async def write(
    services: Services, device_id: int, values: dict[int, Any], origin: str = "platform_api"
) -> None:
    """Write values through the value pipeline as an observed writer, and let rules settle."""
    bound = services.directory.by_id(DeviceId(device_id))
    assert bound is not None
    writes = [(bound.template.datastream(ds), value) for ds, value in values.items()]
    await services.telemetry.record(bound.device, writes, origin=origin)
    await services.automations._engine.settle()


def relay(services: Services, device_id: int) -> object:
    """The current value of a device's Relay (V2)."""
    bound = services.directory.by_id(DeviceId(device_id))
    assert bound is not None
    point = services.telemetry.current(bound.device.id, bound.template.datastream(2))
    return None if point is None else point.value


def when(world: World, operator: str, operand: str | None = None, **extra: Any) -> dict[str, Any]:
    """A Device State automation on the cellar's temperature that sets the attic relay to 1."""
    condition: dict[str, Any] = {
        "kind": "DEVICE_STATE",
        "deviceId": world.cellar,
        "dataStreamId": 1,
        "operator": operator,
    }
    if operand is not None:
        condition["operand"] = operand
    return {
        "name": f"{operator} {operand}",
        "condition": condition,
        "actions": [
            {"kind": "CONTROL_DEVICE", "deviceId": world.attic, "dataStreamId": 2, "value": "1"}
        ],
        **extra,
    }


async def statuses(
    services: Services, world: World, automation_id: int
) -> list[tuple[str, str | None]]:
    """(status, reason) of each run, oldest first."""
    runs = await services.automations.runs(world.editor, automation_id)
    return [(log.run.status, log.run.reason) for log in reversed(runs)]


async def test_gt_vector_switches_the_relay_edge_triggered(settings: Settings) -> None:
    """GT 40 over 39, 41, 45, 38, 42 runs twice; each run writes the relay, logged OK."""
    async with running_services(settings, clock=HandClock()) as services:
        world = await setup(services)
        automation = await services.automations.create(world.editor, when(world, "GT", "40"))
        seen: list[ValuesChanged] = []
        services.bus.subscribe(ValuesChanged, seen.append)
        for value in (39.0, 41.0, 45.0, 38.0, 42.0):
            await write(services, world.attic, {2: 0})
            await write(services, world.cellar, {1: value})
            if value == 41.0:
                assert relay(services, world.attic) == 1
        assert await statuses(services, world, automation.id) == [("OK", None), ("OK", None)]
        [latest, _] = await services.automations.runs(world.editor, automation.id)
        assert latest.run.trigger_value == "42.0"
        assert [(a.type, a.status, a.value) for a in latest.actions] == [
            ("CONTROL_DEVICE", "OK", "1")
        ]


async def test_a_burst_of_writes_runs_each_rule_in_order_and_saves_its_state(
    settings: Settings,
) -> None:
    """Writes queued faster than rules run: each rule runs once per firing, in write order,
    logged in full, and its arming and last firing are stored."""
    clock = HandClock()
    async with running_services(settings, clock=clock) as services:
        world = await setup(services)
        high = await services.automations.create(world.editor, when(world, "GT", "40"))
        low = await services.automations.create(world.editor, when(world, "LT", "40"))
        bound = services.directory.by_id(DeviceId(world.cellar))
        assert bound is not None
        temperature = bound.template.datastream(1)
        for value in (41.0, 39.0, 42.0, 38.0, 43.0):
            clock.now += 1_000
            await services.telemetry.record(
                bound.device, [(temperature, value)], origin="platform_api"
            )
        await services.automations._engine.settle()
        for automation, fired in ((high, ["41.0", "42.0", "43.0"]), (low, ["39.0", "38.0"])):
            logs = await services.automations.runs(world.editor, automation.id)
            assert [log.run.trigger_value for log in reversed(logs)] == fired
            assert {(log.run.status, len(log.actions)) for log in logs} == {("OK", 1)}
        async with services.store.transaction() as tx:
            stored_high = await tx.find_automation(high.id)
            stored_low = await tx.find_automation(low.id)
        assert stored_high is not None
        assert stored_low is not None
        assert (stored_high.armed, stored_high.last_fired_at) == (False, clock.now)
        assert (stored_low.armed, stored_low.last_fired_at) == (True, clock.now - 1_000)


async def test_limit_period_skips_and_automation_writes_are_not_observed(
    settings: Settings,
) -> None:
    """GT 40 with a 1 h limit: the second firing within the hour is skipped and logged; an
    automation's own write neither fires nor re-arms a rule."""
    clock = HandClock()
    async with running_services(settings, clock=clock) as services:
        world = await setup(services)
        automation = await services.automations.create(
            world.editor, when(world, "GT", "40", limitPeriodSec=3600)
        )
        start = clock.now
        for value, minutes in ((41.0, 0), (39.0, 10), (41.0, 20), (39.0, 65), (41.0, 70)):
            clock.now = start + minutes * MINUTE
            await write(services, world.cellar, {1: value})
        # An automation write of a low value would re-arm the rule if it were observed.
        await write(services, world.cellar, {1: 10.0}, origin="automation")
        await write(services, world.cellar, {1: 50.0})
        assert await statuses(services, world, automation.id) == [
            ("OK", None),
            ("SKIPPED", "AUTOMATION_LIMIT_PERIOD"),
            ("OK", None),
        ]


async def test_a_schedule_in_the_dst_gap_runs_once_across_a_restart(settings: Settings) -> None:
    """A Europe/Berlin 02:30 schedule on 2026-03-29 runs once, at 03:00 CEST, and a restart
    after it does not run it again."""
    clock = HandClock(now=int(datetime(2026, 3, 28, 12, tzinfo=UTC).timestamp() * 1000))
    schedule = {
        "kind": "SCHEDULE",
        "time": "02:30",
        "tz": "Europe/Berlin",
        "repeat": {"type": "ONCE", "date": "2026-03-29"},
    }
    async with running_services(settings, clock=clock) as services:
        world = await setup(services)
        body = when(world, "IS_ANY") | {"condition": schedule}
        automation = await services.automations.create(world.editor, body)
        clock.now = int(datetime(2026, 3, 29, 0, 59, tzinfo=UTC).timestamp() * 1000)
        await services.automations._engine.run_due()
        assert relay(services, world.attic) is None
        clock.now = int(datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp() * 1000)
        await services.automations._engine.run_due()
        await services.automations._engine.run_due()
        assert relay(services, world.attic) == 1
    clock.now += 5 * MINUTE
    async with running_services(replace_catchup(settings, 3600), clock=clock) as services:
        await services.automations._engine.run_due()
        assert await statuses(services, world, automation.id) == [("OK", None)]


def replace_catchup(settings: Settings, seconds: int) -> Settings:
    """``settings`` with a catch-up window."""
    return settings.model_copy(update={"automations_catchup_window_s": seconds})


async def test_a_wait_continuation_survives_a_restart(settings: Settings) -> None:
    """A scene sets the relay, waits 60 s, resets it: the reset runs after a restart."""
    clock = HandClock()
    scene: dict[str, Any] = {
        "name": "Pulse",
        "condition": {"kind": "SCENE"},
        "actions": [],
    }
    async with running_services(settings, clock=clock) as services:
        world = await setup(services)
        set_relay = {"kind": "CONTROL_DEVICE", "deviceId": world.attic, "dataStreamId": 2}
        scene["actions"] = [
            set_relay | {"value": "1"},
            {"kind": "WAIT", "seconds": 60},
            set_relay | {"value": 0},
        ]
        automation = await services.automations.create(world.editor, scene)
        await services.automations.execute(world.editor, automation.id)
        assert relay(services, world.attic) == 1
        assert await statuses(services, world, automation.id) == [("RUNNING", None)]
    clock.now += 61_000
    async with running_services(settings, clock=clock) as services:
        await services.automations._engine.run_due()
        assert relay(services, world.attic) == 0
        [log] = await services.automations.runs(world.editor, automation.id)
        assert log.run.status == "OK"
        assert [a.type for a in log.actions] == ["CONTROL_DEVICE", "WAIT", "CONTROL_DEVICE"]


async def test_disable_cancels_pending_continuations(settings: Settings) -> None:
    """Disabling an automation cancels its WAIT; enabling it again does not resume it."""
    clock = HandClock()
    async with running_services(settings, clock=clock) as services:
        world = await setup(services)
        body = {
            "name": "Later",
            "condition": {"kind": "SCENE"},
            "actions": [
                {"kind": "WAIT", "seconds": 10},
                {
                    "kind": "CONTROL_DEVICE",
                    "deviceId": world.attic,
                    "dataStreamId": 2,
                    "value": "1",
                },
            ],
        }
        automation = await services.automations.create(world.editor, body)
        await services.automations.execute(world.editor, automation.id)
        await services.automations.set_active(world.editor, automation.id, active=False)
        await services.automations.set_active(world.editor, automation.id, active=True)
        clock.now += 20_000
        await services.automations._engine.run_due()
        assert relay(services, world.attic) is None
        assert await statuses(services, world, automation.id) == [("CANCELLED", None)]
        await services.automations.execute(world.editor, automation.id)
        assert await services.automations.stop_runs(world.editor, automation.id) == 1


async def test_scope_limits_and_validation(settings: Settings) -> None:
    """Another organization sees nothing; limits and type checks refuse bad automations."""
    async with running_services(replace_limits(settings), clock=HandClock()) as services:
        world = await setup(services)
        stranger = Editor(user_id=7, org_id=OrgId(9999), scope=frozenset({OrgId(9999)}))
        with pytest.raises(InvalidAutomation, match=r"device \d+ is not found"):
            await services.automations.create(stranger, when(world, "GT", "40"), org_id=None)
        with pytest.raises(InvalidAutomation, match="operand must be a number"):
            await services.automations.create(world.editor, when(world, "GT", "warm"))
        bad_value = when(world, "IS_ANY")
        bad_value["actions"][0]["value"] = "on"
        with pytest.raises(InvalidAutomation, match="value does not fit"):
            await services.automations.create(world.editor, bad_value)
        automation = await services.automations.create(world.editor, when(world, "GT", "40"))
        with pytest.raises(InvalidAutomation, match=r"^Automations limit reached$"):
            await services.automations.create(world.editor, when(world, "GT", "41"))
        with pytest.raises(AutomationNotFound):
            await services.automations.get(stranger, automation.id)
        with pytest.raises(AutomationNotFound):
            await services.automations.list_automations(world.editor, org_id=9999)
        with pytest.raises(NotAScene):
            await services.automations.execute(world.editor, automation.id)
        listed = await services.automations.list_automations(world.editor)
        assert [a.id for a in listed] == [automation.id]
        updated = await services.automations.update(
            world.editor, automation.id, when(world, "LT", "5")
        )
        assert updated.spec.name == "LT 5"
        await services.automations.delete(world.editor, automation.id)
        assert await services.automations.list_in_scope(world.editor) == []


def replace_limits(settings: Settings) -> Settings:
    """``settings`` allowing one automation per organization."""
    return settings.model_copy(update={"automations_max_per_org": 1})


async def test_a_deleted_device_switches_its_automations_off(settings: Settings) -> None:
    """Deleting a device an automation uses makes it inactive, with a log row."""
    async with running_services(settings, clock=HandClock()) as services:
        world = await setup(services)
        automation = await services.automations.create(world.editor, when(world, "IS_ANY"))
        await services.device_admin.delete(admin_caller(world), world.attic)
        await services.automations._engine.settle()
        reread = await services.automations.get(world.editor, automation.id)
        assert reread.spec.is_active is False
        assert await statuses(services, world, automation.id) == [("SKIPPED", "DEVICE_DELETED")]


def admin_caller(world: World) -> Caller:
    """The Platform API caller of the world's organization."""
    return Caller(client_id="test", org_id=world.editor.org_id, scope=world.editor.scope)


async def test_the_provisioning_file_creates_working_automations(settings: Settings) -> None:
    """An ``automations`` section naming devices of the file creates automations the running
    engine uses at once; a bad one creates nothing at all."""
    rule = {
        "name": "Hot cellar",
        "condition": {
            "kind": "DEVICE_STATE",
            "device": "Cellar",
            "dataStreamId": 1,
            "operator": "GT",
            "operand": "40",
        },
        "actions": [{"kind": "CONTROL_DEVICE", "device": "Attic", "dataStreamId": 2, "value": "1"}],
    }
    async with running_services(settings, clock=HandClock()) as services:
        bad = SPEC | {
            "organization": {"name": "Broken"},
            "automations": [
                rule
                | {
                    "actions": [
                        {
                            "kind": "CONTROL_DEVICE",
                            "device": "Garage",
                            "dataStreamId": 2,
                            "value": "1",
                        }
                    ]
                }
            ],
        }
        with pytest.raises(ProvisioningError, match="unknown device 'Garage'"):
            await provision(services.store, parse_spec(bad), clock=services.clock, bus=services.bus)
        async with services.store.transaction() as tx:
            assert await tx.list_automations(None) == []
        created = await provision(
            services.store,
            parse_spec(SPEC | {"automations": [rule]}),
            clock=services.clock,
            bus=services.bus,
        )
        [made] = created["automations"]
        assert made["name"] == "Hot cellar"
        await services.automations._engine.settle()
        cellar, attic = (d["id"] for d in created["devices"])
        await write(services, cellar, {1: 45.0})
        assert relay(services, attic) == 1
        org = OrgId(created["organization"]["id"])
        editor = Editor(user_id=7, org_id=org, scope=frozenset({org}))
        [listed] = await services.automations.list_automations(editor)
        assert (listed.id, listed.owner_id) == (made["id"], None)


async def test_message_actions_go_through_the_planner_with_placeholders(settings: Settings) -> None:
    """A SEND_EMAIL action queues a rendered e-mail (placeholders expanded, the trigger value
    with the datastream's decimals) as an AUTOMATION message; one within 5 s is suppressed."""
    clock = HandClock()
    # An e-mail channel must be configured, else the planner logs CHANNEL_DISABLED. Its relay
    # on loopback is refused by the outbound guard, so the queued message ends FAILED.
    settings = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_from_address": "pinbase@example.com"}
    )
    async with running_services(settings, clock=clock) as services:
        world = await setup(services)
        body = when(world, "IS_ANY")
        body["actions"] = [
            {
                "kind": "SEND_EMAIL",
                "recipients": [{"email": "ops@example.com"}],
                "subject": "{DEVICE_NAME} of {ORG_NAME} ({PRODUCT_NAME})",
                "body": "now {TRIGGER_VALUE} {UNKNOWN}",
            }
        ]
        automation = await services.automations.create(world.editor, body)
        await write(services, world.cellar, {1: 41.26})
        clock.now += 1_000
        await write(services, world.cellar, {1: 42.0})
        async with services.store.transaction() as tx:
            records = await tx.list_notification_records(world.editor.org_id, limit=10)
        queued = [r for r in records if r.status != "SUPPRESSED"]
        assert [(r.source, r.source_ref, r.channel) for r in queued] == [
            ("AUTOMATION", str(automation.id), "EMAIL")
        ]
        assert queued[0].title == "Cellar of Acme (Boiler)"
        assert queued[0].body is not None
        assert "now 41.2 {UNKNOWN}" in queued[0].body
        logs = await services.automations.runs(world.editor, automation.id)
        assert [(log.actions[0].status, log.actions[0].reason) for log in logs] == [
            ("SKIPPED", "SUPPRESSED"),
            ("OK", None),
        ]


async def test_a_polar_day_logs_no_sun_event_and_old_runs_are_purged(settings: Settings) -> None:
    """A sunset rule in Longyearbyen at midsummer logs NO_SUN_EVENT at local noon, once; the
    run log forgets finished runs after its retention."""
    clock = HandClock(now=int(datetime(2026, 6, 20, 12, tzinfo=UTC).timestamp() * 1000))
    sunset = {
        "kind": "SUN",
        "event": "SUNSET",
        "offsetMin": 0,
        "days": [],
        "lat": 78.22,
        "lon": 15.65,
        "tz": "Arctic/Longyearbyen",
    }
    async with running_services(settings, clock=clock) as services:
        world = await setup(services)
        automation = await services.automations.create(
            world.editor, when(world, "IS_ANY") | {"condition": sunset}
        )
        clock.now = int(datetime(2026, 6, 21, 10, 0, tzinfo=UTC).timestamp() * 1000)  # 12:00 CEST
        await services.automations._engine.run_due()
        await services.automations._engine.run_due()
        assert await statuses(services, world, automation.id) == [("SKIPPED", "NO_SUN_EVENT")]
        assert relay(services, world.attic) is None
        clock.now += 91 * 86_400_000
        assert await services.automations._engine.purge_log() == 1
        assert await statuses(services, world, automation.id) == []


async def test_a_console_user_owns_what_it_creates(settings: Settings) -> None:
    """A signed-in console user is an ``AutomationCaller``: it becomes the owner; the device
    page lists the automations using a device."""
    async with running_services(settings, clock=HandClock()) as services:
        world = await setup(services)
        user = ConsoleCaller(
            user_id=42,
            email="ada@example.com",
            name="Ada",
            role_id=ADMIN,
            org_id=world.editor.org_id,
            scope=world.editor.scope,
            permissions=permissions_of(ADMIN),
        )
        caller: AutomationCaller = user
        automation = await services.automations.create(caller, when(world, "IS_ANY"))
        assert automation.owner_id == 42
        assert to_json(automation)["ownerId"] == 42
        assert [a.id for a in await services.automations.using_device(user, world.attic)] == [
            automation.id
        ]
        assert await services.automations.using_device(user, 12345) == []


async def test_a_deleted_organization_takes_its_schedules_along(settings: Settings) -> None:
    """A sub-organization's daily schedule stops when the organization is deleted."""
    clock = HandClock()
    async with running_services(settings, clock=clock) as services:
        world = await setup(services)
        child = await services.organizations.create(
            admin_caller(world),
            parent_id=None,
            name="Branch",
            description=None,
            type=None,
            tz=None,
            unit_system=None,
            phone_number=None,
        )
        branch = Editor(user_id=7, org_id=child.id, scope=frozenset({child.id}))
        daily = {"kind": "SCHEDULE", "time": "08:00", "tz": "UTC", "repeat": {"type": "DAILY"}}
        body = {"name": "Morning", "condition": daily, "actions": [{"kind": "WAIT", "seconds": 5}]}
        await services.automations.create(branch, body)
        assert len(services.automations._engine._slots) == 1
        parent = world.editor.org_id
        root = Caller(client_id="t", org_id=parent, scope=services.directory.subtree(parent))
        await services.organizations.delete(root, child.id)
        await services.automations._engine.settle()
        assert services.automations._engine._slots == {}
        clock.now += 2 * 86_400_000
        await services.automations._engine.run_due()
        async with services.store.transaction() as tx:
            assert await tx.list_automations(None) == []


async def test_the_datastream_automation_setting_is_kept_and_enforced(settings: Settings) -> None:
    """A provisioned §3.2 setting survives an edit that leaves it out (the console's form) and
    decides what an automation may do with the datastream."""
    sensor = {"type": "SENSOR"}
    boiler = SPEC["templates"][0]  # type: ignore[index]
    temperature = boiler["datastreams"][0] | {"automation": sensor}
    relay_stream = boiler["datastreams"][1] | {"automation": {"type": "SWITCH", "asAction": False}}
    spec = SPEC | {"templates": [boiler | {"datastreams": [temperature, relay_stream]}]}
    async with running_services(settings, clock=HandClock()) as services:
        created = await provision(
            services.store, parse_spec(spec), clock=services.clock, bus=services.bus
        )
        org = OrgId(created["organization"]["id"])
        world = World(
            editor=Editor(user_id=7, org_id=org, scope=frozenset({org})),
            cellar=created["devices"][0]["id"],
            attic=created["devices"][1]["id"],
        )
        with pytest.raises(InvalidAutomation, match="not an automation action"):
            await services.automations.create(world.editor, when(world, "GT", "40"))
        with pytest.raises(InvalidAutomation, match="operator IS_ON does not apply"):
            await services.automations.create(world.editor, when(world, "IS_ON"))
        template_id = created["templates"][0]["id"]
        caller = Caller(client_id="t", org_id=org, scope=frozenset({org}))
        edit = DatastreamSettings(
            label="Temperature", pin=Pin(PinType.VIRTUAL, 1), type=DataType.DOUBLE
        )
        updated = await services.templates.update_datastream(caller, template_id, 1, edit)
        assert updated.automation == AutomationSetting(type=AutomationType.SENSOR)


async def test_a_device_switched_out_neither_triggers_nor_is_acted_on(settings: Settings) -> None:
    """Switched out, the cellar does not trigger and the attic's action is SKIPPED; switched
    back in, both take part again."""
    async with running_services(settings, clock=HandClock()) as services:
        world = await setup(services)
        automation = await services.automations.create(world.editor, when(world, "IS_ANY"))
        await services.automations.set_participation(
            world.editor, automation.id, world.cellar, participates=False
        )
        await write(services, world.cellar, {1: 1.0})
        assert await statuses(services, world, automation.id) == []
        await services.automations.set_participation(
            world.editor, automation.id, world.cellar, participates=True
        )
        switched = await services.automations.set_participation(
            world.editor, automation.id, world.attic, participates=False
        )
        assert to_json(switched)["optedOutDeviceIds"] == [world.attic]
        await write(services, world.cellar, {1: 2.0})
        [log] = await services.automations.runs(world.editor, automation.id)
        assert [(a.status, a.reason) for a in log.actions] == [("SKIPPED", "DEVICE_OPTED_OUT")]
        assert relay(services, world.attic) is None
        with pytest.raises(InvalidAutomation, match="does not use device"):
            await services.automations.set_participation(
                world.editor, automation.id, 999, participates=False
            )


async def test_arming_and_the_limit_period_survive_a_restart(settings: Settings) -> None:
    """After a restart an IS_ON-like edge does not fire again, and the Limit Period still runs."""
    clock = HandClock()
    async with running_services(settings, clock=clock) as services:
        world = await setup(services)
        limited = await services.automations.create(
            world.editor, when(world, "GT", "40", limitPeriodSec=3600)
        )
        edge = await services.automations.create(world.editor, when(world, "GT", "50"))
        await write(services, world.cellar, {1: 55.0})
    clock.now += 10 * MINUTE
    async with running_services(settings, clock=clock) as services:
        await write(services, world.cellar, {1: 56.0})
        await write(services, world.cellar, {1: 39.0})
        await write(services, world.cellar, {1: 41.0})
        assert await statuses(services, world, edge.id) == [("OK", None)]
        assert await statuses(services, world, limited.id) == [
            ("OK", None),
            ("SKIPPED", "AUTOMATION_LIMIT_PERIOD"),
        ]
