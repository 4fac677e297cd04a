"""The console's live channel over real sockets: a ``blynklib`` device's values reach a
subscribed WebSocket without polling, a console write reaches the connected device, and what a
signed-in user sees and writes follows its role and session."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from console_live_stack import LiveStack, SignedIn, live_stack
from interop_driver import BLYNKLIB, DeviceClient
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection

from pinbase.testing import provision
from testspec import load_spec

COUNTER = 1
"""Datastream id of the "ESP32 QA" template's Counter (V1, INT 0..100)."""
PASSWORD = "correct horse battery"
ADMIN = "admin@mine.test"
USER = "user@mine.test"
"""A User role: it sees and controls only the device it owns, the sixth."""
OTHER = "admin@theirs.test"


@pytest.fixture(scope="module")
def live_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("console-live")


@pytest.fixture(scope="module")
def devices(live_dir: Path) -> dict[str, Any]:
    """Two organizations: "Test Org" with an Admin, a User and seven devices ("mine"), the
    sixth owned by the User; "Other Org" with an Admin and one device."""
    mine = load_spec(7)
    mine["users"] = [
        {"email": ADMIN, "name": "Ada", "roleId": 1, "password": PASSWORD},
        {"email": USER, "name": "Uma", "roleId": 3, "password": PASSWORD},
    ]
    mine["devices"][5]["owner"] = USER
    other = load_spec(1)
    other["organization"]["name"] = "Other Org"
    other["users"] = [{"email": OTHER, "name": "Olga", "roleId": 1, "password": PASSWORD}]
    return {
        "mine": provision(mine, data_dir=live_dir),
        "theirs": provision(other, data_dir=live_dir),
    }


@pytest.fixture(scope="module")
def stack(live_dir: Path, devices: dict[str, Any]) -> Iterator[LiveStack]:
    """The server over the provisioned data folder."""
    del devices  # provisioned before the server starts
    with live_stack(live_dir) as running:
        yield running


def receive(socket: ClientConnection, kind: str, *, within: float = 5.0) -> dict[str, Any]:
    """The next frame of type ``kind`` (frames of other types are skipped)."""
    while True:
        frame: dict[str, Any] = json.loads(socket.recv(timeout=within))
        if frame["type"] == kind:
            return frame


@contextmanager
def subscribed(
    stack: LiveStack, device: dict[str, Any], email: str = ADMIN
) -> Iterator[ClientConnection]:
    """A socket of a newly signed-in user, subscribed to the device."""
    with stack.connect(stack.sign_in(email, PASSWORD).session) as socket:
        socket.send(json.dumps({"type": "subscribe", "deviceIds": [device["id"]]}))
        yield socket


def test_a_device_value_reaches_a_subscribed_socket(
    stack: LiveStack, devices: dict[str, Any], client_logs: Path
) -> None:
    """Snapshot first; then the device going online and its write arrive as pushed frames."""
    device = devices["mine"]["devices"][0]
    with subscribed(stack, device) as socket:
        snapshot = receive(socket, "snapshot")
        assert [shown["deviceId"] for shown in snapshot["devices"]] == [device["id"]]
        assert snapshot["devices"][0]["online"] is False
        with DeviceClient(
            BLYNKLIB, device["token"], port=stack.hardware_port, log_dir=client_logs
        ).started() as client:
            status = receive(socket, "status")
            assert status["devices"][0] == {
                "deviceId": device["id"],
                "online": True,
                "changedAt": status["devices"][0]["changedAt"],
            }
            client.command("write", pin=1, values=["42"])
            values = receive(socket, "values")["values"]
            assert [(v["dataStreamId"], v["value"], v["origin"]) for v in values] == [
                (COUNTER, 42, "device_tcp")
            ]


def test_a_console_write_reaches_the_connected_device(
    stack: LiveStack, devices: dict[str, Any], client_logs: Path
) -> None:
    """A write with the CSRF token is pushed to the device at once and echoed to the page."""
    device = devices["mine"]["devices"][1]
    caller = stack.sign_in(ADMIN, PASSWORD)
    with (
        DeviceClient(
            BLYNKLIB, device["token"], port=stack.hardware_port, log_dir=client_logs
        ).started() as client,
        stack.connect(caller.session) as socket,
    ):
        socket.send(json.dumps({"type": "subscribe", "deviceIds": [device["id"]]}))
        receive(socket, "snapshot")
        write = {"deviceId": device["id"], "dataStreamId": COUNTER, "value": 7}
        socket.send(json.dumps({"type": "write", **write, "csrf": caller.csrf_token}))
        client.expect("write", pin=1, values=["7"])
        values = receive(socket, "values")["values"]
        assert [(v["value"], v["origin"]) for v in values] == [(7, "console")]

    async def logged() -> list[str | None]:
        async with stack.services.store.transaction() as tx:
            actions = await tx.read_device_actions_page(device["id"], offset=0, limit=10)
        return [action.trigger_user_email for action in actions]

    assert stack.run(logged) == [caller.email]


@pytest.mark.parametrize(
    ("email", "message", "code"),
    [
        pytest.param(USER, {}, "not_found", id="a-user-role-on-a-device-it-does-not-own"),
        pytest.param(ADMIN, {"csrf": "wrong"}, "csrf", id="wrong-csrf"),
        pytest.param(ADMIN, {"csrf": None}, "csrf", id="no-csrf"),
        pytest.param(ADMIN, {"value": 1000.5}, "invalid_value", id="not-an-int"),
        pytest.param(ADMIN, {"dataStreamId": 99}, "not_found", id="unknown-datastream"),
    ],
)
def test_a_refused_write_stores_nothing(
    stack: LiveStack,
    devices: dict[str, Any],
    email: str,
    message: dict[str, Any],
    code: str,
) -> None:
    """A write to a device the user's role may not see (a User's device is only its own),
    without the right CSRF token or with a bad value or datastream is answered with an error
    frame and changes nothing."""
    device = devices["mine"]["devices"][2]
    bound = stack.services.directory.by_id(device["id"])
    assert bound is not None
    caller = stack.sign_in(email, PASSWORD)
    write = {"type": "write", "deviceId": device["id"], "dataStreamId": COUNTER, "value": 9}
    write = {"csrf": caller.csrf_token, "ref": "w1", **write, **message}
    with stack.connect(caller.session) as socket:
        socket.send(json.dumps({key: value for key, value in write.items() if value is not None}))
        error = receive(socket, "error")
    assert (error["code"], error["ref"]) == (code, "w1")
    counter = bound.template.datastream(COUNTER)
    assert stack.services.telemetry.current(bound.device.id, counter) is None


def test_another_organizations_device_is_missing_and_unwritable(
    stack: LiveStack, devices: dict[str, Any]
) -> None:
    """A device outside the caller's scope is listed missing and a write to it is not found."""
    theirs = devices["theirs"]["devices"][0]
    caller = stack.sign_in(ADMIN, PASSWORD)
    with stack.connect(caller.session) as socket:
        socket.send(json.dumps({"type": "subscribe", "deviceIds": [theirs["id"]]}))
        assert receive(socket, "snapshot") == {
            "type": "snapshot",
            "devices": [],
            "missing": [theirs["id"]],
        }
        write = {"deviceId": theirs["id"], "dataStreamId": COUNTER, "value": 1}
        socket.send(json.dumps({"type": "write", **write, "csrf": caller.csrf_token}))
        assert receive(socket, "error")["code"] == "not_found"


@pytest.mark.parametrize(
    ("signed_in", "origin"),
    [
        pytest.param(True, "http://evil.example", id="foreign-origin"),
        pytest.param(True, "http://127.0.0.1:1", id="other-port"),
        pytest.param(False, None, id="not-signed-in"),
    ],
)
def test_the_handshake_is_refused(
    stack: LiveStack, devices: dict[str, Any], signed_in: bool, origin: str | None
) -> None:
    """A page of another origin (cross-site WebSocket hijacking) or a caller without a
    session gets HTTP 403."""
    del devices  # provisioned: the users exist
    session = stack.sign_in(ADMIN, PASSWORD).session if signed_in else None
    with pytest.raises(InvalidStatus) as refused, stack.connect(session, origin=origin):
        pass
    assert refused.value.response.status_code == 403


def test_a_malformed_message_is_answered_and_the_socket_stays(
    stack: LiveStack, devices: dict[str, Any]
) -> None:
    """Broken JSON, an unknown type or bad ids get an error frame; the socket keeps working."""
    device = devices["mine"]["devices"][4]
    with subscribed(stack, device) as socket:
        receive(socket, "snapshot")
        for text in ("{", "[]", '{"type":"dance"}', '{"type":"subscribe","deviceIds":[true]}'):
            socket.send(text)
            assert receive(socket, "error")["code"] == "bad_request"
        socket.send(json.dumps({"type": "subscribe", "deviceIds": [device["id"]]}))
        assert receive(socket, "snapshot")["devices"][0]["deviceId"] == device["id"]


def test_a_user_role_sees_and_writes_only_its_own_device(
    stack: LiveStack, devices: dict[str, Any]
) -> None:
    """A User's subscription shows the device it owns and lists another of its organization
    missing; its write to its own device is stored under its e-mail address."""
    own, other = devices["mine"]["devices"][5], devices["mine"]["devices"][3]
    caller = stack.sign_in(USER, PASSWORD)
    with stack.connect(caller.session) as socket:
        socket.send(json.dumps({"type": "subscribe", "deviceIds": [own["id"], other["id"]]}))
        snapshot = receive(socket, "snapshot")
        assert [shown["deviceId"] for shown in snapshot["devices"]] == [own["id"]]
        assert snapshot["missing"] == [other["id"]]
        write = {"deviceId": own["id"], "dataStreamId": COUNTER, "value": 5}
        socket.send(json.dumps({"type": "write", **write, "csrf": caller.csrf_token}))
        values = receive(socket, "values")["values"]
        assert [(v["value"], v["origin"]) for v in values] == [(5, "console")]


def test_a_signed_out_session_cannot_write_and_its_socket_closes(
    stack: LiveStack, devices: dict[str, Any]
) -> None:
    """After Sign out on another tab, the open socket's next write closes it (policy, 1008)
    and stores nothing."""
    device = devices["mine"]["devices"][6]
    caller = stack.sign_in(ADMIN, PASSWORD)
    with subscribed_as(stack, caller, device) as socket:
        stack.sign_out(caller)
        write = {"deviceId": device["id"], "dataStreamId": COUNTER, "value": 3}
        socket.send(json.dumps({"type": "write", **write, "csrf": caller.csrf_token}))
        with pytest.raises(ConnectionClosed) as closed:
            receive(socket, "values")
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    bound = stack.services.directory.by_id(device["id"])
    assert bound is not None
    counter = bound.template.datastream(COUNTER)
    assert stack.services.telemetry.current(bound.device.id, counter) is None


@contextmanager
def subscribed_as(
    stack: LiveStack, caller: SignedIn, device: dict[str, Any]
) -> Iterator[ClientConnection]:
    """A socket of ``caller``'s session, subscribed to the device, past its snapshot."""
    with stack.connect(caller.session) as socket:
        socket.send(json.dumps({"type": "subscribe", "deviceIds": [device["id"]]}))
        receive(socket, "snapshot")
        yield socket
