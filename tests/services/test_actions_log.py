"""The actions log (PLT-DEV-20) in process: concurrent entries share group commits."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from pinbase.domain.datastreams import Datastream
from pinbase.domain.devices import Device
from pinbase.runtime import running_services
from pinbase.services.actions import ActionsLog
from pinbase.services.container import Services
from pinbase.services.demo import DEMO_SPEC
from pinbase.services.provisioning import parse_spec, provision
from pinbase.settings import Settings
from pinbase.storage.base import Store
from pinbase.storage.sql import SqlTransaction

WRITES = 100


class CountingStore:
    """A real store that also counts the transactions opened through it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.transactions = 0

    def transaction(self) -> AbstractAsyncContextManager[SqlTransaction]:
        self.transactions += 1
        return self.store.transaction()  # type: ignore[return-value]


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    async with running_services(Settings(data_dir=tmp_path)) as services:
        yield services


async def first_device(services: Services) -> tuple[Device, Datastream]:
    created = await provision(
        services.store, parse_spec(DEMO_SPEC), clock=services.clock, bus=services.bus
    )
    bound = await services.directory.by_token(created["devices"][0]["token"])
    assert bound is not None
    return bound.device, bound.template.datastreams[0]


async def logged(services: Services, device: Device) -> int:
    async with services.store.transaction() as tx:
        return await tx.count_device_actions(device.id)


async def test_concurrent_entries_share_few_transactions(services: Services) -> None:
    """100 concurrent value writes are logged in far fewer than 100 transactions, none lost."""
    device, counter = await first_device(services)
    counting = CountingStore(services.store)
    actions = ActionsLog(counting, services.presence, services.clock)  # type: ignore[arg-type]
    actions.start()
    await asyncio.gather(
        *(actions.values_written(device, [(counter, n)], ts=n) for n in range(WRITES))
    )
    await actions.stop()
    assert await logged(services, device) == WRITES
    assert counting.transactions < WRITES // 5


async def test_entries_pending_at_stop_are_committed(services: Services) -> None:
    """Stopping the log commits the entries still waiting for their group."""
    device, counter = await first_device(services)
    actions = ActionsLog(services.store, services.presence, services.clock)
    actions.start()
    writes = [
        asyncio.create_task(actions.values_written(device, [(counter, n)], ts=n))
        for n in range(WRITES)
    ]
    await asyncio.sleep(0)  # every write has queued its entries
    await actions.stop()
    await asyncio.gather(*writes)
    assert await logged(services, device) == WRITES
