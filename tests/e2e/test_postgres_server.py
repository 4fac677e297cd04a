"""The whole server on PostgreSQL: provision, serve, write and read values over HTTP."""

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import create_async_engine

from pinbase.storage.engines import SQLITE_FILE
from pinbase.testing import ServerProcess, provision
from testspec import load_spec

pytestmark = pytest.mark.postgres


def stored_history(url: str, device_id: int) -> list[tuple[int, float]]:
    """``(datastream_id, num)`` of a device's history rows, read from PostgreSQL directly."""

    async def read() -> list[tuple[int, float]]:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text(
                        "SELECT datastream_id, num FROM history WHERE device_id = :id ORDER BY id"
                    ),
                    {"id": device_id},
                )
                return [(row.datastream_id, row.num) for row in rows]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def get(server: ServerProcess, path: str) -> httpx.Response:
    """One GET against a running server."""
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        return http.get(path)


def test_batch_update_is_stored_in_postgres_and_read_back(
    database_url: str, tmp_path: Path
) -> None:
    """v1=33&v2=44 answers OK, lands in PostgreSQL and reads back, also after a restart."""
    created = provision(load_spec(1), "--database-url", database_url, data_dir=tmp_path)
    device = created["devices"][0]
    token = device["token"]
    with ServerProcess(tmp_path, "--database-url", database_url) as server:
        answer = get(server, f"/external/api/batch/update?token={token}&v1=33&v2=44")
        assert (answer.status_code, answer.text) == (200, "OK")
        read = get(server, f"/external/api/get?token={token}&v1&v2")
        assert (read.status_code, read.json()) == (200, {"v1": 33, "v2": 44})
    assert stored_history(database_url, device["id"]) == [(1, 33.0), (2, 44.0)]
    assert not (tmp_path / SQLITE_FILE).exists()
    with ServerProcess(tmp_path, "--database-url", database_url) as server:
        read = get(server, f"/external/api/get?token={token}&v1&v2")
        assert (read.status_code, read.json()) == (200, {"v1": 33, "v2": 44})
