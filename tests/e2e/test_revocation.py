"""Deleting an organization, an OAuth client, a user or a device revokes what was derived from
it on the very next request, on SQLite and PostgreSQL, and no deleted id is handed out again.

Each test runs its own ``pinbase serve`` over a real socket on a fresh database.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from platform_http import bearer, error, issue_token, org_headers

from pinbase.testing import ServerProcess, provision, run_cli
from testspec import load_spec

ORGS = "/api/v1/organization"
DEVICES = f"{ORGS}/devices?includeSubOrgDevices=true"
UNAUTHORIZED = (401, error("Unauthorized"))
INVALID_TOKEN = (400, error("Invalid token."))
OWNER = "owner@example.com"
"""Organization A's user, who owns its provisioned device."""
ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass(frozen=True, slots=True)
class Deployment:
    """A running server on a fresh database, its provisioned organization A and A's header."""

    data_dir: Path
    engine: tuple[str, ...]
    """``--database-url URL`` for PostgreSQL, nothing for SQLite: the CLI needs it too."""
    created: dict[str, Any]
    server: ServerProcess
    http: httpx.Client
    headers: dict[str, str]

    def cli(self, *args: str) -> Any:
        """Run a ``pinbase`` command on the deployment's database and decode its JSON output."""
        done = run_cli(*args, "--data", str(self.data_dir), *self.engine)
        return json.loads(done.stdout) if done.stdout.strip() else None

    def create_org(self, name: str) -> dict[str, Any]:
        """A sub-organization of A (PLT-ORG-04)."""
        answer = self.http.post(
            f"{ORGS}/create", headers=self.headers, json={"name": name, "type": "BUSINESS"}
        )
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    def create_device(self, org_id: int, name: str) -> dict[str, Any]:
        """A device of A's template in ``org_id`` (PLT-DEV-09)."""
        template = self.created["templates"][0]["templateId"]
        answer = self.http.post(
            f"{ORGS}/device/create",
            headers=self.headers,
            json={
                "name": name,
                "templateId": template,
                "orgId": org_id,
                "ownerId": self.created["users"][0]["id"],
            },
        )
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    def client_of(self, org_id: int) -> tuple[str, str]:
        """A new OAuth client of ``org_id``, made by ``pinbase oauth create-client``."""
        made = self.cli("oauth", "create-client", "--org", str(org_id), "--name", "stale")
        return made["clientId"], made["clientSecret"]


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra server environment; a test parametrizes it to change a setting."""
    return {}


@pytest.fixture(params=ENGINES)
def deployment(
    request: pytest.FixtureRequest, tmp_path: Path, server_env: dict[str, str]
) -> Iterator[Deployment]:
    """A provisioned organization A with one user owning one device, served on SQLite or
    PostgreSQL."""
    engine: tuple[str, ...] = ()
    if request.param == "postgres":
        engine = ("--database-url", request.getfixturevalue("database_url"))
    spec = load_spec(1)
    spec["users"] = [{"email": OWNER, "name": "Owner", "roleId": 1, "password": "secret"}]
    spec["devices"][0]["owner"] = OWNER
    created = provision(spec, *engine, data_dir=tmp_path)
    with (
        ServerProcess(tmp_path, *engine, env=server_env) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        yield Deployment(
            data_dir=tmp_path,
            engine=engine,
            created=created,
            server=server,
            http=http,
            headers=org_headers(http, created),
        )


def answer_of(response: httpx.Response) -> tuple[int, Any]:
    """Status and decoded body, for comparing with an expected pair."""
    return response.status_code, response.json()


def test_a_deleted_organizations_token_cannot_read_the_next_organization(
    deployment: Deployment,
) -> None:
    """The attack of issue #8: a stale access token of a deleted organization is refused, its
    refresh token too, and the organization created next gets a new id, so nothing naming the
    old one reaches it."""
    d = deployment
    doomed = d.create_org("Doomed")
    client = d.client_of(doomed["id"])
    pair = issue_token(d.http, client)
    stale = bearer(pair["access_token"])
    assert d.http.get(f"{ORGS}/profile", headers=stale).status_code == 200
    deleted = d.http.delete(f"{ORGS}?orgId={doomed['id']}", headers=d.headers)
    assert deleted.status_code == 204, deleted.text
    assert answer_of(d.http.get(f"{ORGS}/profile", headers=stale)) == UNAUTHORIZED

    successor = d.create_org("Successor")
    d.create_device(successor["id"], "Successor device")
    for request in (
        d.http.build_request("GET", DEVICES, headers=stale),
        d.http.build_request("GET", f"{ORGS}/profile", headers=stale),
        d.http.build_request(
            "POST",
            f"{ORGS}/users/create",
            headers=stale,
            json={"email": "x@example.com", "name": "X", "roleId": 2, "orgId": successor["id"]},
        ),
    ):
        assert answer_of(d.http.send(request)) == UNAUTHORIZED
    assert successor["id"] != doomed["id"]
    refreshed = d.http.post(
        "/oauth2/token",
        params={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
        auth=client,
    )
    assert (refreshed.status_code, refreshed.json()["error"]) == (400, "invalid_client")


@pytest.mark.parametrize("server_env", [{"PINBASE_ACCESS_TOKEN_RECHECK_S": "0"}])
def test_a_deleted_oauth_clients_token_is_refused(deployment: Deployment) -> None:
    """``pinbase oauth delete-client``, run by another process, revokes the client's tokens; with
    ``access_token_recheck_s`` at 0 the server refuses them on the very next request. Another
    client of the same organization keeps working."""
    d = deployment
    client = d.client_of(d.created["organization"]["id"])
    doomed = bearer(issue_token(d.http, client)["access_token"])
    assert d.http.get(f"{ORGS}/profile", headers=doomed).status_code == 200
    assert d.cli("oauth", "delete-client", client[0]) == {"deleted": client[0]}
    assert answer_of(d.http.get(f"{ORGS}/profile", headers=doomed)) == UNAUTHORIZED
    assert d.http.get(f"{ORGS}/profile", headers=d.headers).status_code == 200
    again = d.http.post("/oauth2/token?grant_type=client_credentials", auth=client)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_client")


def test_a_deleted_devices_token_is_refused(deployment: Deployment) -> None:
    """After PLT-DEV-11 the device's token answers ``Invalid token.`` on the device and legacy
    APIs at once, and a new device never gets the deleted one's id."""
    d = deployment
    device = d.create_device(d.created["organization"]["id"], "Doomed device")
    token = device["token"]
    assert d.http.get(f"/external/api/update?token={token}&v1=7").status_code == 200
    deleted = d.http.delete(f"{ORGS}/device?deviceId={device['id']}", headers=d.headers)
    assert deleted.status_code == 204, deleted.text
    assert answer_of(d.http.get(f"/external/api/get?token={token}&v1")) == INVALID_TOKEN
    assert answer_of(d.http.get(f"/external/api/update?token={token}&v1=8")) == INVALID_TOKEN
    assert d.http.get(f"/{token}/get/v1").status_code == 400
    successor = d.create_device(d.created["organization"]["id"], "Successor device")
    assert successor["id"] > device["id"]
