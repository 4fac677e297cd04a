"""The device listeners in process on a loopback port, over the real services and SQLite."""

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pinbase.domain.datastreams import Datastream
from pinbase.domain.ids import Token
from pinbase.domain.pins import Pin, PinType
from pinbase.runtime import running_services
from pinbase.services.container import Services
from pinbase.services.directory import BoundDevice
from pinbase.services.provisioning import parse_spec, provision
from pinbase.settings import Settings
from pinbase.storage.engines import SQLITE_FILE
from pinbase.transports.hub import LinkOptions
from pinbase.transports.login_guard import LoginGuard
from pinbase.transports.tcp import DeviceListeners
from testspec import load_spec

DEVICES = 6
SYNCED_PINS = (2, 9)
"""Virtual pins provisioned with "sync with latest server value" (Level, Humidity)."""


def tcp_spec(devices: int = DEVICES) -> dict[str, Any]:
    """The test template with V2 and V9 flagged for ``syncAll``."""
    spec = load_spec(devices)
    for datastream in spec["templates"][0]["datastreams"]:
        if datastream["pinType"] == "VIRTUAL" and datastream["pin"] in SYNCED_PINS:
            datastream["syncWithLatest"] = True
    return spec


@dataclass
class Stack:
    """Services, listeners and the provisioned devices of one test."""

    services: Services
    listeners: DeviceListeners
    port: int
    tokens: list[str]
    guard: LoginGuard
    """The failed-login guard, for MQTT listeners started next to the binary ones."""

    async def bound(self, token: str) -> BoundDevice:
        """The device owning ``token``."""
        bound = await self.services.directory.by_token(Token(token))
        assert bound is not None
        return bound

    async def datastream(self, token: str, pin: int, kind: PinType = PinType.VIRTUAL) -> Datastream:
        """The datastream on ``pin`` of the device owning ``token``."""
        return (await self.bound(token)).template.datastream_at(Pin(kind, pin))

    async def is_online(self, token: str) -> bool:
        """Whether the presence service counts the device as connected."""
        return self.services.presence.is_online((await self.bound(token)).device.id)


@asynccontextmanager
async def running_stack(
    data_dir: Path, *, options: LinkOptions | None = None, **settings: Any
) -> AsyncIterator[Stack]:
    """Provision ``DEVICES`` devices, start the services and a plain listener on a free port."""
    config = Settings(data_dir=data_dir, **settings)
    async with running_services(config) as services:
        created = await provision(
            services.store,
            parse_spec(tcp_spec()),
            clock=services.clock,
            bus=services.bus,
        )
        guard = LoginGuard.for_settings(config, clock=services.clock)
        listeners = DeviceListeners.for_services(
            services, settings=config, guard=guard, options=options
        )
        port = await listeners.open("127.0.0.1", 0)
        try:
            tokens = [d["token"] for d in created["devices"]]
            yield Stack(services, listeners, port, tokens, guard)
        finally:
            await listeners.stop()
            guard.log.flush()


def history_nums(data_dir: Path, device_id: int, datastream_id: int) -> list[float]:
    """The numbers stored in the history of one datastream, in the order they were written,
    read from the database file as another process would."""
    with contextlib.closing(sqlite3.connect(data_dir / SQLITE_FILE)) as db:
        rows = db.execute(
            "SELECT num FROM history WHERE device_id = ? AND datastream_id = ? ORDER BY id",
            (device_id, datastream_id),
        )
        return [num for (num,) in rows]


async def until(condition: Callable[[], Awaitable[bool]], *, within: float = 3.0) -> bool:
    """Poll ``condition`` every 10 ms until it holds or ``within`` seconds pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        if await condition():
            return True
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.01)
