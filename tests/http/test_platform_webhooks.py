"""The webhooks extension of the Platform API (docs/platform-api.md), in process: create, read,
list, update, test, log and delete with the §4.1 JSON; secrets masked; other organizations get
404; bad input 400 in the API's error shape; the operations appear in ``/openapi.json``."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webhook_site import HOOKS, org_spec, webhook_server

from inprocess import InProcessServer, bearer
from webhook_receiver import Receiver, threaded_receiver


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """A receiver in a thread of its own."""
    with threaded_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """A server of its own with 127.0.0.1 allow-listed."""
    folder: Path = tmp_path_factory.mktemp("webhooks-api")
    with webhook_server(folder) as server:
        yield server


@pytest.fixture(scope="module")
def acme(app: InProcessServer) -> dict[str, Any]:
    """An organization with a client, a template and a device."""
    return app.provision(org_spec("Acme"))


def hook_json(receiver: Receiver, device_id: int, **changes: Any) -> dict[str, Any]:
    """A webhook on the device's datastream 1 posting to the receiver."""
    return {
        "name": "Level hook",
        "trigger": {"kind": "DEVICE_DATASTREAM", "deviceId": device_id, "dataStreamId": 1},
        "method": "POST",
        "contentType": "JSON",
        "url": f"{receiver.url}/api",
        "body": '{"v": {device_pinValue}}',
        "headers": [{"key": "X-Source", "value": "pinbase"}],
        "auth": {"kind": "BASIC", "username": "u", "password": "hunter2"},
        **changes,
    }


def test_create_read_update_list_and_delete(
    app: InProcessServer, acme: dict[str, Any], receiver: Receiver
) -> None:
    """The §4.1 JSON round-trips with the password masked; an update keeps the secret sent
    back masked and raises the version; delete answers 204, then 404."""
    device_id = acme["devices"][0]["id"]
    with app.client() as http:
        headers = bearer(http, acme)
        created = http.post(HOOKS, headers=headers, json=hook_json(receiver, device_id))
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["auth"] == {"kind": "BASIC", "username": "u", "password": "••••••"}
        assert (body["version"], body["status"], body["attempts"]) == (1, "ENABLED", 0)
        hook = f"{HOOKS}/{body['id']}"
        assert http.get(hook, headers=headers).json() == body
        changed = hook_json(receiver, device_id, name="Renamed", auth=body["auth"])
        updated = http.put(hook, headers=headers, json=changed).json()
        assert (updated["name"], updated["version"]) == ("Renamed", 2)
        stored = app.run(lambda: app.services.webhooks.get(_caller(app, acme), body["id"]))
        assert stored.webhook.spec.auth.password == "hunter2"
        assert [h["id"] for h in http.get(HOOKS, headers=headers).json()] == [body["id"]]
        assert http.delete(hook, headers=headers).status_code == 204
        assert http.get(hook, headers=headers).status_code == 404


def test_test_action_and_log(
    app: InProcessServer, acme: dict[str, Any], receiver: Receiver
) -> None:
    """``/test`` answers the §4.8 shape and is not logged; a device write shows in ``/log``."""
    device = acme["devices"][0]
    with app.client() as http:
        headers = bearer(http, acme)
        body = http.post(HOOKS, headers=headers, json=hook_json(receiver, device["id"])).json()
        hook = f"{HOOKS}/{body['id']}"
        tested = http.post(f"{hook}/test", headers=headers)
        assert tested.status_code == 200, tested.text
        assert tested.json()["status"] == 200
        assert set(tested.json()) == {"status", "durationMs", "body", "error"}
        assert http.post(f"{hook}/test", headers=headers).status_code == 429
        before = len(receiver.received)
        written = http.get("/external/api/update", params={"token": device["token"], "v1": 42})
        assert written.status_code == 200
        app.run(app.services.outbox.run_due)
        assert receiver.received[before].body == b'{"v": 42}'
        [row] = http.get(f"{hook}/log", headers=headers).json()
        assert (row["status"], row["code"]) == ("OK", 200)
        assert http.get(hook, headers=headers).json()["attempts"] == 2
        http.delete(hook, headers=headers)


def test_other_organizations_and_bad_input(
    app: InProcessServer, acme: dict[str, Any], receiver: Receiver
) -> None:
    """Another organization's webhook and device are 404; junk is 400 with a message."""
    other = app.provision(org_spec("Other"))
    with app.client() as http:
        mine, theirs = bearer(http, acme), bearer(http, other)
        device_id = acme["devices"][0]["id"]
        body = http.post(HOOKS, headers=mine, json=hook_json(receiver, device_id)).json()
        hook = f"{HOOKS}/{body['id']}"
        for answer in (
            http.get(hook, headers=theirs),
            http.put(hook, headers=theirs, json=hook_json(receiver, device_id)),
            http.delete(hook, headers=theirs),
            http.post(f"{hook}/test", headers=theirs),
            http.get(f"{hook}/log", headers=theirs),
        ):
            assert answer.status_code == 404
            assert answer.json() == {"error": {"message": "Webhook not found."}}
        assert http.get(HOOKS, headers=theirs).json() == []
        stolen = http.post(HOOKS, headers=theirs, json=hook_json(receiver, device_id))
        assert stolen.status_code == 404
        for junk in (
            b"[]",
            b"{",
            b'{"name": "x"}',
            b'{"name": "bad_name!", "trigger": {"kind": "DEVICE_DATASTREAM"}, "url": "x"}',
        ):
            answer = http.post(HOOKS, headers=mine, content=junk)
            assert answer.status_code == 400
            assert "message" in answer.json()["error"]
        ftp = http.post(HOOKS, headers=mine, json=hook_json(receiver, device_id, url="ftp://x"))
        assert ftp.json()["error"]["message"].startswith("the URL starts with http")
        assert http.get(f"{HOOKS}/abc", headers=mine).status_code == 400
        assert http.get(f"{HOOKS}/99999999999", headers=mine).status_code == 400
        assert http.get(HOOKS).status_code == 401
        http.delete(hook, headers=mine)


def test_openapi_marks_the_extension(app: InProcessServer) -> None:
    """Every webhook operation is in /openapi.json, marked as a Pinbase extension."""
    with app.client() as http:
        paths = http.get("/openapi.json").json()["paths"]
    operations = [
        (path, method, op)
        for path, methods in paths.items()
        if path.startswith(HOOKS)
        for method, op in methods.items()
    ]
    assert {(path, method) for path, method, _ in operations} == {
        (HOOKS, "get"),
        (HOOKS, "post"),
        (f"{HOOKS}/{{webhook_id}}", "get"),
        (f"{HOOKS}/{{webhook_id}}", "put"),
        (f"{HOOKS}/{{webhook_id}}", "delete"),
        (f"{HOOKS}/{{webhook_id}}/test", "post"),
        (f"{HOOKS}/{{webhook_id}}/log", "get"),
    }
    assert all(op.get("x-pinbase-extension") for _, _, op in operations)


def _caller(app: InProcessServer, created: dict[str, Any]) -> Any:
    from pinbase.domain.ids import OrgId
    from pinbase.services.oauth import Caller

    org_id = OrgId(created["organization"]["id"])
    return Caller(client_id="t", org_id=org_id, scope=app.services.directory.subtree(org_id))
