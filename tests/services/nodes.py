"""Two nodes' whole services in one process, on one fresh PostgreSQL database: the fixture body
the tests of several nodes share (presence and quotas, rate limits, catalog changes)."""

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from pinbase.runtime import running_services
from pinbase.services.broker import Broker
from pinbase.services.clock import Clock, system_clock
from pinbase.services.container import Services
from pinbase.settings import Settings
from postgres import create_database, drop_database

NAMES = ("a", "b")
"""The nodes' names; each keeps its data folder under ``tmp_path / name``."""


@asynccontextmanager
async def two_nodes(
    tmp_path: Path,
    postgres_url: str,
    *,
    clock: Clock = system_clock,
    broker: Callable[[], Broker] | None = None,
    **settings: Any,
) -> AsyncIterator[tuple[Services, Services]]:
    """Nodes A and B of one installation on a new database of ``postgres_url`` (dropped after),
    each with ``Settings(**settings)``, on ``clock``.

    ``broker`` makes each node's broker (``LocalBroker`` on one ``LocalNetwork``); without it the
    settings choose (``broker_url=`` a real Redis, or none)."""
    database = await create_database(postgres_url)
    try:
        async with AsyncExitStack() as stack:
            nodes = [
                await stack.enter_async_context(
                    running_services(
                        Settings(data_dir=tmp_path / name, database_url=database, **settings),
                        clock=clock,
                        broker=broker() if broker is not None else None,
                    )
                )
                for name in NAMES
            ]
            yield nodes[0], nodes[1]
    finally:
        await drop_database(database)
