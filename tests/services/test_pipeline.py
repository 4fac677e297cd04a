"""The value pipeline end to end in process: durable first, then memory, then the bus."""

from pathlib import Path

from pinbase.runtime import running_services
from pinbase.services.bus import ValuesChanged
from pinbase.services.demo import DEMO_SPEC
from pinbase.services.provisioning import parse_spec, provision
from pinbase.settings import Settings


async def test_record_stores_then_publishes_with_one_timestamp(tmp_path: Path) -> None:
    """Telemetry.record commits, raises current values and publishes one ValuesChanged."""
    settings = Settings(data_dir=tmp_path)
    async with running_services(settings, clock=lambda: 1_700_000_000_000) as services:
        created = await provision(
            services.store,
            parse_spec(DEMO_SPEC),
            clock=services.clock,
            bus=services.bus,
        )
        bound = await services.directory.by_token(created["devices"][0]["token"])
        assert bound is not None
        counter, temperature = bound.template.datastreams[:2]
        seen: list[ValuesChanged] = []
        services.bus.subscribe(ValuesChanged, seen.append)
        ts = await services.telemetry.record(
            bound.device, [(counter, 5), (temperature, 20.5)], origin="test"
        )
        assert ts == 1_700_000_000_000
        assert services.telemetry.effective(bound.device.id, counter) == 5
        assert [m.ts for m in seen] == [ts]
        async with services.store.transaction() as tx:
            assert await tx.count_points() == 2

    async with running_services(settings) as services:
        bound = await services.directory.by_token(created["devices"][0]["token"])
        assert bound is not None
        assert services.telemetry.effective(bound.device.id, counter) == 5
