"""Webhooks on two nodes of one installation (issue #11), in one process: a webhook saved
through node A fires on a write node B receives, and stops firing once deleted through A. Two
``running_services`` on one PostgreSQL database, linked by a ``LocalNetwork`` broker; a real
HTTP receiver on 127.0.0.1."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import create_async_engine
from test_leader_automations import carried

from pinbase.domain.deliveries import DeliveryKind
from pinbase.domain.ids import DatastreamId, DeviceId, OrgId
from pinbase.domain.webhooks import Trigger, TriggerKind, WebhookSpec
from pinbase.runtime import running_services
from pinbase.services.broker import LocalBroker, LocalNetwork
from pinbase.services.container import Services
from pinbase.services.oauth import Caller
from pinbase.services.provisioning import parse_spec, provision
from pinbase.settings import Settings
from postgres import create_database, drop_database
from webhook_receiver import Receiver

pytestmark = pytest.mark.postgres

SPEC = {
    "organization": {"name": "Acme"},
    "templates": [
        {"name": "Tank", "datastreams": [{"id": 1, "label": "Level", "pin": 1, "type": "DOUBLE"}]}
    ],
    "devices": [{"name": "Tank A", "template": "Tank"}],
}


@pytest.fixture
async def settings(postgres_url: str, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings naming a new PostgreSQL database; 127.0.0.1 may be called."""
    url = await create_database(postgres_url)
    try:
        yield Settings(
            data_dir=tmp_path, database_url=url, outbound_allowed_networks=("127.0.0.1/32",)
        )
    finally:
        await drop_database(url)


async def webhook_deliveries(settings: Settings) -> int:
    """How many webhook deliveries the outbox holds (sent or not)."""
    assert settings.database_url is not None
    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            query = text("SELECT count(*) FROM outbox WHERE kind = :kind")
            return int(await connection.scalar(query, {"kind": DeliveryKind.WEBHOOK.value}))
    finally:
        await engine.dispose()


async def write(node: Services, device_id: DeviceId, level: float) -> None:
    """A device write of the tank's level received by ``node``."""
    bound = node.directory.by_id(device_id)
    assert bound is not None
    datastream = bound.template.datastream(1)
    await node.telemetry.record(bound.device, [(datastream, level)], origin="device_http")


async def test_a_webhook_saved_on_one_node_fires_on_a_write_to_the_other(
    settings: Settings,
) -> None:
    """Created through A, the webhook calls the receiver when B receives the write; deleted
    through A, it no longer does."""
    network = LocalNetwork()
    async with (
        Receiver() as receiver,
        running_services(settings, broker=LocalBroker(network)) as a,
        running_services(settings, broker=LocalBroker(network)) as b,
    ):
        created = await provision(a.store, parse_spec(SPEC), clock=a.clock, bus=a.bus)
        await carried()
        org = OrgId(created["organization"]["id"])
        caller = Caller(client_id="test", org_id=org, scope=a.directory.subtree(org))
        device_id = DeviceId(created["devices"][0]["id"])
        trigger = Trigger(
            kind=TriggerKind.DEVICE_DATASTREAM, device_id=device_id, datastream_id=DatastreamId(1)
        )
        spec = WebhookSpec(name="Level hook", trigger=trigger, url=f"{receiver.url}/hook")
        webhook = await a.webhooks.create(caller, spec)
        await carried()
        await write(b, device_id, 42.5)
        await asyncio.wait_for(receiver.wait_for(1), timeout=30)
        assert receiver.received[0].target.startswith("/hook")
        await a.webhooks.delete(caller, webhook.id)
        await carried()
        await write(b, device_id, 43.5)
        assert await webhook_deliveries(settings) == 1
