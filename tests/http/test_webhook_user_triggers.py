"""The user and organization webhook triggers (automations.md §4.2, behind
``webhooks.enterprise_triggers``), in process with a real local receiver: adding, changing and
deleting a user and creating an organization fire the webhooks of the organization concerned (or
one above it) with the ``user_*`` placeholders, never another organization's."""

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from webhook_site import HOOKS, org_spec, webhook_server

from inprocess import InProcessServer, bearer
from pinbase.domain.ids import OrgId
from pinbase.domain.users import password_hash
from pinbase.services.console_caller import ConsoleCaller, permissions_of
from pinbase.services.oauth import Caller
from webhook_receiver import Received, Receiver, threaded_receiver

USER_BODY = (
    '{"id": "{user_id}", "email": "{user_email}", "name": "{user_name}", '
    '"org": "{user_orgName}", "role": "{user_roleName}", "country": "{user_country}", '
    '"devices": "{user_ownDevicesCount}"}'
)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """A receiver in a thread of its own."""
    with threaded_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """A server with the enterprise triggers on and 127.0.0.1 allow-listed."""
    folder: Path = tmp_path_factory.mktemp("user-triggers")
    with webhook_server(folder, webhooks_enterprise_triggers=True) as server:
        yield server


def add_hook(http: httpx.Client, headers: dict[str, str], kind: str, url: str) -> None:
    """A JSON POST webhook of one trigger kind."""
    answer = http.post(
        HOOKS,
        headers=headers,
        json={
            "name": kind.replace("_", " ").title(),
            "trigger": {"kind": kind},
            "method": "POST",
            "contentType": "JSON",
            "url": url,
            "body": USER_BODY if kind.startswith("USER_") else '{"org": "{organization_name}"}',
        },
    )
    assert answer.status_code == 201, answer.text


def delivered(
    app: InProcessServer, receiver: Receiver, wanted: Callable[[list[Received]], bool]
) -> list[Received]:
    """What the receiver got once ``wanted`` holds (the trigger task runs in the background)."""
    deadline = time.monotonic() + 10
    while not wanted(list(receiver.received)):
        assert time.monotonic() < deadline, [r.target for r in receiver.received]
        app.run(app.services.outbox.run_due)
        time.sleep(0.01)
    return list(receiver.received)


def test_user_and_organization_triggers_fire_for_their_organization(
    app: InProcessServer, receiver: Receiver
) -> None:
    """Creating, changing and deleting a user and creating a sub-organization each fire their
    webhook once with the placeholders filled; the other organization's webhooks stay silent."""
    acme = app.provision(org_spec("Acme"))
    other = app.provision(org_spec("Other Corp"))
    acme_id = acme["organization"]["id"]
    with app.client() as http:
        headers = bearer(http, acme)
        for kind, path in (
            ("USER_ADDED", "added"),
            ("USER_METADATA_UPDATED", "updated"),
            ("USER_DELETED", "deleted"),
            ("ORGANIZATION_CREATED", "org"),
        ):
            add_hook(http, headers, kind, f"{receiver.url}/acme/{path}")
        other_headers = bearer(http, other)
        for kind in ("USER_ADDED", "USER_DELETED", "ORGANIZATION_CREATED"):
            add_hook(http, other_headers, kind, f"{receiver.url}/other/{kind}")
        before = len(receiver.received)
        email = "nina@acme.test"
        made = http.post(
            "/api/v1/organization/users/create-in-org",
            headers=headers,
            json={
                "email": email,
                "passwordHash": password_hash(email, "secret pass"),
                "name": "Nina",
                "orgId": acme_id,
                "roleId": 3,
                "address": {"country": "Norway"},
            },
        )
        assert made.status_code == 201, made.text
        user_id = made.json()["id"]
        changed = http.put(
            "/api/v1/organization/users/role",
            headers=headers,
            params={"userId": user_id, "roleId": 2},
        )
        assert changed.status_code == 200, changed.text
        created_org = http.post(
            "/api/v1/organization/create",
            headers=headers,
            json={"name": "Acme North", "type": "BUSINESS"},
        )
        assert created_org.status_code == 201, created_org.text
    scope = app.services.directory.subtree(OrgId(acme_id))
    caller = Caller(client_id="t", org_id=OrgId(acme_id), scope=scope)
    app.run(lambda: app.services.users.delete(caller, user_id))
    got = delivered(app, receiver, lambda found: len(found) >= before + 4)
    by_path = {r.target: json.loads(r.body) for r in got[before:]}
    expected_user = {
        "id": str(user_id),
        "email": email,
        "name": "Nina",
        "org": "Acme",
        "country": "Norway",
        "devices": "0",
    }
    assert by_path["/acme/added"] == {**expected_user, "role": "User"}
    assert by_path["/acme/updated"] == {**expected_user, "role": "Staff"}
    assert by_path["/acme/deleted"] == {**expected_user, "role": "", "country": ""}
    assert by_path["/acme/org"] == {"org": "Acme North"}
    app.run(app.services.outbox.run_due)
    assert not [r.target for r in receiver.received if r.target.startswith("/other/")]
    assert len(receiver.received) == before + 4


def test_an_invited_user_signing_up_fires_user_signed_up(
    app: InProcessServer, receiver: Receiver
) -> None:
    """An invited user choosing its password from the invitation link fires USER_SIGNED_UP."""
    spec = org_spec("Signup Org")
    spec["users"] = [
        {"email": "boss@signup.test", "name": "Boss", "roleId": 1, "password": "boss pass"}
    ]
    created = app.provision(spec)
    org = OrgId(created["organization"]["id"])
    with app.client() as http:
        add_hook(http, bearer(http, created), "USER_SIGNED_UP", f"{receiver.url}/signup")
    caller = Caller(client_id="t", org_id=org, scope=frozenset({org}))
    invited = app.run(
        lambda: app.services.users.invite(
            caller, org_id=None, role_id=3, email="ivy@signup.test", name="Ivy", locale=None
        )
    )
    admin = ConsoleCaller(
        user_id=created["users"][0]["id"],
        email="boss@signup.test",
        name="Boss",
        role_id=1,
        org_id=org,
        scope=frozenset({org}),
        permissions=permissions_of(1),
    )
    link = app.run(lambda: app.services.invitations.invitation_link(admin, invited.id))
    with app.client() as http:
        answer = http.post(
            f"/dashboard/invite/{link.token}",
            data={"password": "s3cret-enough", "confirmation": "s3cret-enough"},
        )
        assert answer.status_code == 303, answer.text
    got = delivered(app, receiver, lambda found: any(r.target == "/signup" for r in found))
    (signed_up,) = [json.loads(r.body) for r in got if r.target == "/signup"]
    assert signed_up == {
        "id": str(invited.id),
        "email": "ivy@signup.test",
        "name": "Ivy",
        "org": "Signup Org",
        "role": "User",
        "country": "",
        "devices": "0",
    }
