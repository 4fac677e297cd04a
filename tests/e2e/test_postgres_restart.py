"""A restart of PostgreSQL under a running node: writes answer 503 while it is down, then 200.

The node's group commit runs on pooled asyncpg connections (``storage.postgres``); a restart
closes them all. While the server is down a write fails its group (503, nothing acknowledged);
once it is back, connections found closed are dropped from the pool before the statement is
sent, so the first write after the restart already commits. The test runs a PostgreSQL server
of its own, since it stops it.
"""

import httpx
import pytest
from test_durability import stored_counters

from pinbase.testing import ServerProcess, provision
from postgres import PostgresServer, find_binaries
from testspec import UNTHROTTLED, load_spec


@pytest.mark.postgres
def test_writes_answer_503_while_postgres_is_down_and_commit_after_it_restarts(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> None:
    """Acknowledged before, 503 while down, acknowledged again after: the history holds
    exactly the acknowledged values."""
    binaries = find_binaries()
    assert binaries is not None, "postgres_url found PostgreSQL installed"
    database = PostgresServer(binaries).start()
    try:
        data_dir = tmp_path_factory.mktemp("data")
        extra = ("--database-url", database.url)
        (device,) = provision(load_spec(1), *extra, data_dir=data_dir)["devices"]
        with (
            ServerProcess(data_dir, *extra, env=UNTHROTTLED) as server,
            httpx.Client(base_url=server.base_url, timeout=30) as http,
        ):

            def write(value: int) -> int:
                path = f"/external/api/batch/update?token={device['token']}&v2={value}"
                return http.get(path).status_code

            assert [write(v) for v in (1, 2)] == [200, 200]
            database.halt()
            assert [write(v) for v in (3, 4)] == [503, 503]
            database.resume()
            assert [write(v) for v in (5, 6)] == [200, 200]
        assert stored_counters(data_dir, database.url) == {device["id"]: {1, 2, 5, 6}}
    finally:
        database.stop()
