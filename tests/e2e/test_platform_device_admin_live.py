"""Deleting devices beyond the session server: a live device connection is closed (PLT-DEV-11
with a device listener), and deletes and erases on PostgreSQL, whose foreign keys are enforced.
"""

import asyncio
import socket
import struct
from pathlib import Path
from typing import Any

import httpx
import pytest
from fleet import DEVICE_TABLES
from platform_http import org_headers
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import create_async_engine

from pinbase.testing import ServerProcess, free_port, provision
from testspec import load_spec

DEVICE = "/api/v1/organization/device"
INVALID_TOKEN = {"error": {"message": "Invalid token."}}


def login_frame(token: str) -> bytes:
    """HW_LOGIN with message id 1."""
    return struct.pack(">BHH", 29, 1, len(token)) + token.encode()


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or the timeout hits)."""
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def test_deleting_a_connected_device_closes_its_connection(tmp_path: Path) -> None:
    """The device's TCP session ends; its token is refused from then on."""
    created = provision(load_spec(2), data_dir=tmp_path)
    device = created["devices"][0]
    port = free_port()
    with (
        ServerProcess(tmp_path, "--hardware-port", str(port)) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
        socket.create_connection(("127.0.0.1", port), timeout=15) as sock,
    ):
        sock.sendall(login_frame(device["token"]))
        assert sock.recv(5) == bytes.fromhex("00 00 01 00 c8")
        token = device["token"]
        assert http.get(f"/external/api/isHardwareConnected?token={token}").text == "true"
        headers = org_headers(http, created)
        answer = http.delete(f"{DEVICE}?deviceId={device['id']}", headers=headers)
        assert answer.status_code == 204
        read_until_closed(sock)  # returns only once the server closed the socket
        refused = http.get(f"/external/api/isHardwareConnected?token={token}")
        assert (refused.status_code, refused.json()) == (400, INVALID_TOKEN)
        sock.close()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as again:
            again.sendall(login_frame(token))
            assert again.recv(5)[-2:] != b"\x00\xc8"


# --- PostgreSQL ---------------------------------------------------------------------------


def run_sql(url: str, statement: str, **params: Any) -> list[Any]:
    """Run one statement on PostgreSQL directly; the rows it returned, if any."""

    async def run() -> list[Any]:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(statement), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def rows_of(url: str, device_id: int) -> dict[str, int]:
    """How many rows each device table holds for ``device_id`` on PostgreSQL."""
    counted = {"devices": "id", **dict.fromkeys(DEVICE_TABLES, "device_id")}
    query = "SELECT COUNT(*) FROM {} WHERE {} = :id"
    return {
        table: run_sql(url, query.format(table, column), id=device_id)[0][0]
        for table, column in counted.items()
    }


@pytest.mark.postgres
def test_delete_and_erase_on_postgres(database_url: str, tmp_path: Path) -> None:
    """Every referencing row goes before the device row, so PostgreSQL's foreign keys hold;
    erase keeps the device."""
    created = provision(load_spec(2), "--database-url", database_url, data_dir=tmp_path)
    doomed, erased = created["devices"]
    org_id = created["organization"]["id"]
    run_sql(
        database_url,
        "INSERT INTO tags (org_id, name, created_at) VALUES (:org, 'kitchen', 0)",
        org=org_id,
    )
    run_sql(
        database_url,
        "INSERT INTO device_tags (device_id, tag_id) SELECT :id, id FROM tags",
        id=doomed["id"],
    )
    with (
        ServerProcess(tmp_path, "--database-url", database_url) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        headers = org_headers(http, created)
        for device in (doomed, erased):
            token = device["token"]
            assert http.get(f"/external/api/update?token={token}&v1=5").status_code == 200
            assert http.get(f"/external/api/logEvent?token={token}&code=overheat").is_success
            written = http.post(
                f"{DEVICE}/datastream/property",
                json={
                    "deviceId": device["id"],
                    "dataStreamId": 1,
                    "property": "label",
                    "value": "x",
                },
                headers=headers,
            )
            assert written.status_code == 204
        assert rows_of(database_url, doomed["id"])["device_tags"] == 1
        answer = http.delete(f"{DEVICE}?deviceId={doomed['id']}", headers=headers)
        assert answer.status_code == 204, answer.text
        assert set(rows_of(database_url, doomed["id"]).values()) == {0}
        cleared = http.delete(f"{DEVICE}/clear?deviceId={erased['id']}", headers=headers)
        assert cleared.status_code == 204, cleared.text
        left = rows_of(database_url, erased["id"])
        assert left["current_values"] == left["history"] == left["properties"] == 0
        assert left["devices"] == left["device_events"] == 1
        assert http.get(f"/external/api/get?token={erased['token']}&v1").content == b""
