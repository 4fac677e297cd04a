"""Lifecycle reactions act once per installation: on the presence changes this node caused,
never on those it derived from another node's sessions (issue #11)."""

from pathlib import Path

from pinbase.domain.ids import DeviceId
from pinbase.runtime import running_services
from pinbase.services.bus import DeviceFirstConnected, PresenceChanged
from pinbase.services.provisioning import parse_spec, provision
from pinbase.settings import Settings

SPEC = {
    "organization": {"name": "Acme"},
    "templates": [{"name": "Freezer"}],
    "devices": [{"name": "Freezer 1", "template": "Freezer"}],
}


async def test_only_the_node_that_caused_a_change_reacts(tmp_path: Path) -> None:
    """A device going online on another node records nothing here (no first connection);
    the same change caused here does, once."""
    async with running_services(Settings(data_dir=tmp_path)) as services:
        created = await provision(
            services.store, parse_spec(SPEC), clock=services.clock, bus=services.bus
        )
        device = DeviceId(created["devices"][0]["id"])
        first: list[DeviceFirstConnected] = []
        services.bus.subscribe(DeviceFirstConnected, first.append)
        now = services.clock()
        services.bus.publish(PresenceChanged(device_id=device, online=True, ts=now, local=False))
        await services.lifecycle.drain()
        assert first == []
        services.bus.publish(PresenceChanged(device_id=device, online=True, ts=now))
        await services.lifecycle.drain()
        assert [message.device_id for message in first] == [device]
