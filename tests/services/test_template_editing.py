"""Template editing as a service (``services.templates``), on SQLite and PostgreSQL: every
datastream setting survives a restart, devices are bound to each new version at once, a datastream
that goes takes its stored values along, and the rules refuse bad edits and other tenants."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pinbase.domain.datastreams import DataType, EnumOption, InvalidatePolicy
from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.ids import DatastreamId, DeviceId, OrgId, TemplateId
from pinbase.domain.pins import Pin, PinType
from pinbase.runtime import running_services
from pinbase.services.container import Services
from pinbase.services.oauth import Caller
from pinbase.services.provisioning import parse_spec, provision
from pinbase.services.scope import OrganizationOutOfScope, TemplateNotFound
from pinbase.services.template_settings import DatastreamSettings, EventSettings, MetafieldSettings
from pinbase.services.templates import DatastreamNotInTemplate, TemplateInUse
from pinbase.settings import Settings
from postgres import BACKENDS, empty_database

SPEC = {
    "organization": {"name": "Acme"},
    "templates": [
        {
            "name": "Sensor",
            "datastreams": [{"id": 1, "label": "Temperature", "pin": 1, "type": "DOUBLE"}],
        }
    ],
    "devices": [{"name": "Kitchen", "template": "Sensor"}],
}

THERMOSTAT = DatastreamSettings(
    label="Mode",
    pin=Pin(PinType.VIRTUAL, 7),
    type=DataType.ENUM,
    alias="Heating mode",
    units=None,
    default_value=1,
    color="#23C48E",
    invalidate_after=600,
    invalidate_policy=InvalidatePolicy.DASHES,
    save_raw=True,
    sync_with_latest=True,
    wait_confirmation=5,
    enum_options=(
        EnumOption(value=0, label="Off"),
        EnumOption(value=1, label="On", color="#FF0000"),
    ),
    fallback_value=0,
)


@pytest.fixture(params=BACKENDS)
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings naming an empty database: a SQLite file in ``tmp_path``, or a new PostgreSQL one."""
    async with empty_database(request, tmp_path) as settings:
        yield settings


def caller_of(services: Services, org_id: int) -> Caller:
    """A caller acting for ``org_id`` and the organizations below it."""
    org = OrgId(org_id)
    return Caller(client_id="test", org_id=org, scope=services.directory.subtree(org))


async def provisioned(services: Services, spec: dict[str, Any] = SPEC) -> dict[str, Any]:
    """What ``spec`` created, announced to the running services."""
    return await provision(services.store, parse_spec(spec), clock=services.clock, bus=services.bus)


async def test_every_datastream_setting_survives_a_restart(settings: Settings) -> None:
    """A datastream added with every setting reads back the same from a restarted server."""
    async with running_services(settings) as services:
        created = await provisioned(services)
        caller = caller_of(services, created["organization"]["id"])
        template_id = created["templates"][0]["id"]
        added = await services.templates.add_datastream(caller, template_id, THERMOSTAT)
        assert added.id == 2
    async with running_services(settings) as services:
        template = services.directory.template(TemplateId(template_id))
        assert template is not None
        assert template.datastream(2) == added
        assert added.default_value == 1
        assert added.invalidate_policy is InvalidatePolicy.DASHES


async def test_a_connected_device_is_bound_to_the_new_version_at_once(settings: Settings) -> None:
    """Right after a datastream is added, the directory's copy of the template's device has it."""
    async with running_services(settings) as services:
        created = await provisioned(services)
        caller = caller_of(services, created["organization"]["id"])
        device_id = DeviceId(created["devices"][0]["id"])
        await services.templates.add_datastream(caller, created["templates"][0]["id"], THERMOSTAT)
        bound = services.directory.by_id(device_id)
        assert bound is not None
        assert bound.template.datastream_at(Pin(PinType.VIRTUAL, 7)).label == "Mode"


async def test_a_deleted_datastream_takes_its_values_along(settings: Settings) -> None:
    """Deleting a datastream erases devices' current values of it, in memory and in storage."""
    async with running_services(settings) as services:
        created = await provisioned(services)
        caller = caller_of(services, created["organization"]["id"])
        template_id = created["templates"][0]["id"]
        bound = services.directory.by_id(DeviceId(created["devices"][0]["id"]))
        assert bound is not None
        temperature = bound.template.datastream(1)
        await services.telemetry.record(bound.device, [(temperature, 21.5)], origin="test")
        await services.templates.delete_datastream(caller, template_id, 1)
        assert services.telemetry.current(bound.device.id, temperature) is None
        async with services.store.transaction() as tx:
            stored = await tx.load_current_values()
        assert all(point.datastream_id != DatastreamId(1) for point in stored)
        with pytest.raises(DatastreamNotInTemplate):
            await services.templates.delete_datastream(caller, template_id, 1)


async def test_bad_edits_are_refused_and_change_nothing(settings: Settings) -> None:
    """A taken pin, a default of the wrong type, an enum fallback past 32 bits (the column's
    size on PostgreSQL) and a layout naming an unknown datastream are refused; the template
    stays as it was."""
    async with running_services(settings) as services:
        created = await provisioned(services)
        caller = caller_of(services, created["organization"]["id"])
        template_id = created["templates"][0]["id"]
        before = services.directory.template(TemplateId(template_id))
        taken = DatastreamSettings(label="Other", pin=Pin(PinType.VIRTUAL, 1), type=DataType.INT)
        wrong = DatastreamSettings(
            label="Text", pin=Pin(PinType.VIRTUAL, 9), type=DataType.INT, default_value="high"
        )
        huge = DatastreamSettings(
            label="Mode", pin=Pin(PinType.VIRTUAL, 9), type=DataType.ENUM, fallback_value=2**40
        )
        layout = {
            "tabs": [
                {
                    "id": 1,
                    "name": "Dashboard",
                    "roles": None,
                    "widgets": [
                        {"id": "w1", "type": "GAUGE", "x": 0, "y": 0, "w": 3, "h": 2}
                        | {"dataStreamIds": [42]}
                    ],
                }
            ]
        }
        for edit in (
            services.templates.add_datastream(caller, template_id, taken),
            services.templates.add_datastream(caller, template_id, wrong),
            services.templates.add_datastream(caller, template_id, huge),
            services.templates.set_dashboard(caller, template_id, layout),
        ):
            with pytest.raises(InvalidDefinition):
                await edit
        assert services.directory.template(TemplateId(template_id)) == before


async def test_dashboard_events_and_metadata_round_trip(settings: Settings) -> None:
    """A layout, an event and a metadata field are stored; a datastream deleted later leaves
    the layout with the widgets that still have a datastream."""
    async with running_services(settings) as services:
        created = await provisioned(services)
        caller = caller_of(services, created["organization"]["id"])
        template_id = created["templates"][0]["id"]
        await services.templates.add_datastream(caller, template_id, THERMOSTAT)
        widgets = [
            {"id": "g", "type": "GAUGE", "x": 0, "y": 0, "w": 3, "h": 2}
            | {"dataStreamIds": [1], "settings": {}},
            {"id": "s", "type": "SEGMENTED_SWITCH", "x": 3, "y": 0, "w": 4, "h": 1}
            | {"dataStreamIds": [2], "settings": {"label": "Mode"}},
        ]
        layout = {"tabs": [{"id": 1, "name": "Dashboard", "roles": None, "widgets": widgets}]}
        dashboard = await services.templates.set_dashboard(caller, template_id, layout)
        assert dashboard.to_json() == layout
        event = await services.templates.add_event(
            caller, template_id, EventSettings(code="overheat", name="Overheat", type="WARNING")
        )
        field = await services.templates.add_metafield(
            caller, template_id, MetafieldSettings(name="Serial", default_value="SN-1")
        )
        await services.templates.delete_datastream(caller, template_id, 1)
    async with running_services(settings) as services:
        template = services.directory.template(TemplateId(template_id))
        assert template is not None
        assert template.events == (event,)
        assert template.metafields == (field,)
        assert template.dashboard is not None
        assert template.dashboard.to_json()["tabs"][0]["widgets"] == [widgets[1]]


async def test_other_tenants_and_used_templates_are_refused(settings: Settings) -> None:
    """Another organization's template is missing to a caller; a template with devices cannot
    be deleted; an empty one can, and is gone from the directory at once."""
    async with running_services(settings) as services:
        created = await provisioned(services)
        other = await provisioned(services, {"organization": {"name": "Rival"}})
        mine = caller_of(services, created["organization"]["id"])
        rival = caller_of(services, other["organization"]["id"])
        template_id = created["templates"][0]["id"]
        with pytest.raises(TemplateNotFound):
            await services.templates.add_datastream(rival, template_id, THERMOSTAT)
        with pytest.raises(OrganizationOutOfScope):
            await services.templates.create(
                rival, org_id=created["organization"]["id"], name="Spy", description=None
            )
        with pytest.raises(TemplateInUse):
            await services.templates.delete(mine, template_id)
        empty = await services.templates.create(mine, org_id=None, name="Spare", description=None)
        await services.templates.delete(mine, empty.id)
        assert services.directory.template(empty.id) is None
