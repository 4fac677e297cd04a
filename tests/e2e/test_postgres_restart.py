"""A restart of PostgreSQL under a running node: writes answer 503 while it is down, then 200;
so does every request that needs the database, in its API family's format, never a 500.

The node's group commit runs on pooled asyncpg connections (``storage.postgres``); a restart
closes them all. While the server is down a write fails its group (503, nothing acknowledged);
once it is back, connections found closed are dropped from the pool before the statement is
sent, so the first write after the restart already commits. The test runs a PostgreSQL server
of its own, since it stops it.
"""

from collections.abc import Iterator

import httpx
import pytest
from platform_http import org_headers
from test_durability import stored_counters

from pinbase.testing import ServerProcess, provision
from postgres import PostgresServer, find_binaries
from testspec import UNTHROTTLED, load_spec


@pytest.fixture
def database(postgres_url: str) -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test's own: it is stopped and started under a node."""
    binaries = find_binaries()
    assert binaries is not None, "postgres_url found PostgreSQL installed"
    server = PostgresServer(binaries).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.postgres
def test_writes_answer_503_while_postgres_is_down_and_commit_after_it_restarts(
    tmp_path_factory: pytest.TempPathFactory, database: PostgresServer
) -> None:
    """Acknowledged before, 503 while down, acknowledged again after: the history holds
    exactly the acknowledged values."""
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


STORAGE_UNAVAILABLE = {
    "error": {"message": "Storage is unavailable; nothing was stored. Try again."}
}


@pytest.mark.postgres
def test_requests_that_need_the_stopped_database_answer_503_in_their_format(
    tmp_path_factory: pytest.TempPathFactory, database: PostgresServer
) -> None:
    """While PostgreSQL is down, a Platform API read, a device API property write, a legacy API
    property write and a console sign-in each answer 503 in their family's shape (a server
    error would be a bug); once it is back, they answer as before."""
    data_dir = tmp_path_factory.mktemp("data")
    extra = ("--database-url", database.url)
    created = provision(load_spec(1), *extra, data_dir=data_dir)
    (device,) = created["devices"]
    token = device["token"]
    with (
        ServerProcess(data_dir, *extra, env=UNTHROTTLED) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as http,
    ):
        headers = org_headers(http, created)

        def platform_read() -> httpx.Response:
            return http.get(f"/api/v1/organization/device?deviceId={device['id']}", headers=headers)

        def property_write() -> httpx.Response:
            return http.get(f"/external/api/update/property?token={token}&pin=v2&label=Out")

        def legacy_property_write() -> httpx.Response:
            return http.get(f"/{token}/update/V2?label=Out")

        def console_sign_in() -> httpx.Response:
            form = {"email": "nobody@acme.test", "password": "not the password"}
            return http.post("/dashboard/login", data=form)

        assert platform_read().status_code == 200
        database.halt()
        answers = {
            call.__name__: call()
            for call in (platform_read, property_write, legacy_property_write, console_sign_in)
        }
        assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(answers, 503)
        assert answers["platform_read"].json() == STORAGE_UNAVAILABLE
        assert answers["property_write"].json() == STORAGE_UNAVAILABLE
        assert answers["legacy_property_write"].text == (
            "Storage is unavailable; nothing was stored. Try again."
        )
        assert "text/html" in answers["console_sign_in"].headers["content-type"]
        assert "cannot be reached" in answers["console_sign_in"].text
        database.resume()
        assert [platform_read().status_code, property_write().status_code] == [200, 200]
        assert "http.unhandled" not in server.log()
