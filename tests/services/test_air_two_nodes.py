"""Blynk.Air on two nodes of one installation (PostgreSQL, in-process broker): a device's firmware
report is evaluated once, by the node that received it, and a shipment started on the other
node reaches the device through the bus (issue #12 point 2, issue #11)."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_seam_nodes import Nodes, eventually, started_nodes

from pinbase.domain.devices import HardwareInfo
from pinbase.services.broker import LocalBroker, LocalNetwork
from pinbase.services.bus import DeviceCommanded, DeviceInfoReported
from pinbase.services.shipments import ShipmentRequest

pytestmark = pytest.mark.postgres

TAG = b"blnkinf\x00mcu\x002.0.0\x00fw-type\x00TMPLtwo\x00\x00"


@pytest.fixture
async def nodes(tmp_path: Path, postgres_url: str) -> AsyncIterator[Nodes]:
    """Two nodes linked in process (``LocalNetwork``)."""
    network = LocalNetwork()
    async for pair in started_nodes(
        tmp_path, postgres_url, LocalBroker(network), LocalBroker(network)
    ):
        yield pair


def commands(nodes: Nodes) -> tuple[list[DeviceCommanded], list[DeviceCommanded]]:
    """What each node publishes itself (A's list, B's list)."""
    from_a: list[DeviceCommanded] = []
    from_b: list[DeviceCommanded] = []
    nodes.a.bus.subscribe(DeviceCommanded, from_a.append)
    nodes.b.bus.subscribe(DeviceCommanded, from_b.append)
    return from_a, from_b


async def ship(nodes: Nodes, *, start: bool = True) -> int:
    """A live shipment of a tagged file to the demo template, created on A."""
    firmware = await nodes.a.firmware.upload(nodes.caller, filename="two.bin", data=TAG)
    request = ShipmentRequest(
        name="Two nodes",
        template_id=nodes.device.template_id,
        firmware_id=firmware.id,
        start=start,
    )
    return (await nodes.a.shipments.create(nodes.caller, request)).id


async def test_a_report_is_evaluated_once_by_the_node_that_received_it(nodes: Nodes) -> None:
    """The device is connected to A; its report on A sends one command, from A; B, which hears
    every shared message, evaluates nothing."""
    device_id = nodes.device.id
    from_a, from_b = commands(nodes)
    nodes.a.presence.mark_online(device_id)
    await eventually(lambda: nodes.b.presence.is_online(device_id))
    shipment_id = await ship(nodes)
    report = DeviceInfoReported(
        device_id=device_id,
        version="1.0.0",
        build=None,
        fw_type="TMPLtwo",
        library_version=None,
        template_code=None,
    )
    nodes.a.bus.publish(report)
    await nodes.a.shipments.drain()
    await asyncio.sleep(0.2)  # anything B would do has had time to happen
    await nodes.b.shipments.drain()
    assert [command.kind for command in from_a] == ["ota"]
    assert from_b == []
    lines = await nodes.b.shipments.progress(nodes.caller, shipment_id)
    assert [line.row.status.value for line in lines] == ["request_sent"]


async def test_a_start_on_the_other_node_reaches_the_device(nodes: Nodes) -> None:
    """Connected to A, its firmware known: a Resume on B sends the command from B, and A's bus
    (where the device's session is) hears it."""
    device_id = nodes.device.id
    from_a, from_b = commands(nodes)
    heard_on_a: list[DeviceCommanded] = []
    nodes.a.bus.subscribe(DeviceCommanded, heard_on_a.append, remote=True, local=False)
    bound = nodes.a.directory.by_id(device_id)
    assert bound is not None
    await nodes.a.metadata.record_hardware(bound, HardwareInfo(version="1.0.0", fw_type="TMPLtwo"))
    nodes.a.presence.mark_online(device_id)
    await eventually(lambda: nodes.b.presence.is_online(device_id))
    await eventually(
        lambda: (
            (found := nodes.b.directory.by_id(device_id)) is not None
            and found.device.hardware_info.fw_type == "TMPLtwo"
        )
    )
    shipment_id = await ship(nodes, start=False)
    await nodes.b.shipments.start_shipment(nodes.caller, shipment_id)
    await eventually(lambda: len(heard_on_a) == 1)
    assert from_a == []
    assert [command.device_id for command in from_b] == [device_id]
