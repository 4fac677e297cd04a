"""Deleting a user (the console's use case, issue #9; the Platform API has no endpoint for it),
in process on SQLite and PostgreSQL: its devices lose their owner at once, in memory and in
storage, as the Platform API shows them."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pinbase.domain.ids import DeviceId, OrgId
from pinbase.http.app import create_app
from pinbase.runtime import running_services
from pinbase.services.oauth import Caller
from pinbase.services.provisioning import parse_spec, provision
from pinbase.services.users import UserNotFound, Users
from pinbase.settings import Settings
from postgres import BACKENDS, empty_database

SPEC = {
    "organization": {"name": "Acme"},
    "oauthClients": [{"name": "console"}],
    "users": [
        {"email": "gone@example.com", "name": "Gone", "roleId": 2, "password": "x"},
        {"email": "kept@example.com", "name": "Kept", "roleId": 2, "password": "x"},
    ],
    "templates": [{"name": "Sensor", "datastreams": []}],
    "devices": [
        {"name": "Orphan", "template": "Sensor", "owner": "gone@example.com"},
        {"name": "Owned", "template": "Sensor", "owner": "kept@example.com"},
    ],
}


@pytest.fixture(params=BACKENDS)
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings naming an empty database: a SQLite file in ``tmp_path``, or a new PostgreSQL one."""
    async with empty_database(request, tmp_path) as settings:
        yield settings


async def owners(http: httpx.AsyncClient, client: dict[str, Any]) -> dict[str, int | None]:
    """``ownerUserId`` of each device by name, through PLT-DEV-01 with a fresh token."""
    issued = await http.post(
        "/oauth2/token?grant_type=client_credentials",
        auth=(client["clientId"], client["clientSecret"]),
    )
    assert issued.status_code == 200, issued.text
    headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    answer = await http.get("/api/v1/organization/devices", headers=headers)
    assert answer.status_code == 200, answer.text
    return {d["name"]: d["ownerUserId"] for d in answer.json()["content"]}


async def test_a_deleted_users_devices_lose_their_owner(settings: Settings) -> None:
    """After ``Users.delete`` the Platform API shows the user's device without an owner; the
    other user's device keeps its owner; a second delete finds no user."""
    async with running_services(settings) as services:
        created = await provision(
            services.store, parse_spec(SPEC), clock=services.clock, bus=services.bus
        )
        gone, kept = (user["id"] for user in created["users"])
        org_id = OrgId(created["organization"]["id"])
        caller = Caller(client_id="console", org_id=org_id, scope=frozenset({org_id}))
        users = Users(services.store, services.directory, services.bus, services.clock)
        transport = httpx.ASGITransport(app=create_app(services, settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            client = created["oauthClients"][0]
            assert await owners(http, client) == {"Orphan": gone, "Owned": kept}
            await users.delete(caller, gone)
            assert await owners(http, client) == {"Orphan": None, "Owned": kept}
        with pytest.raises(UserNotFound):
            await users.delete(caller, gone)
        async with services.store.transaction() as tx:
            stored = await tx.find_device_by_id(DeviceId(created["devices"][0]["id"]))
        assert stored is not None
        assert stored.owner_user_id is None


async def test_a_user_outside_the_callers_scope_is_not_deleted(settings: Settings) -> None:
    """Another organization's user is reported missing and stays."""
    async with running_services(settings) as services:
        created = await provision(
            services.store, parse_spec(SPEC), clock=services.clock, bus=services.bus
        )
        stranger = Caller(client_id="other", org_id=OrgId(999), scope=frozenset({OrgId(999)}))
        users = Users(services.store, services.directory, services.bus, services.clock)
        user_id = created["users"][0]["id"]
        with pytest.raises(UserNotFound):
            await users.delete(stranger, user_id)
        async with services.store.transaction() as tx:
            assert await tx.find_user(user_id) is not None
