"""The webhook gaps of issue #10 (session 3), in process with a real local receiver: "New Device
Activated By User" from the Platform API and the console, the device location placeholders,
``USER_DELETED`` for users deleted with their organization, ``USER_ADDED`` for provisioned
users, and ``legacyResponseToPin`` accepted only where it can work (automations.md §4.2, §4.5,
§4.6)."""

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_site import ADMIN, PASSWORD, acme_spec, sign_in
from webhook_site import HOOKS, org_spec, webhook_server

from inprocess import InProcessServer, bearer
from pinbase.domain.ids import OrgId
from pinbase.domain.users import password_hash
from pinbase.domain.webhooks import Trigger, TriggerKind, WebhookSpec
from pinbase.services.oauth import Caller
from pinbase.services.provisioning import parse_spec, provision
from pinbase.services.reactions.webhook_json import webhook_json
from pinbase.services.reactions.webhook_triggers import RenderLimits
from webhook_receiver import Received, Receiver, threaded_receiver

ADDRESS = '{"fullAddress": "1 Lake Road", "city": "Oslo", "country": "Norway", "state": "Oslo", '
ADDRESS += '"zip": "0150"}'
ACTIVATED_BODY = (
    '{"device": "{device_name}", "id": "{device_id}", "product": "{device_productName}", '
    '"country": "{device_country}", "state": "{device_state}", "zip": "{device_zipCode}", '
    '"user": "{user_email}", "userName": "{user_name}", "org": "{user_orgName}", '
    '"owned": "{user_ownDevicesCount}", "byProduct": {user_devicesCountByProductName}, '
    '"tags": "{user_assignedTags}"}'
)
USER_BODY = '{"id": "{user_id}", "email": "{user_email}", "name": "{user_name}", '
USER_BODY += '"org": "{user_orgName}"}'


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """A receiver in a thread of its own."""
    with threaded_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """A server with the enterprise triggers on and 127.0.0.1 allow-listed."""
    folder: Path = tmp_path_factory.mktemp("webhook-gaps")
    with webhook_server(folder, webhooks_enterprise_triggers=True) as server:
        yield server


def add_hook(
    http: httpx.Client, headers: dict[str, str], kind: str, url: str, body: str
) -> dict[str, Any]:
    """A JSON POST webhook of one trigger kind; its JSON."""
    answer = http.post(
        HOOKS,
        headers=headers,
        json={
            "name": kind.replace("_", " ").title(),
            "trigger": {"kind": kind},
            "method": "POST",
            "contentType": "JSON",
            "url": url,
            "body": body,
        },
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


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


def bodies(received: list[Received], target: str) -> list[Any]:
    """The JSON bodies that arrived at ``target``."""
    return [json.loads(r.body) for r in received if r.target == target]


def test_a_device_created_for_a_user_fires_device_activated_with_its_location(
    app: InProcessServer, receiver: Receiver
) -> None:
    """PLT-DEV-09 creating a device for a user fires DEVICE_ACTIVATED once with the device
    placeholders, the Location metafield's country, state and zip, and the owner's ``user_*``
    ones; another organization's DEVICE_ACTIVATED webhook stays silent."""
    spec = org_spec("Lakeside")
    spec["templates"][0]["metafields"] = [
        {"name": "Location", "type": "Location", "defaultValue": ADDRESS}
    ]
    spec["users"] = [
        {"email": "lena@lakeside.test", "name": "Lena", "roleId": 1, "password": "lena pass"}
    ]
    lakeside = app.provision(spec)
    other = app.provision(org_spec("Faraway"))
    with app.client() as http:
        headers = bearer(http, lakeside)
        add_hook(
            http, headers, "DEVICE_ACTIVATED", f"{receiver.url}/lake/activated", ACTIVATED_BODY
        )
        add_hook(
            http,
            bearer(http, other),
            "DEVICE_ACTIVATED",
            f"{receiver.url}/faraway/activated",
            ACTIVATED_BODY,
        )
        made = http.post(
            "/api/v1/organization/device/create",
            headers=headers,
            json={
                "templateId": lakeside["templates"][0]["templateId"],
                "name": "Pump 7",
                "ownerId": lakeside["users"][0]["id"],
            },
        )
        assert made.status_code == 201, made.text
    got = delivered(app, receiver, lambda found: bool(bodies(found, "/lake/activated")))
    assert bodies(got, "/lake/activated") == [
        {
            "device": "Pump 7",
            "id": str(made.json()["id"]),
            "product": "Tank",
            "country": "Norway",
            "state": "Oslo",
            "zip": "0150",
            "user": "lena@lakeside.test",
            "userName": "Lena",
            "org": "Lakeside",
            "owned": "1",
            "byProduct": {"Tank": 1},
            "tags": "",
        }
    ]
    app.run(app.services.outbox.run_due)
    assert not bodies(list(receiver.received), "/faraway/activated")


def test_a_device_made_in_the_console_fires_device_activated_by_the_signed_in_user(
    app: InProcessServer, receiver: Receiver
) -> None:
    """The console's webhook form offers "New Device Activated By User"; a device made on the
    console's new-device page fires it with the signed-in user, and a device without a Location
    metafield has empty location placeholders."""
    acme = app.provision(acme_spec())
    with app.client() as http:
        csrf = sign_in(http, ADMIN)
        page = http.get("/dashboard/webhooks/new")
        assert page.status_code == 200, page.text
        assert re.search(
            r'<option value="DEVICE_ACTIVATED"[^>]*>New Device Activated By User', page.text
        )
        saved = http.post(
            "/dashboard/webhooks",
            data={
                "csrf_token": csrf,
                "op": "save",
                "trigger": "DEVICE_ACTIVATED",
                "name": "New devices",
                "url": f"{receiver.url}/acme/activated",
                "method": "POST",
                "content-type": "JSON",
                "body": ACTIVATED_BODY,
                "auth": "NONE",
                "threshold": "1",
            },
        )
        assert saved.status_code == 303, saved.text
        made = http.post(
            "/dashboard/devices/new",
            data={
                "csrf_token": csrf,
                "template": acme["templates"][0]["templateId"],
                "name": "Greenhouse East",
            },
        )
        assert made.status_code == 200, made.text
    got = delivered(app, receiver, lambda found: bool(bodies(found, "/acme/activated")))
    [body] = bodies(got, "/acme/activated")
    assert body["device"] == "Greenhouse East"
    assert body["user"] == ADMIN
    assert body["userName"] == "Ada Admin"
    assert (body["country"], body["state"], body["zip"]) == ("", "", "")
    assert body["byProduct"] == {"Greenhouse": 1}


def test_users_deleted_with_their_organization_fire_user_deleted_above_it(
    app: InProcessServer, receiver: Receiver
) -> None:
    """Deleting a sub-organization fires the parent's USER_DELETED webhook for each of its users
    with their e-mail, name and organization name; the deleted organization's own webhook, gone
    with it, is not even queued."""
    holding = app.provision(org_spec("Holding"))
    holding_id = OrgId(holding["organization"]["id"])
    with app.client() as http:
        headers = bearer(http, holding)
        add_hook(http, headers, "USER_DELETED", f"{receiver.url}/holding/deleted", USER_BODY)
        branch = http.post(
            "/api/v1/organization/create",
            headers=headers,
            json={"name": "Branch", "type": "BUSINESS"},
        )
        assert branch.status_code == 201, branch.text
        branch_id = branch.json()["id"]
        email = "bo@branch.test"
        member = http.post(
            "/api/v1/organization/users/create-in-org",
            headers=headers,
            json={
                "email": email,
                "passwordHash": password_hash(email, "bo password"),
                "name": "Bo",
                "orgId": branch_id,
                "roleId": 3,
            },
        )
        assert member.status_code == 201, member.text
        branch_caller = Caller(
            client_id="t", org_id=OrgId(branch_id), scope=frozenset({OrgId(branch_id)})
        )
        own = WebhookSpec(
            name="Branch own",
            trigger=Trigger(kind=TriggerKind.USER_DELETED),
            url=f"{receiver.url}/branch/deleted",
            body=USER_BODY,
        )
        branch_hook = app.run(lambda: app.services.webhooks.create(branch_caller, own))
        removed = http.delete("/api/v1/organization", headers=headers, params={"orgId": branch_id})
        assert removed.status_code == 204, removed.text
    got = delivered(app, receiver, lambda found: bool(bodies(found, "/holding/deleted")))
    assert bodies(got, "/holding/deleted") == [
        {"id": str(member.json()["id"]), "email": email, "name": "Bo", "org": "Branch"}
    ]
    app.run(app.services.outbox.run_due)
    assert not bodies(list(receiver.received), "/branch/deleted")
    with sqlite3.connect(f"file:{app.data_dir / 'pinbase.db'}?mode=ro", uri=True) as db:
        queued = db.execute(
            "SELECT count(*) FROM outbox WHERE source = 'WEBHOOK' AND source_ref = ?",
            (str(branch_hook.id),),
        ).fetchone()
    assert queued == (0,)
    assert app.services.directory.organization(holding_id) is not None


def test_provisioned_users_fire_user_added_through_the_outbox(
    app: InProcessServer, receiver: Receiver
) -> None:
    """A provisioning file's users fire its USER_ADDED webhook, committed with them; over the
    rate limit the rest are logged RATE_LIMITED; without the enterprise triggers nothing is
    queued. The file may hold a DEVICE_ACTIVATED webhook; its own devices do not fire it."""
    spec = org_spec("Newcomers")
    spec["users"] = [
        {"email": f"{name.lower()}@newcomers.test", "name": name, "roleId": 3, "password": "pw"}
        for name in ("Ann", "Ben", "Cid")
    ]
    spec["webhooks"] = [
        {
            "name": "Welcome",
            "trigger": {"kind": "USER_ADDED"},
            "url": f"{receiver.url}/newcomers/added",
            "body": USER_BODY,
        },
        {
            "name": "Activations",
            "trigger": {"kind": "DEVICE_ACTIVATED"},
            "url": f"{receiver.url}/newcomers/activated",
        },
    ]
    services = app.services
    limits = RenderLimits(rate_per_minute=2)
    created = app.run(
        lambda: provision(
            services.store,
            parse_spec(spec),
            clock=services.clock,
            bus=services.bus,
            user_triggers=limits,
        )
    )
    got = delivered(app, receiver, lambda found: len(bodies(found, "/newcomers/added")) >= 2)
    assert sorted(b["email"] for b in bodies(got, "/newcomers/added")) == [
        "ann@newcomers.test",
        "ben@newcomers.test",
    ]
    assert {b["org"] for b in bodies(got, "/newcomers/added")} == {"Newcomers"}
    org = OrgId(created["organization"]["id"])
    caller = Caller(client_id="t", org_id=org, scope=frozenset({org}))
    hook, activations = created["webhooks"]
    assert activations["name"] == "Activations"
    log = app.run(lambda: services.webhooks.log(caller, hook["id"], since=0, until=2**53))
    assert [entry.reason for entry in log if entry.reason] == ["RATE_LIMITED"]
    spec["organization"] = {"name": "Quiet"}
    spec["webhooks"][0]["url"] = f"{receiver.url}/quiet/added"
    for user in spec["users"]:
        user["email"] = user["email"].replace("newcomers", "quiet")
    app.run(
        lambda: provision(services.store, parse_spec(spec), clock=services.clock, bus=services.bus)
    )
    app.run(services.outbox.run_due)
    assert not bodies(list(receiver.received), "/quiet/added")
    assert not [r for r in receiver.received if r.target == "/newcomers/activated"]


def test_legacy_response_to_pin_is_kept_and_needs_a_datastream_trigger(
    app: InProcessServer,
) -> None:
    """``legacyResponseToPin`` round-trips through the Platform API extension on a datastream
    webhook, and is refused (400) on any other trigger."""
    made = app.provision(org_spec("Legacy Co"))
    device_id = made["devices"][0]["id"]
    base = {"name": "Echo", "url": "http://127.0.0.1:9/echo", "legacyResponseToPin": True}
    with app.client() as http:
        headers = bearer(http, made)
        refused = http.post(
            HOOKS, headers=headers, json={**base, "trigger": {"kind": "USER_ADDED"}}
        )
        assert refused.status_code == 400
        assert "legacyResponseToPin needs a datastream trigger" in refused.text
        saved = http.post(
            HOOKS,
            headers=headers,
            json={
                **base,
                "trigger": {"kind": "DEVICE_DATASTREAM", "deviceId": device_id, "dataStreamId": 1},
            },
        )
        assert saved.status_code == 201, saved.text
        again = http.get(f"{HOOKS}/{saved.json()['id']}", headers=headers)
    assert again.json()["legacyResponseToPin"] is True
    org = OrgId(made["organization"]["id"])
    caller = Caller(client_id="t", org_id=org, scope=frozenset({org}))
    stored = app.run(lambda: app.services.webhooks.get(caller, saved.json()["id"]))
    assert webhook_json(stored)["legacyResponseToPin"] is True


def test_the_console_form_keeps_the_legacy_response_to_pin_choice(
    app: InProcessServer, receiver: Receiver
) -> None:
    """The webhook form's "Write the response to the datastream" box saves
    ``legacyResponseToPin`` for a datastream trigger, and the edit page shows it ticked."""
    spec = org_spec("Echo Farm")
    admin = "ed@echo.test"
    spec["users"] = [{"email": admin, "name": "Ed", "roleId": 1, "password": PASSWORD}]
    made = app.provision(spec)
    device_id = made["devices"][0]["id"]
    with app.client() as http:
        csrf = sign_in(http, admin)
        saved = http.post(
            "/dashboard/webhooks",
            data={
                "csrf_token": csrf,
                "op": "save",
                "trigger": "DEVICE_DATASTREAM",
                "device-target": f"{device_id}:1",
                "response-to-pin": "on",
                "name": "Echo",
                "url": f"{receiver.url}/echo?v=/pin/",
                "method": "GET",
                "content-type": "PLAIN_TEXT",
                "auth": "NONE",
                "threshold": "1",
            },
        )
        assert saved.status_code == 303, saved.text
        edit = http.get(saved.headers["location"].split("?")[0])
    assert re.search(r'name="response-to-pin" value="on" checked', edit.text)
    org = OrgId(made["organization"]["id"])
    caller = Caller(client_id="t", org_id=org, scope=frozenset({org}))
    [stored] = app.run(lambda: app.services.webhooks.list(caller))
    assert stored.webhook.spec.legacy_response_to_pin
